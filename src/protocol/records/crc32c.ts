// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78): the checksum of record batch v2. Not Bun's built-in
// `Bun.hash.crc32`, which is CRC-32 (IEEE) as used by message sets v0/v1.
//
// Two implementations, one chosen at load:
// - "sse4.2": the CPU's crc32 instruction in C (crc32c-sse42.c), compiled at startup by bun:ffi's TinyCC (module
//   load ~9 ms) and called through bun:ffi (a JIT-compiled trampoline, ~10 ns). Measured ~13 GB/s on 1 KiB and
//   ~30 GB/s on 1 MiB here; the napi package @node-rs/crc32 reached ~4 and ~8.6 GB/s (call overhead, no 3-way
//   interleaving).
//   Inside `bun build --compile` output the C file is embedded through the `type: "file"` import, but TinyCC opens
//   files with open(2) and cannot see `/$bunfs/` (oven-sh/bun#24752, open in Bun 1.4.5), so an embedded source is
//   first copied to a private temporary directory.
// - "typescript": table-driven slicing-by-8, ~2 GB/s. Used on other CPUs, or when TinyCC fails for any reason.
// Figures and the command: bench in crc32c.bench.ts.

import { cc } from "bun:ffi";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sse42SourcePath from "./crc32c-sse42.c" with { type: "file" };

export type Crc32cImplementation = "sse4.2" | "typescript";

const POLYNOMIAL = 0x82f63b78;

/** Raw (non-inverted) CRC state after `state` is advanced over one zero bit. */
function stepBit(state: number): number {
  return state & 1 ? (state >>> 1) ^ POLYNOMIAL : state >>> 1;
}

// Slicing-by-8 tables: table k maps a byte to its contribution k bytes further on.
const TABLES = new Int32Array(8 * 256);
for (let byte = 0; byte < 256; byte++) {
  let state = byte;
  for (let bit = 0; bit < 8; bit++) state = stepBit(state);
  TABLES[byte] = state;
}
for (let byte = 0; byte < 256; byte++) {
  let state = TABLES[byte]!;
  for (let table = 1; table < 8; table++) {
    state = TABLES[state & 0xff]! ^ (state >>> 8);
    TABLES[table * 256 + byte] = state;
  }
}

/** CRC-32C of data[start, end) in TypeScript; `initial` is a previous result to continue from. */
export function crc32cRangeTypeScript(data: Uint8Array, start: number, end: number, initial = 0): number {
  const tables = TABLES;
  let crc = ~initial;
  let i = start;
  for (const end8 = end - 7; i < end8; i += 8) {
    const low = crc ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24));
    crc =
      tables[1792 + (low & 0xff)]! ^
      tables[1536 + ((low >>> 8) & 0xff)]! ^
      tables[1280 + ((low >>> 16) & 0xff)]! ^
      tables[1024 + (low >>> 24)]! ^
      tables[768 + data[i + 4]!]! ^
      tables[512 + data[i + 5]!]! ^
      tables[256 + data[i + 6]!]! ^
      tables[data[i + 7]!]!;
  }
  for (; i < end; i++) crc = tables[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}

export function crc32cTypeScript(data: Uint8Array, initial = 0): number {
  return crc32cRangeTypeScript(data, 0, data.length, initial);
}

/**
 * Tables that advance a raw CRC state over `zeroBytes` zero bytes: four 256-entry tables, one per state byte.
 * The map is linear over GF(2), so it is built from the images of the 32 single-bit states.
 */
export function zeroShiftTables(zeroBytes: number): Uint32Array {
  const bitImages = new Uint32Array(32);
  for (let bit = 0; bit < 32; bit++) {
    let state = 2 ** bit;
    for (let step = 0; step < zeroBytes * 8; step++) state = stepBit(state);
    bitImages[bit] = state >>> 0;
  }
  const tables = new Uint32Array(1024);
  for (let table = 0; table < 4; table++) {
    for (let byte = 0; byte < 256; byte++) {
      let image = 0;
      for (let bit = 0; bit < 8; bit++) if (byte & (1 << bit)) image ^= bitImages[table * 8 + bit]!;
      tables[table * 256 + byte] = image >>> 0;
    }
  }
  return tables;
}

