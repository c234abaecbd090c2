// A gateway whose process may open few files (ulimit -n 2600, as on a box with a low LimitNOFILE): the file log keeps
// 3 files open per partition, so the broker caps its partitions at what the limit holds beside a reserve. A
// CreatePartitions or CreateTopics beyond it is refused with INVALID_PARTITIONS and a message saying why, instead of
// running the process out of descriptors (EMFILE) for every client; the partitions that fit keep working.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { fileLogPartitionsMax } from "../../../src/broker.ts";
import { limits } from "../../../src/config.ts";
import type { PartitionLog } from "../../../src/log/partition-log.ts";
import { TopicStore } from "../../../src/metadata/topic-store.ts";
import { ErrorCode } from "../../../src/protocol/error-codes.ts";
import { startGatewayProcess, type GatewayProcess } from "../../helpers/gateway-process.ts";

const OPEN_FILES = 2_600;
const CAP = Math.floor((OPEN_FILES - limits.fileDescriptorsReserved) / limits.fileDescriptorsPerPartition);
const repoRoot = join(import.meta.dir, "../../..");

describe("the partition cap follows the open-file limit", () => {
  test("the cap: the limit after the reserve, 3 files a partition, never above partitionsMax", () => {
    expect(fileLogPartitionsMax(OPEN_FILES)).toBe(CAP);
    expect(fileLogPartitionsMax(null)).toBe(limits.partitionsMax);
    expect(fileLogPartitionsMax(10_000_000)).toBe(limits.partitionsMax);
    expect(fileLogPartitionsMax(100)).toBe(1);
  });

  test("the store refuses what does not fit, saying why, and counts what it holds", () => {
    const store = new TopicStore(() => ({ close() {} }) as unknown as PartitionLog, { partitionsMax: 5 });
    expect(store.create("a", 3).errorCode).toBe(ErrorCode.NONE);
    const refused = store.create("b", 3);
    expect(refused.errorCode).toBe(ErrorCode.INVALID_PARTITIONS);
    expect(refused.errorMessage).toBe(
      "This broker holds 3 partitions and may hold 5 in all (the file log keeps 3 files open per partition; raise the open-file limit, e.g. LimitNOFILE, for more).",
    );
    expect(store.createPartitions("a", 6).errorCode).toBe(ErrorCode.INVALID_PARTITIONS);
    expect(store.createPartitions("a", 5).errorCode).toBe(ErrorCode.NONE);
    expect(store.partitionCount).toBe(5);
  });

  let folder: string;
  let gateway: GatewayProcess;
  beforeAll(async () => {
    folder = mkdtempSync(join(tmpdir(), "kgate-open-files-"));
    const command = `ulimit -n ${OPEN_FILES} && exec ${JSON.stringify(process.execPath)} src/main.ts --data ${JSON.stringify(folder)} --listen 127.0.0.1:0 --registry-listen off`;
    gateway = await startGatewayProcess(["bash", "-c", command], { cwd: repoRoot });
  });
  afterAll(async () => {
    await gateway?.[Symbol.asyncDispose]();
    rmSync(folder, { recursive: true, force: true });
  });

  test("CreateTopics and CreatePartitions past the cap are refused with the reason; what fits works", async () => {
    const kafka = new Kafka({ brokers: [gateway.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic: "fits", numPartitions: CAP - 10 }] });
      const refused = await admin.createPartitions({ topicPartitions: [{ topic: "fits", count: 10_000 }] }).then(
        () => null,
        (error: { errors?: { type: string; message: string }[]; message: string }) => error,
      );
      expect(refused).not.toBeNull();
      expect(JSON.stringify(refused!.errors ?? refused)).toContain("INVALID_PARTITIONS");
      const tooMany = await admin.createTopics({ topics: [{ topic: "too-many", numPartitions: 50 }] }).then(
        () => null,
        (error: Error) => error,
      );
      expect(JSON.stringify((tooMany as { errors?: unknown } | null)?.errors ?? null)).toContain("INVALID_PARTITIONS");
      // The refused requests left nothing behind, and the partitions that fit take records.
      const [fits] = (await admin.fetchTopicMetadata({ topics: ["fits"] })).topics;
      expect(fits!.partitions.length).toBe(CAP - 10);
      expect((await admin.listTopics()).sort()).toEqual(["fits"]);
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({ topic: "fits", messages: [{ partition: CAP - 11, value: "last partition" }] });
      await producer.disconnect();
      await admin.createPartitions({ topicPartitions: [{ topic: "fits", count: CAP }] });
      expect(gateway.output()).not.toContain("EMFILE");
    } finally {
      await admin.disconnect();
    }
  }, 60_000);
});
