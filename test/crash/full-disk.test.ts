// A full disk must not crash the gateway or corrupt the log: Produce gets KAFKA_STORAGE_ERROR for the partition, a
// line is logged, what was acknowledged before stays readable, and once space is freed appends go on at the next
// offset. The data folder is a 1 MiB tmpfs (needs root to mount; skipped otherwise).

import { afterAll, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../../src/config.ts";
import { ErrorCode } from "../../src/protocol/error-codes.ts";
import { buildRecordBatch } from "../../src/protocol/records/record-batch.ts";
import { RawClient, decodeResponse, requestFrame } from "../helpers/raw-client.ts";
import { startTestServer } from "../helpers/server.ts";

const mountPoint = mkdtempSync(join(tmpdir(), "kgate-full-disk-"));
const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mountPoint]).status === 0;
afterAll(() => {
  if (mounted) spawnSync("umount", [mountPoint]);
  rmSync(mountPoint, { recursive: true, force: true });
});

let correlationId = 0;
async function produce(client: RawClient, value: Uint8Array): Promise<{ errorCode: number; baseOffset: bigint }> {
  const records = buildRecordBatch({ records: [{ value }] });
  client.write(requestFrame(0, 9, ++correlationId, { transactionalId: null, acks: -1, timeoutMs: 5_000, topicData: [{ name: "full", partitionData: [{ index: 0, records }] }] }));
  const body = decodeResponse(0, 9, (await client.nextFrame(5_000))!).body;
  return body.responses[0].partitionResponses[0];
}

if (!mounted) console.log(`SKIPPED: full disk: cannot mount a 1 MiB tmpfs on ${mountPoint} (needs root)`);
test.skipIf(!mounted)("a full disk gives KAFKA_STORAGE_ERROR, keeps the log whole and recovers when space comes back", async () => {
  const dataDir = join(mountPoint, "data");
  // Ballast to free later.
  const ballast = join(mountPoint, "ballast");
  writeFileSync(ballast, new Uint8Array(256 * 1024));
  await using server = await startTestServer(parseConfig(["--data", dataDir, "--listen", "127.0.0.1:0"], {})!);
  const client = await RawClient.connect(server.port);
  const value = new Uint8Array(50 * 1024).fill(1);
  let acknowledged = 0;
  let failure: { errorCode: number } | null = null;
  for (let i = 0; i < 40 && failure === null; i++) {
    const result = await produce(client, value);
    if (result.errorCode === ErrorCode.NONE) {
      expect(result.baseOffset).toBe(BigInt(acknowledged));
      acknowledged++;
    } else {
      failure = result;
    }
  }
  expect(failure?.errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
  expect(client.closed).toBe(false);
  const log = server.broker.topics.get("full")!.partitions[0]!;
  expect(log.logEndOffset).toBe(acknowledged);

  unlinkSync(ballast);
  const after = await produce(client, value);
  expect(after).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: BigInt(acknowledged) });
  let next = 0;
  while (next < log.logEndOffset) {
    const read = log.read(next, 1 << 20, true);
    expect(read.batches.length).toBeGreaterThan(0);
    next += read.batches.length;
  }
  expect(next).toBe(acknowledged + 1);
  client.close();
});
