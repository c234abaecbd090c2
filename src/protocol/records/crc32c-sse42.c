/* CRC-32C (Castagnoli) with the SSE4.2 crc32 instruction, compiled at startup by bun:ffi's TinyCC (crc32c.ts).
 *
 * - No #include: TinyCC inside a compiled kgate binary may find no system headers.
 * - TinyCC's assembler has no crc32 mnemonic, so each instruction is spelled as bytes with its registers fixed by
 *   the asm constraints ("a" = rax, "c" = rcx, "d" = rdx, "S" = rsi, "D" = rdi).
 * - crc32 has a latency of 3 cycles and a throughput of 1, so long inputs run as three interleaved streams of
 *   STREAM bytes each, joined with shift tables (state advanced over STREAM zero bytes: crc32c.ts builds them).
 *   Without interleaving the loop reaches a third of the speed.
 * States here are raw (not inverted); crc32c_sse42 inverts on entry and exit like every CRC-32C. */

typedef unsigned long long u64;
typedef unsigned int u32;
typedef unsigned char u8;

#define LONG_STREAM 1024
#define SHORT_STREAM 128

static u32 long_shift[4][256];
static u32 short_shift[4][256];

static u32 shift(u32 table[4][256], u32 crc) {
  return table[0][crc & 0xff] ^ table[1][(crc >> 8) & 0xff] ^ table[2][(crc >> 16) & 0xff] ^ table[3][crc >> 24];
}

/* CPUID leaf 1, ECX bit 20: SSE4.2. */
int crc32c_has_sse42(void) {
  u32 a = 1, b, c = 0, d;
  __asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
  return (c >> 20) & 1;
}

/* tables: 1024 entries for LONG_STREAM zero bytes, then 1024 for SHORT_STREAM. */
void crc32c_init(const u32 *tables) {
  int i;
  for (i = 0; i < 1024; i++) long_shift[i >> 8][i & 0xff] = tables[i];
  for (i = 0; i < 1024; i++) short_shift[i >> 8][i & 0xff] = tables[1024 + i];
}

/* int arguments and result: bun:ffi's cc() passes only int32-tagged numbers correctly (see crc32c.ts). */
int crc32c_sse42(const u8 *data, int start, int length, int initial) {
  const u8 *p = data + (u32)start;
  u64 n = (u32)length;
  u64 crc = (u32)~(u32)initial;
  while (n >= 3 * LONG_STREAM) {
    u64 c1 = 0, c2 = 0, words = LONG_STREAM / 8;
    const u8 *q = p;
    /* 1: crc32q (%rsi),%rax; crc32q 1024(%rsi),%rcx; crc32q 2048(%rsi),%rdx; add $8,%rsi; dec %rdi; jnz 1b */
    __asm__ volatile(".byte 0xf2, 0x48, 0x0f, 0x38, 0xf1, 0x06\n\t"
                     ".byte 0xf2, 0x48, 0x0f, 0x38, 0xf1, 0x8e, 0x00, 0x04, 0x00, 0x00\n\t"
                     ".byte 0xf2, 0x48, 0x0f, 0x38, 0xf1, 0x96, 0x00, 0x08, 0x00, 0x00\n\t"
                     ".byte 0x48, 0x83, 0xc6, 0x08\n\t"
                     ".byte 0x48, 0xff, 0xcf\n\t"
                     ".byte 0x75, 0xdd"
                     : "+a"(crc), "+c"(c1), "+d"(c2), "+S"(q), "+D"(words)
                     :
                     : "cc", "memory");
    crc = shift(long_shift, shift(long_shift, (u32)crc) ^ (u32)c1) ^ (u32)c2;
    p += 3 * LONG_STREAM;
    n -= 3 * LONG_STREAM;
  }
  while (n >= 3 * SHORT_STREAM) {
    u64 c1 = 0, c2 = 0, words = SHORT_STREAM / 8;
    const u8 *q = p;
    /* as above with displacements 128 and 256 */
    __asm__ volatile(".byte 0xf2, 0x48, 0x0f, 0x38, 0xf1, 0x06\n\t"
                     ".byte 0xf2, 0x48, 0x0f, 0x38, 0xf1, 0x8e, 0x80, 0x00, 0x00, 0x00\n\t"
                     ".byte 0xf2, 0x48, 0x0f, 0x38, 0xf1, 0x96, 0x00, 0x01, 0x00, 0x00\n\t"
                     ".byte 0x48, 0x83, 0xc6, 0x08\n\t"
                     ".byte 0x48, 0xff, 0xcf\n\t"
                     ".byte 0x75, 0xdd"
                     : "+a"(crc), "+c"(c1), "+d"(c2), "+S"(q), "+D"(words)
                     :
                     : "cc", "memory");
    crc = shift(short_shift, shift(short_shift, (u32)crc) ^ (u32)c1) ^ (u32)c2;
    p += 3 * SHORT_STREAM;
    n -= 3 * SHORT_STREAM;
  }
  while (n >= 8) {
    u64 word = *(const u64 *)p;
    __asm__ volatile(".byte 0xf2, 0x48, 0x0f, 0x38, 0xf1, 0xc2" : "+a"(crc) : "d"(word)); /* crc32q %rdx,%rax */
    p += 8;
    n -= 8;
  }
  while (n > 0) {
    u64 byte = *p;
    __asm__ volatile(".byte 0xf2, 0x0f, 0x38, 0xf0, 0xc2" : "+a"(crc) : "d"(byte)); /* crc32b %dl,%eax */
    p += 1;
    n -= 1;
  }
  return (int)~(u32)crc;
}
