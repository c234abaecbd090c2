// DeleteRecords over the wire, on the file log: the low watermark moves, fetches below it are out of range, -1 means
// the high watermark, and the new start survives a restart on the same data folder.

import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../config.ts";
import { ErrorCode } from "../protocol/error-codes.ts";
import { buildRecordBatch } from "../protocol/records/record-batch.ts";
import { RawClient } from "../../test/helpers/raw-client.ts";
import { startTestServer } from "../../test/helpers/server.ts";

const dataDir = mkdtempSync(join(tmpdir(), "kgate-delete-records-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

function fileConfig() {
  return parseConfig(["--data", dataDir, "--listen", "127.0.0.1:0"], {})!;
}

test("DeleteRecords moves the log start offset, durably", async () => {
  {
    await using server = await startTestServer(fileConfig());
    const client = await RawClient.connect(server.port);
    for (let i = 0; i < 5; i++) {
      const records = buildRecordBatch({ records: [{ value: Buffer.from(`v${i}`) }, { value: Buffer.from(`w${i}`) }] });
      const produced = await client.call(0, 9, {
        transactionalId: null,
        acks: -1,
        timeoutMs: 5_000,
        topicData: [{ name: "dr", partitionData: [{ index: 0, records }] }],
      });
      expect(produced.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.NONE);
    }
    const deleted = await client.call(21, 2, {
      topics: [
        { name: "dr", partitions: [{ partitionIndex: 0, offset: 4n }, { partitionIndex: 1, offset: 0n }] },
        { name: "missing", partitions: [{ partitionIndex: 0, offset: 0n }] },
      ],
      timeoutMs: 1_000,
    });
    expect(deleted.topics[0].partitions[0]).toMatchObject({ partitionIndex: 0, lowWatermark: 4n, errorCode: ErrorCode.NONE });
    expect(deleted.topics[0].partitions[1].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect(deleted.topics[1].partitions[0]).toMatchObject({ lowWatermark: -1n, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION });

    const beyond = await client.call(21, 0, { topics: [{ name: "dr", partitions: [{ partitionIndex: 0, offset: 11n }] }], timeoutMs: 1_000 });
    expect(beyond.topics[0].partitions[0].errorCode).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
    const backwards = await client.call(21, 1, { topics: [{ name: "dr", partitions: [{ partitionIndex: 0, offset: 2n }] }], timeoutMs: 1_000 });
    expect(backwards.topics[0].partitions[0]).toMatchObject({ lowWatermark: 4n, errorCode: ErrorCode.NONE });
    client.close();
  }
  {
    await using server = await startTestServer(fileConfig());
    const client = await RawClient.connect(server.port);
    const offsets = await client.call(2, 7, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [{ name: "dr", partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -2n }] }],
    });
    expect(offsets.topics[0].partitions[0].offset).toBe(4n);
    const toEnd = await client.call(21, 2, { topics: [{ name: "dr", partitions: [{ partitionIndex: 0, offset: -1n }] }], timeoutMs: 1_000 });
    expect(toEnd.topics[0].partitions[0]).toMatchObject({ lowWatermark: 10n, errorCode: ErrorCode.NONE });
    client.close();
  }
});
