// Restart time of the file log over a large partition: writes BENCH_RESTART_MIB (default 1024) MiB of 16 KiB batches
// of 1 KiB records, then times opening the folder after a clean shutdown and after a simulated kill -9 (no marker:
// every segment is scanned and CRC-checked, indexes rebuilt).
//   bun bench/file-log-restart.ts

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileLogStore } from "../src/log/file/file-log-store.ts";
import { randomUuid } from "../src/metadata/uuid.ts";
import { buildRecordBatch, validateBatchForAppend } from "../src/protocol/records/record-batch.ts";
import { setLogLevel } from "../src/util/logger.ts";

setLogLevel("warn");
const totalMiB = Number(process.env.BENCH_RESTART_MIB ?? 1024);
const dataDir = mkdtempSync(join(tmpdir(), "kgate-restart-"));
const topicId = randomUuid();
const configs = new Map<string, string>();

try {
  const batch = buildRecordBatch({ records: Array.from({ length: 16 }, (_, i) => ({ value: new Uint8Array(1000).fill(i) })) });
  const validated = validateBatchForAppend(batch);
  if (!validated.ok) throw new Error(validated.message);

  let store = new FileLogStore(dataDir, { mode: "never" });
  let log = store.createLog("restart", 0, { topicId, configs });
  const batches = Math.ceil((totalMiB * 1024 * 1024) / batch.length);
  const writeStart = performance.now();
  for (let i = 0; i < batches; i++) log.append(batch, validated.info);
  const writeMs = performance.now() - writeStart;
  const endOffset = log.logEndOffset;
  store.close();
  console.log(`wrote ${totalMiB} MiB (${batches} batches, ${endOffset} records) in ${writeMs.toFixed(0)} ms`);

  let start = performance.now();
  store = new FileLogStore(dataDir, { mode: "never" });
  log = store.createLog("restart", 0, { topicId, configs });
  const cleanMs = performance.now() - start;
  if (log.logEndOffset !== endOffset) throw new Error(`clean restart: end ${log.logEndOffset} != ${endOffset}`);
  console.log(`restart after clean shutdown: ${cleanMs.toFixed(1)} ms`);
  // What kill -9 leaves: descriptors and the folder lock released, no clean-shutdown marker.
  store.abandon();

  start = performance.now();
  const recovering = new FileLogStore(dataDir, { mode: "never" });
  const recovered = recovering.createLog("restart", 0, { topicId, configs });
  const uncleanMs = performance.now() - start;
  if (recovered.logEndOffset !== endOffset) throw new Error(`unclean restart: end ${recovered.logEndOffset} != ${endOffset}`);
  console.log(`restart after kill -9 (full scan, CRC, index rebuild): ${uncleanMs.toFixed(1)} ms`);
  recovering.close();
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
