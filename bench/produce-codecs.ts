// What a compressed Produce costs the gateway, per uncompressed byte, relative to the uncompressed path, for batches
// of 1 KiB JSON-like records (~1 MiB uncompressed): validateBatchForAppend (CRC-32C, decompression, record walk)
// as 00-produce.ts runs it, plus the down-conversion a Fetch v0–3 pays. `bun bench/produce-codecs.ts`.

import { Compression, buildRecordBatch, validateBatchForAppend } from "../src/protocol/records/record-batch.ts";
import { downConvertBatches } from "../src/protocol/records/message-set.ts";

const encoder = new TextEncoder();
const records = Array.from({ length: 1000 }, (_, i) => {
  const fields: Record<string, unknown> = { id: i, user: `user-${i % 97}`, event: ["click", "view", "buy"][i % 3], ts: 1764000000000 + i };
  for (let f = 0; JSON.stringify(fields).length < 1000; f++) fields[`field${f}`] = `value-${(i * 31 + f) % 1013}`;
  return { key: encoder.encode(`key-${i}`), value: encoder.encode(JSON.stringify(fields).slice(0, 1024)), timestamp: 1764000000000 + i };
});
const uncompressedBytes = buildRecordBatch({ records }).length;

function rate(run: () => unknown): number {
  for (let i = 0; i < 5; i++) run();
  let iterations = 0;
  const start = performance.now();
  while (performance.now() - start < 800) {
    run();
    iterations++;
  }
  return (iterations * uncompressedBytes) / 1e6 / ((performance.now() - start) / 1000);
}

const results: [string, number, number, number][] = [];
for (const [name, compression] of Object.entries(Compression)) {
  const batch = buildRecordBatch({ records, compression });
  const validate = rate(() => {
    const result = validateBatchForAppend(batch);
    if (!result.ok) throw new Error(result.message);
  });
  const downConvert = compression === Compression.zstd ? NaN : rate(() => downConvertBatches([batch], 1, 0));
  results.push([name, batch.length, validate, downConvert]);
}
const baseline = results[0]![2];
console.log(`1000 records of ~1 KiB, ${uncompressedBytes} bytes uncompressed; MB/s of uncompressed data; Bun ${Bun.version}`);
for (const [name, size, validate, downConvert] of results) {
  console.log(
    `${name.padEnd(6)} batch ${String(size).padStart(8)} B  produce validation ${validate.toFixed(0).padStart(6)} MB/s (CPU/byte ${(baseline / validate).toFixed(2)}x uncompressed)  ` +
      `down-conversion to magic 1 ${Number.isNaN(downConvert) ? "   n/a (zstd: Fetch < v10 refused)" : `${downConvert.toFixed(0).padStart(5)} MB/s`}`,
  );
}
