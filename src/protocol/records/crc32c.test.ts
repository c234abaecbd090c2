import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  crc32c,
  crc32cImplementation,
  crc32cRange,
  crc32cRangeTypeScript,
  crc32cTypeScript,
  zeroShiftTables,
} from "./crc32c.ts";

const bun = process.execPath;

/** Bit-at-a-time CRC-32C straight from the definition: independent of both implementations' tables. */
function crc32cBitwise(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return ~crc >>> 0;
}

function bytes(...values: number[]): Uint8Array {
  return Uint8Array.from(values);
}

// Check value from the CRC catalogue, then RFC 3720 (iSCSI) appendix B.4. The RFC prints the CRC as the bytes on
// the wire, least significant first: "aa 36 91 8a" is 0x8A9136AA.
const vectors: [string, Uint8Array, number][] = [
  ["ASCII 123456789", new TextEncoder().encode("123456789"), 0xe3069283],
  ["32 bytes of zeros", new Uint8Array(32), 0x8a9136aa],
  ["32 bytes of 0xFF", new Uint8Array(32).fill(0xff), 0x62a8ab43],
  ["32 incrementing bytes 00..1f", Uint8Array.from({ length: 32 }, (_, i) => i), 0x46dd794e],
  ["32 decrementing bytes 1f..00", Uint8Array.from({ length: 32 }, (_, i) => 31 - i), 0x113fdb5c],
  [
    "iSCSI read (10) command PDU",
    bytes(
      0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18,
      0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ),
    0xd9963a56,
  ],
  ["empty input", new Uint8Array(0), 0],
];

const implementations: [string, (data: Uint8Array, initial?: number) => number][] = [
  ["crc32c (chosen)", crc32c],
  ["crc32cTypeScript", crc32cTypeScript],
  ["bitwise reference", crc32cBitwise],
];

describe("CRC-32C vectors", () => {
  for (const [implementationName, implementation] of implementations) {
    for (const [vectorName, data, expected] of vectors) {
      test(`${implementationName}: ${vectorName}`, () => {
        expect(implementation(data)).toBe(expected);
      });
    }
  }
});

describe("CRC-32C implementations agree", () => {
  // A deterministic generator so a failure reproduces.
  let seed = 0x2545f491;
  const random = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return seed >>> 0;
  };
  const data = Uint8Array.from({ length: 70_000 }, () => random() & 0xff);

  test("every length up to 1,600 bytes and chosen larger ones, from unaligned starts", () => {
    // The C code switches paths at 8, 3×128 = 384 and 3×1024 = 3,072 bytes.
    const lengths = [...Array.from({ length: 1601 }, (_, i) => i), 3071, 3072, 3073, 3455, 3456, 6144, 65_536, 69_990];
    for (const length of lengths) {
      const start = length % 7;
      const view = data.subarray(start, start + length);
      const expected = crc32cTypeScript(view);
      expect(crc32c(view)).toBe(expected);
      expect(crc32cRange(data, start, start + length)).toBe(expected);
    }
    expect(crc32cTypeScript(data)).toBe(crc32cBitwise(data));
  });

  test("initial continues a previous result, in both implementations", () => {
    const whole = crc32c(data);
    for (const split of [0, 1, 383, 384, 5000, data.length]) {
      expect(crc32c(data.subarray(split), crc32c(data.subarray(0, split)))).toBe(whole);
      expect(crc32cTypeScript(data.subarray(split), crc32cTypeScript(data.subarray(0, split)))).toBe(whole);
      expect(crc32cRange(data, split, data.length, crc32cRangeTypeScript(data, 0, split))).toBe(whole);
    }
  });

  test("results are unsigned", () => {
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32cRange(new Uint8Array(32), 0, 32)).toBe(0x8a9136aa);
  });

  // Bun 1.4.5's cc() trampoline passes double-encoded numbers (≥ 2^31, or read from an array holding a double) to C
  // as raw bits: before crc32c.ts forced int32 arguments, an initial of 1 taken from such an array became 0.
  test("initial values stored as doubles reach the C code intact", () => {
    const data = new TextEncoder().encode("123456789");
    const initials = [1, 5, 0x7fffffff, 0x80000000, 0xe3069283, 0xffffffff, 0.5 + 0.5];
    for (const initial of initials) expect(crc32c(data, initial)).toBe(crc32cTypeScript(data, initial));
  });

  test("zero-shift tables advance a state as many zero bytes would", () => {
    // Raw state s after n zero bytes, via the public function: crc32c(zeros, ~s)... inverts in and out, so compare
    // through one known pair: from raw state 0xFFFFFFFF (initial 0), 128 zero bytes give ~crc32c(128 zeros).
    const tables = zeroShiftTables(128);
    const state = 0xffffffff;
    const shifted =
      tables[state & 0xff]! ^ tables[256 + ((state >>> 8) & 0xff)]! ^ tables[512 + ((state >>> 16) & 0xff)]! ^ tables[768 + (state >>> 24)]!;
    expect(~shifted >>> 0).toBe(crc32cBitwise(new Uint8Array(128)));
  });
});

describe("native CRC-32C", () => {
  if (process.arch !== "x64") console.log(`SKIPPED: native CRC-32C: the SSE4.2 checks run on x64 only (this is ${process.arch})`);
  test.if(process.arch === "x64")("the SSE4.2 implementation is the one chosen on x64", () => {
    expect(crc32cImplementation).toBe("sse4.2");
  });

  test("the compiled code survives garbage collection", () => {
    Bun.gc(true);
    expect(crc32c(new TextEncoder().encode("123456789"))).toBe(0xe3069283);
  });

  // bun:ffi's cc cannot open files inside a compiled binary (oven-sh/bun#24752); crc32c.ts copies the embedded C
  // source out first. This builds a small binary, runs it from another directory, and checks what it chose.
  test.if(process.arch === "x64")("works inside `bun build --compile` output", async () => {
    const directory = mkdtempSync(join(tmpdir(), "kgate-crc32c-test-"));
    try {
      const entry = join(directory, "entry.ts");
      writeFileSync(
        entry,
        `import { crc32c, crc32cImplementation } from ${JSON.stringify(join(import.meta.dir, "crc32c.ts"))};\n` +
          `const big = Uint8Array.from({ length: 1 << 20 }, (_, i) => (i * 31) & 0xff);\n` +
          `console.log(JSON.stringify({ implementation: crc32cImplementation, check: crc32c(new TextEncoder().encode("123456789")), big: crc32c(big) }));\n`,
      );
      const binary = join(directory, "crc-check");
      const build = Bun.spawnSync([bun, "build", "--compile", entry, "--outfile", binary], { stderr: "pipe", stdout: "pipe" });
      expect(build.exitCode).toBe(0);
      rmSync(entry);
      const run = Bun.spawnSync([binary], { cwd: tmpdir(), stdout: "pipe", stderr: "pipe" });
      expect(run.stderr.toString()).toBe("");
      expect(run.exitCode).toBe(0);
      const big = Uint8Array.from({ length: 1 << 20 }, (_, i) => (i * 31) & 0xff);
      expect(JSON.parse(run.stdout.toString())).toEqual({
        implementation: "sse4.2",
        check: 0xe3069283,
        big: crc32cTypeScript(big),
      });
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
