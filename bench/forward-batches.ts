// Uplink batch transformation throughput (src/uplink/forward-batches.ts): MB/s of stored batch bytes in, CPU seconds
// per GB (user + system of this process, GC included) and the fastest pass's wall time per GB. Input: 1 MiB
// uncompressed batches of 1 KiB records (10-byte keys, two small headers), built once, handed over BATCHES_PER_CALL
// at a time; outputs are dropped. `bun bench/forward-batches.ts [MiB] [--lz4]` (default 64 MiB of input per pass).
// On the 2-core VM the gap between CPU s/GB and the best pass is mostly page faults on the fresh output buffers
// (every output byte is a new allocation the caller owns) and GC; other processes on the machine widen it.

import { buildRecordBatch, Compression } from "../src/protocol/records/record-batch.ts";
import { prepareForward, type ForwardOptions } from "../src/uplink/forward-batches.ts";

const inputMiB = Number(process.argv[2] ?? 64);
const RECORD_VALUE_BYTES = 1024;
const BATCH_BYTES = 1024 * 1024;
/** Batches per prepareForward call, as the uplink would take them for one Produce request (outputs dropped after). */
const BATCHES_PER_CALL = Number(process.env.BATCHES_PER_CALL ?? 4);

/** Values half random, half text: about 2:1 for the codecs, so compressed runs are not all match copies. */
function makeBatches(compression: Compression): Uint8Array[] {
  const batches: Uint8Array[] = [];
  const encoder = new TextEncoder();
  const text = encoder.encode("{\"event\":\"page_view\",\"path\":\"/products/".padEnd(RECORD_VALUE_BYTES / 2, "abcdefgh"));
  const recordsPerBatch = Math.floor(BATCH_BYTES / (RECORD_VALUE_BYTES + 40));
  let seed = 0x2545f491;
  let offset = 0;
  for (let b = 0; b < inputMiB; b++) {
    const records = Array.from({ length: recordsPerBatch }, (_, i) => {
      const value = new Uint8Array(RECORD_VALUE_BYTES);
      for (let j = 0; j < RECORD_VALUE_BYTES / 2; j++) {
        seed ^= seed << 13;
        seed ^= seed >>> 17;
        seed ^= seed << 5;
        value[j] = seed & 0xff;
      }
      value.set(text, RECORD_VALUE_BYTES / 2);
      return {
        key: encoder.encode(`user-${(offset + i) % 100000}`.padEnd(10, "-")),
        value,
        headers: [{ key: "trace", value: encoder.encode("abc123") }, { key: "app", value: null }],
        timestamp: 1_700_000_000_000 + offset + i,
      };
    });
    batches.push(buildRecordBatch({ baseOffset: offset, records, compression }));
    offset += recordsPerBatch;
  }
  return batches;
}

function measure(name: string, batches: Uint8Array[], options: ForwardOptions): void {
  const bytes = batches.reduce((sum, b) => sum + b.length, 0);
  const pass = () => {
    for (let i = 0; i < batches.length; i += BATCHES_PER_CALL) prepareForward(batches.slice(i, i + BATCHES_PER_CALL), options);
  };
  for (let i = 0; i < 3; i++) pass(); // warm up the JIT and the scratch pool
  let passes = 0;
  let bestMs = Infinity;
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  while (performance.now() - start < 3000 || passes < 3) {
    const passStart = performance.now();
    pass();
    bestMs = Math.min(bestMs, performance.now() - passStart);
    passes++;
  }
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const gb = (bytes * passes) / 1e9;
  console.log(
    `${name.padEnd(40)} ${((bytes * passes) / 1e6 / seconds).toFixed(0).padStart(5)} MB/s  ${(cpuSeconds / gb).toFixed(3)} CPU s/GB ` +
      `(sys ${(cpu.system / 1e6 / gb).toFixed(3)})  best pass ${(bestMs / 1000 / (bytes / 1e9)).toFixed(3)} s/GB  (${passes} × ${(bytes / 1e6).toFixed(0)} MB)`,
  );
}

const base: ForwardOptions = { sourcePartition: 0, nextOffset: 0, provenance: null, keyPartitions: null, mergeBytesMax: BATCH_BYTES };
const provenance = { edgeId: "edge-berlin-01", topic: "orders", partition: 0 };
const uncompressed = makeBatches(Compression.none);
measure("verbatim (uncompressed)", uncompressed, base);
measure("rewrite: provenance (uncompressed)", uncompressed, { ...base, provenance });
measure("rewrite: provenance + 12 key partitions", uncompressed, { ...base, provenance, keyPartitions: 12 });
if (process.argv.includes("--lz4")) {
  const lz4 = makeBatches(Compression.lz4);
  measure("verbatim (lz4)", lz4, base);
  measure("rewrite: provenance (lz4 in, lz4 out)", lz4, { ...base, provenance });
}
