// Produce's admission hook (Broker.produceAdmission, the uplink's cap on unforwarded bytes), over the wire: a refused
// partition gets the hook's error and message and nothing is appended, the others in the request go on, and the
// response carries the largest throttle time (a refusal's or a quota's).

import { expect, test } from "bun:test";
import { ErrorCode } from "../protocol/error-codes.ts";
import { buildRecordBatch } from "../protocol/records/record-batch.ts";
import { MAGIC_V0, encodeEntry } from "../protocol/records/message-set.ts";
import { UNFORWARDED_BYTES_FULL_ERROR, type ProduceAdmission } from "../log/produce-admission.ts";
import type { PartitionLog } from "../log/partition-log.ts";
import { quotasFor } from "../quotas/quota-manager.ts";
import { RawClient, requestFrame } from "../../test/helpers/raw-client.ts";
import { startTestServer } from "../../test/helpers/server.ts";

function produceRequest(acks: number, targets: [topic: string, partition: number][]) {
  const byTopic = new Map<string, number[]>();
  for (const [topic, partition] of targets) byTopic.set(topic, [...(byTopic.get(topic) ?? []), partition]);
  return {
    transactionalId: null,
    acks,
    timeoutMs: 5_000,
    topicData: [...byTopic].map(([name, partitions]) => ({
      name,
      partitionData: partitions.map((index) => ({ index, records: buildRecordBatch({ records: [{ value: Buffer.from(`${name}-${index}`) }] }) })),
    })),
  };
}

/** Refuses every partition of topic "held", partition p with throttle throttles[p]; records each call. */
function refuseHeld(throttles: number[], calls: { topic: string; partition: number; log: PartitionLog }[] = []): ProduceAdmission {
  return (topic, partition, log) => {
    calls.push({ topic, partition, log });
    if (topic !== "held") return null;
    return { errorCode: UNFORWARDED_BYTES_FULL_ERROR, throttleTimeMs: throttles[partition]!, message: `held-${partition} is full` };
  };
}

test("a refused partition gets the hook's error and message, nothing is appended, the rest goes on; the largest throttle is returned", async () => {
  await using server = await startTestServer();
  const broker = server.broker;
  broker.topics.create("held", 2);
  broker.topics.create("free", 1);
  const calls: { topic: string; partition: number; log: PartitionLog }[] = [];
  // A throttle long enough that an answer held back by it cannot be mistaken for a slow machine's answer.
  broker.produceAdmission = refuseHeld([120, 2_000], calls);
  let client = await RawClient.connect(server.port);
  const startedAtMs = performance.now();
  const response = await client.call(0, 9, produceRequest(1, [["held", 0], ["held", 1], ["free", 0], ["free", 7]]));
  // The answer is not held back by the throttle time (the connection is muted after it instead).
  expect(performance.now() - startedAtMs).toBeLessThan(2_000);
  expect(response.throttleTimeMs).toBe(2_000);
  const [held, free] = response.responses;
  expect(held.partitionResponses).toMatchObject([
    { index: 0, errorCode: UNFORWARDED_BYTES_FULL_ERROR, baseOffset: -1n, errorMessage: "held-0 is full" },
    { index: 1, errorCode: UNFORWARDED_BYTES_FULL_ERROR, baseOffset: -1n, errorMessage: "held-1 is full" },
  ]);
  expect(free.partitionResponses).toMatchObject([
    { index: 0, errorCode: ErrorCode.NONE, baseOffset: 0n },
    { index: 7, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION },
  ]);
  expect(broker.topics.get("held")!.partitions.map((log) => log.logEndOffset)).toEqual([0, 0]);
  expect(broker.topics.get("free")!.partitions[0]!.logEndOffset).toBe(1);
  // Asked once per existing partition, with its log; not for a partition that does not exist.
  expect(calls.map(({ topic, partition, log }) => [topic, partition, log === broker.topics.get(topic)!.partitions[partition]])).toEqual([
    ["held", 0, true],
    ["held", 1, true],
    ["free", 0, true],
  ]);

  // v7 (kafkajs) and v3 have no errorMessage; v0 has no throttle time, the error code is there all the same. (On a
  // new connection with short throttles: the first one stays muted for 2 s.)
  client.close();
  broker.produceAdmission = refuseHeld([120, 340]);
  client = await RawClient.connect(server.port);
  const v7 = await client.call(0, 7, produceRequest(-1, [["held", 1]]));
  expect(v7.throttleTimeMs).toBe(340);
  expect(v7.responses[0].partitionResponses[0]).toMatchObject({ errorCode: UNFORWARDED_BYTES_FULL_ERROR, errorMessage: null });
  const legacy = encodeEntry(0, MAGIC_V0, 0, -1, null, Buffer.from("legacy"));
  const v0 = await client.call(0, 0, { ...produceRequest(1, []), topicData: [{ name: "held", partitionData: [{ index: 0, records: legacy }] }] });
  expect(v0.responses[0].partitionResponses[0].errorCode).toBe(UNFORWARDED_BYTES_FULL_ERROR);

  // Admitted again: the same request appends.
  broker.produceAdmission = null;
  const admitted = await client.call(0, 9, produceRequest(1, [["held", 0]]));
  expect(admitted.throttleTimeMs).toBe(0);
  expect(admitted.responses[0].partitionResponses[0]).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 0n });
  client.close();
});

test("acks=0: a refused partition closes the connection, as any failed acks=0 produce does", async () => {
  await using server = await startTestServer();
  server.broker.topics.create("held", 1);
  server.broker.produceAdmission = refuseHeld([50]);
  const client = await RawClient.connect(server.port);
  client.write(requestFrame(0, 9, 1, produceRequest(0, [["held", 0]])));
  expect(await client.waitClosed(5_000)).toBe(true);
  expect(server.broker.topics.get("held")!.partitions[0]!.logEndOffset).toBe(0);
});

test("with a produce quota, the response carries the larger of the quota's and the refusal's throttle times", async () => {
  // Short quota windows: a quota's throttle time is at most the whole window (100 ms here).
  await using server = await startTestServer({ quotaWindow: { windowMs: 50, windowCount: 2 } });
  server.broker.topics.create("held", 2);
  quotasFor(server.broker).store.alter({ "client-id": null }, new Map([["producer_byte_rate", 1]]), new Set());
  // Partition 0's refusal asks 1 ms, less than the quota; partition 1's 5 s, more.
  server.broker.produceAdmission = refuseHeld([1, 5_000]);
  const quotaWins = await RawClient.connect(server.port);
  const small = await quotaWins.call(0, 9, produceRequest(1, [["held", 0]]));
  expect(small.throttleTimeMs).toBeGreaterThan(1);
  expect(small.throttleTimeMs).toBeLessThanOrEqual(100);
  quotaWins.close();
  const refusalWins = await RawClient.connect(server.port);
  const large = await refusalWins.call(0, 9, produceRequest(1, [["held", 1]]));
  expect(large.throttleTimeMs).toBe(5_000);
  refusalWins.close();
});
