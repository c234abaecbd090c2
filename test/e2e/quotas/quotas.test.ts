// Byte-rate quotas end to end: set with AlterClientQuotas, read with DescribeClientQuotas, enforced on a kafkajs
// producer (it slows to the quota) and visible as throttle_time_ms on a raw Produce and Fetch, persisted across a
// restart. The rate window is shortened (100 ms × 11) so the test runs in seconds; Kafka's math is unchanged.

import { expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { ErrorCode } from "../../../src/protocol/error-codes.ts";
import { buildRecordBatch } from "../../../src/protocol/records/record-batch.ts";
import { RawClient, decodeResponse, requestFrame } from "../../helpers/raw-client.ts";
import { startTestServer } from "../../helpers/server.ts";

const quotaWindow = { windowMs: 100, windowCount: 11 };

type Entity = { entityType: string; entityName: string | null }[];
const alter = (client: RawClient, entries: { entity: Entity; ops: { key: string; value: number; remove: boolean }[] }[], validateOnly = false) =>
  client.call(49, 1, { entries, validateOnly });
const describeQuotas = (client: RawClient, components: { entityType: string; matchType: number; match: string | null }[], strict = false) =>
  client.call(48, 1, { components, strict });

test("AlterClientQuotas validates per entry; DescribeClientQuotas filters exact, default and any; quotas survive a restart", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "kgate-quotas-"));
  try {
    {
      await using server = await startTestServer({ dataDir });
      const client = await RawClient.connect(server.port);
      const altered = await alter(client, [
        { entity: [{ entityType: "client-id", entityName: "app" }], ops: [{ key: "producer_byte_rate", value: 1024, remove: false }, { key: "consumer_byte_rate", value: 2048, remove: false }] },
        { entity: [{ entityType: "user", entityName: null }], ops: [{ key: "producer_byte_rate", value: 4096, remove: false }] },
        { entity: [{ entityType: "user", entityName: "alice" }, { entityType: "client-id", entityName: null }], ops: [{ key: "consumer_byte_rate", value: 512, remove: false }] },
        { entity: [{ entityType: "ip", entityName: "1.2.3.4" }], ops: [{ key: "connection_creation_rate", value: 1, remove: false }] },
        { entity: [{ entityType: "client-id", entityName: "bad" }], ops: [{ key: "producer_byte_rate", value: 0, remove: false }] },
        { entity: [{ entityType: "client-id", entityName: "bad" }], ops: [{ key: "no_such_key", value: 1, remove: false }] },
      ]);
      expect(altered.entries.map((entry: { errorCode: number }) => entry.errorCode)).toEqual([0, 0, 0, ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST]);
      // validateOnly changes nothing.
      await alter(client, [{ entity: [{ entityType: "client-id", entityName: "dry" }], ops: [{ key: "producer_byte_rate", value: 1, remove: false }] }], true);

      const all = await describeQuotas(client, []);
      expect(all.errorCode).toBe(0);
      expect(all.entries).toHaveLength(3);
      const exact = await describeQuotas(client, [{ entityType: "client-id", matchType: 0, match: "app" }]);
      expect(exact.entries).toEqual([
        { entity: [{ entityType: "client-id", entityName: "app" }], values: [{ key: "producer_byte_rate", value: 1024 }, { key: "consumer_byte_rate", value: 2048 }] },
      ]);
      const defaults = await describeQuotas(client, [{ entityType: "user", matchType: 1, match: null }]);
      expect(defaults.entries).toEqual([{ entity: [{ entityType: "user", entityName: null }], values: [{ key: "producer_byte_rate", value: 4096 }] }]);
      // Any user, non-strict: both user entities; strict: only the one with no other type.
      expect((await describeQuotas(client, [{ entityType: "user", matchType: 2, match: null }])).entries).toHaveLength(2);
      expect((await describeQuotas(client, [{ entityType: "user", matchType: 2, match: null }], true)).entries).toHaveLength(1);
      const bad = await describeQuotas(client, [{ entityType: "user", matchType: 0, match: null }]);
      expect(bad.errorCode).toBe(ErrorCode.INVALID_REQUEST);
      expect(bad.entries).toBeNull();

      // Removing the last value drops the entity.
      await alter(client, [{ entity: [{ entityType: "user", entityName: null }], ops: [{ key: "producer_byte_rate", value: 0, remove: true }] }]);
      expect((await describeQuotas(client, [])).entries).toHaveLength(2);
      client.close();
    }
    expect(JSON.parse(readFileSync(join(dataDir, "quotas.json"), "utf8")).quotas).toHaveLength(2);
    await using restarted = await startTestServer({ dataDir });
    const client = await RawClient.connect(restarted.port);
    const after = await describeQuotas(client, [{ entityType: "client-id", matchType: 0, match: "app" }]);
    expect(after.entries[0].values).toEqual([{ key: "producer_byte_rate", value: 1024 }, { key: "consumer_byte_rate", value: 2048 }]);
    client.close();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test("a producer_byte_rate quota slows a kafkajs producer to the quota and raw requests see throttle_time_ms", async () => {
  await using server = await startTestServer({ quotaWindow });
  const admin = await RawClient.connect(server.port);
  const quota = 200 * 1024;
  const setQuota = await alter(admin, [
    { entity: [{ entityType: "client-id", entityName: "throttled" }], ops: [{ key: "producer_byte_rate", value: quota, remove: false }] },
    { entity: [{ entityType: "client-id", entityName: "raw-test" }], ops: [{ key: "producer_byte_rate", value: 10 * 1024, remove: false }, { key: "consumer_byte_rate", value: 10 * 1024, remove: false }] },
  ]);
  expect(setQuota.entries.map((entry: { errorCode: number }) => entry.errorCode)).toEqual([0, 0]);

  // 800 KiB at 200 KiB/s. Kafka's window is padded to 10 samples (1 s here), so the first ~200 KiB are free and the
  // rest takes ~3 s; an unthrottled producer sends this in well under a second.
  const kafka = new Kafka({ clientId: "throttled", brokers: [server.bootstrap], logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  const value = Buffer.alloc(20 * 1024, 97);
  const startedAt = performance.now();
  for (let i = 0; i < 40; i++) await producer.send({ topic: "quota-topic", messages: [{ value }] });
  const elapsedMs = performance.now() - startedAt;
  await producer.disconnect();
  console.log(`800 KiB at a 200 KiB/s quota took ${Math.round(elapsedMs)} ms`);
  expect(elapsedMs).toBeGreaterThanOrEqual(2_400);
  expect(elapsedMs).toBeLessThan(30_000);
  expect(server.broker.metrics.quotaThrottles.get({ kind: "produce" })).toBeGreaterThan(0);

  // A raw Produce of 15 KiB against 10 KiB/s (padded window 1 s: 15 KiB/s): throttle_time_ms = (15 - 10) / 10 × 1 s.
  const batch = buildRecordBatch({ records: [{ key: null, value: new Uint8Array(15 * 1024), timestamp: Date.now() }] });
  const producedAt = performance.now();
  const produced = await admin.call(0, 9, { transactionalId: null, acks: 1, timeoutMs: 1000, topicData: [{ name: "quota-topic", partitionData: [{ index: 0, records: batch }] }] });
  expect(produced.throttleTimeMs).toBeGreaterThanOrEqual(450);
  expect(produced.throttleTimeMs).toBeLessThanOrEqual(600);
  // The connection is muted for that time: the next request waits (Kafka ≥ 2.0). The mute starts after the Produce
  // arrived, so it ends no sooner than throttleTimeMs after it was sent; timing from the answer's arrival instead
  // lost however long the answer took to reach us on a loaded machine.
  await admin.call(18, 3, {});
  expect(performance.now() - producedAt).toBeGreaterThanOrEqual(produced.throttleTimeMs);

  // Fetch of those bytes: consumer_byte_rate 10 KiB/s throttles too.
  const fetched = await admin.call(1, 11, {
    replicaId: -1, maxWaitMs: 0, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
    topics: [{ topic: "quota-topic", partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
    forgottenTopicsData: [], rackId: "",
  });
  expect(fetched.errorCode).toBe(0);
  expect(fetched.throttleTimeMs).toBeGreaterThan(0);
  admin.close();
}, 60_000);

test("without a matching quota nothing is throttled", async () => {
  await using server = await startTestServer({ quotaWindow });
  const client = await RawClient.connect(server.port);
  await alter(client, [{ entity: [{ entityType: "client-id", entityName: "someone-else" }], ops: [{ key: "producer_byte_rate", value: 1, remove: false }] }]);
  const batch = buildRecordBatch({ records: [{ key: null, value: new Uint8Array(100 * 1024), timestamp: Date.now() }] });
  client.write(requestFrame(0, 9, 5, { transactionalId: null, acks: 1, timeoutMs: 1000, topicData: [{ name: "free", partitionData: [{ index: 0, records: batch }] }] }));
  const body = decodeResponse(0, 9, (await client.nextFrame())!).body;
  expect(body.responses[0].partitionResponses[0].errorCode).toBe(0);
  expect(body.throttleTimeMs).toBe(0);
  client.close();
});