/** Stream lengths of crc32c-sse42.c (LONG_STREAM, SHORT_STREAM). */
const SSE42_STREAM_BYTES = [1024, 128] as const;
/**
 * Arguments cross as i32, each forced to an int32-tagged value with `| 0`: Bun 1.4.5's cc() trampolines hand C the
 * raw bits of a double-encoded number (any value ≥ 2^31, such as half of all CRCs passed back as `initial`), and
 * return a u32 of exactly 2^31 as -2^31 (oven-sh/bun PR #37978, open). So lengths stop at 2^31 - 1 (larger inputs,
 * never a batch, go to TypeScript) and the i32 result is made unsigned here.
 */
const SSE42_INPUT_BYTES_MAX = 0x7fffffff;

type RangeFunction = (data: Uint8Array, start: number, end: number, initial: number) => number;

const SSE42_SYMBOLS = {
  crc32c_has_sse42: { args: [], returns: "i32" },
  crc32c_init: { args: ["ptr"], returns: "void" },
  crc32c_sse42: { args: ["ptr", "i32", "i32", "i32"], returns: "i32" },
} as const;

/** Compiles crc32c-sse42.c, from a temporary copy when it is embedded in a compiled binary (see the file header). */
function compileSse42() {
  if (!sse42SourcePath.startsWith("/$bunfs/")) return cc({ source: sse42SourcePath, symbols: SSE42_SYMBOLS });
  const directory = mkdtempSync(join(tmpdir(), "kgate-crc32c-"));
  try {
    const source = join(directory, "crc32c-sse42.c");
    writeFileSync(source, readFileSync(sse42SourcePath));
    return cc({ source, symbols: SSE42_SYMBOLS });
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

/** Holds the compiled library for the life of the process: its code must outlive every call. */
const keptAlive: object[] = [];

function loadSse42(): RangeFunction | null {
  if (process.arch !== "x64") return null;
  try {
    const library = compileSse42();
    const { crc32c_has_sse42: hasSse42, crc32c_init: init, crc32c_sse42: native } = library.symbols;
    if (hasSse42() !== 1) {
      library.close();
      return null;
    }
    const tables = new Uint32Array(2048);
    tables.set(zeroShiftTables(SSE42_STREAM_BYTES[0]), 0);
    tables.set(zeroShiftTables(SSE42_STREAM_BYTES[1]), 1024);
    init(tables); // copied into C statics; the array may be collected
    const range: RangeFunction = (data, start, end, initial) =>
      end <= SSE42_INPUT_BYTES_MAX
        ? native(data, start | 0, (end - start) | 0, initial | 0) >>> 0
        : crc32cRangeTypeScript(data, start, end, initial);
    if (!selfTestPasses(range)) {
      library.close();
      return null;
    }
    keptAlive.push(library);
    return range;
  } catch {
    return null; // no TinyCC, no writable memory for it, ...: the TypeScript tables still work
  }
}

/** Compares with the TypeScript tables over lengths that reach every path of the C code. */
function selfTestPasses(range: RangeFunction): boolean {
  const data = new Uint8Array(3 * 1024 + 3 * 128 + 8 + 5);
  for (let i = 0; i < data.length; i++) data[i] = (i * 167 + 13) & 0xff;
  for (const length of [0, 1, 7, 8, 383, 384, 3071, 3072, data.length]) {
    // 0xE3069283 ≥ 2^31 arrives as a double-encoded number: the case Bun's trampoline gets wrong without `| 0`.
    for (const initial of [0, 0x1234, 0xe3069283]) {
      if (range(data, 0, length, initial) !== crc32cRangeTypeScript(data, 0, length, initial)) return false;
    }
  }
  return range(data, 5, 9, 0) === crc32cRangeTypeScript(data, 5, 9, 0);
}

const sse42Range = loadSse42();

/** Which implementation `crc32c` runs (logged at startup; the TypeScript one is ~4–15x slower). */
export const crc32cImplementation: Crc32cImplementation = sse42Range ? "sse4.2" : "typescript";

const rangeImplementation: RangeFunction = sse42Range ?? crc32cRangeTypeScript;

/** CRC-32C of data[start, end) without making a subarray. `initial` continues a previous result. */
export const crc32cRange: (data: Uint8Array, start: number, end: number, initial?: number) => number = sse42Range
  ? (data, start, end, initial = 0) => sse42Range(data, start, end, initial)
  : crc32cRangeTypeScript;

/** CRC-32C (unsigned); `crc32c(b, crc32c(a))` equals `crc32c(a ++ b)`. */
export function crc32c(data: Uint8Array, initial = 0): number {
  return rangeImplementation(data, 0, data.length, initial);
}
