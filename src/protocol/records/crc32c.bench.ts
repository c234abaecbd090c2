// CRC-32C throughput of the implementations, and batch validation cost, side by side in one run:
//   ./node_modules/.bin/bun src/protocol/records/crc32c.bench.ts
// Figures drift 15–50% between runs on a shared machine (shared/PERFORMANCE.md); compare ratios within a run.
// @node-rs/crc32 (napi) is measured when node_modules has it; kgate does not depend on it.

import { crc32c, crc32cImplementation, crc32cTypeScript } from "./crc32c.ts";
import { buildRecordBatch, validateBatchForAppend } from "./record-batch.ts";

type Checksum = (data: Uint8Array, initial?: number) => number;

const implementations: [string, Checksum][] = [
  [`crc32c (${crc32cImplementation})`, crc32c],
  ["typescript slicing-by-8", crc32cTypeScript],
];
try {
  const napiPackage = "@node-rs/crc32"; // a variable, so typechecking does not need the package
  const napi = (await import(napiPackage)) as { crc32c: Checksum };
  implementations.push(["@node-rs/crc32 (napi)", napi.crc32c]);
} catch {
  // not installed
}

function measure(run: () => number, bytesPerRun: number): { megabytesPerSecond: number; nanosecondsPerRun: number } {
  const runs = Math.max(50, Math.floor((256 << 20) / bytesPerRun));
  let sink = 0;
  for (let i = 0; i < runs / 4; i++) sink += run(); // warm up the JIT
  const start = Bun.nanoseconds();
  for (let i = 0; i < runs; i++) sink += run();
  const elapsed = Bun.nanoseconds() - start;
  if (sink === 0.5) console.log(sink); // keep `sink` alive
  return { megabytesPerSecond: (bytesPerRun * runs) / (elapsed / 1e9) / 1e6, nanosecondsPerRun: elapsed / runs };
}

for (const size of [1024, 16 * 1024, 1 << 20]) {
  const data = Uint8Array.from({ length: size }, (_, i) => (i * 131 + 7) & 0xff);
  for (const [name, checksum] of implementations) {
    const { megabytesPerSecond, nanosecondsPerRun } = measure(() => checksum(data), size);
    console.log(`${name.padEnd(28)} ${String(size).padStart(8)} B  ${megabytesPerSecond.toFixed(0).padStart(6)} MB/s  ${nanosecondsPerRun.toFixed(0).padStart(8)} ns/call`);
  }
}

// Validation of an uncompressed batch: CRC plus the walk over every record.
for (const [count, valueBytes] of [
  [1, 100],
  [1000, 100],
  [1000, 1024],
] as const) {
  const value = new Uint8Array(valueBytes).fill(0x61);
  const key = new TextEncoder().encode("key-00000");
  const batch = buildRecordBatch({
    records: Array.from({ length: count }, (_, i) => ({ key, value, timestamp: 1_700_000_000_000 + i })),
  });
  const { megabytesPerSecond, nanosecondsPerRun } = measure(() => (validateBatchForAppend(batch).ok ? 1 : 0), batch.length);
  console.log(
    `validateBatchForAppend ${count} × ${valueBytes} B records (${batch.length} B): ${megabytesPerSecond.toFixed(0)} MB/s, ${(nanosecondsPerRun / 1000).toFixed(1)} µs/batch, ${(nanosecondsPerRun / count).toFixed(0)} ns/record`,
  );
}
