// Compaction cost on the file log: one cleaning pass over N keyed 100-byte records (K distinct keys, one batch of 100
// records per append, 8 MiB segments), timed, with the longest event-loop stall seen by a 1 ms timer during the pass
// (what a produce or fetch arriving then would wait at most). `bun bench/compaction.ts [records] [keys]`.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileLogStore } from "../src/log/file/file-log-store.ts";
import { randomUuid } from "../src/metadata/uuid.ts";
import { buildRecordBatch, validateBatchForAppend } from "../src/protocol/records/record-batch.ts";
import { setLogLevel } from "../src/util/logger.ts";

const RECORDS = Number(process.argv[2] ?? 500_000);
const KEYS = Number(process.argv[3] ?? 10_000);
const PER_BATCH = 100;

setLogLevel("error");
const dataDir = mkdtempSync(join(tmpdir(), "kgate-bench-compaction-"));
const store = new FileLogStore(dataDir, { mode: "never" });
try {
  const configs = new Map([["cleanup.policy", "compact"], ["segment.bytes", String(8 << 20)], ["min.cleanable.dirty.ratio", "0.01"]]);
  const log = store.createLog("bench", 0, { topicId: randomUuid(), configs });
  const value = new Uint8Array(100).fill(120);
  for (let written = 0; written < RECORDS; written += PER_BATCH) {
    const batch = buildRecordBatch({
      records: Array.from({ length: PER_BATCH }, (_, index) => ({ key: Buffer.from(`key-${(written + index) % KEYS}`), value, timestamp: 1_000 })),
    });
    const validated = validateBatchForAppend(batch);
    if (!validated.ok) throw new Error(validated.message);
    log.append(batch, validated.info);
  }
  const bytesBefore = log.sizeBytes;
  let worstStallMs = 0;
  let last = performance.now();
  const ticker = setInterval(() => {
    const now = performance.now();
    worstStallMs = Math.max(worstStallMs, now - last - 1);
    last = now;
  }, 1);
  const startedAt = performance.now();
  const result = await log.compact!(Date.now());
  const elapsedMs = performance.now() - startedAt;
  clearInterval(ticker);
  const mb = bytesBefore / 1e6;
  console.log(
    `records=${RECORDS} keys=${KEYS} before=${mb.toFixed(1)}MB after=${(log.sizeBytes / 1e6).toFixed(1)}MB ` +
      `pass=${Math.round(elapsedMs)}ms (${(mb / (elapsedMs / 1000)).toFixed(0)} MB/s) worstEventLoopStall=${worstStallMs.toFixed(1)}ms cleaned=${result.cleaned}`,
  );
} finally {
  store.close();
  rmSync(dataDir, { recursive: true, force: true });
}
