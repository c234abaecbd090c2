// Where forwarded records land and how fast they go, against a second kgate process as the central cluster:
// - partitioning=key: an edge topic of 1 partition forwarded to a remote one of 3 (created by the test) puts each
//   keyed record where Java's default partitioner would (murmur2 of the key, src/uplink/murmur2.ts, cross-checked
//   with kafkajs's Java-compatible DefaultPartitioner), a record without key on the source partition modulo 3, in
//   order per key; the remote name comes from remote.topic=site.${edge}.${topic};
// - provenance=off (with partitioning=same): keys, values, headers and timestamps arrive byte-identical, compressed
//   batches included, without a kgate-origin header;
// - bandwidth.bytes.per.second=200000 stretches the forwarding of ~1.5 MB over at least 4 s (a loose lower bound: a
//   request larger than the rate goes once the bucket is full, so B bytes need at least (B - largest request) / rate);
// - a low bandwidth does not make an exactly-once round outlast transaction.timeout.ms (the central cluster would
//   abort it, and the same round again, forever).

import { afterAll, beforeAll, expect, test } from "bun:test";
import { CompressionTypes, Partitioners, type IHeaders, type KafkaMessage } from "kafkajs";
import { randomBytes } from "node:crypto";
import { keyPartition } from "../../../src/uplink/murmur2.ts";
import { PROVENANCE_HEADER_KEY } from "../../../src/uplink/forward-batches.ts";
import { waitFor } from "../../helpers/server.ts";
import { Central, createTopic, kafkaAt, readMessages, startEdge, waitForwarded, type Edge } from "./rig.ts";

let central: Central;

beforeAll(async () => {
  central = await Central.start();
});
afterAll(async () => {
  await central?.[Symbol.asyncDispose]();
});

const link = (edge: Edge) => edge.links()[0]!;

async function send(bootstrap: string, topic: string, batches: { messages: { key?: Buffer | string | null; value: Buffer | string | null; partition?: number; headers?: IHeaders }[]; compression?: CompressionTypes }[]): Promise<void> {
  const producer = kafkaAt(bootstrap, "partitioning").producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    for (const batch of batches) await producer.send({ topic, acks: -1, messages: batch.messages, compression: batch.compression ?? CompressionTypes.None });
  } finally {
    await producer.disconnect();
  }
}

test("partitioning=key puts each keyed record where Java's default partitioner would, in order per key", async () => {
  const topic = "keyed";
  const remoteTopic = "site.edge1.keyed";
  await createTopic(central.gateway.bootstrap, remoteTopic, 3);
  await using edge = await startEdge([`central bootstrap.servers=${central.bootstrap} topics=${topic} partitioning=key remote.topic=site.\${edge}.\${topic} request.timeout.ms=3000`]);
  await createTopic(edge.bootstrap, topic, 1);
  // 40 keys (text, plus binary keys of every length mod 4: murmur2's tail cases), 8 records each, and a few without key.
  const keys: Buffer[] = [
    ...Array.from({ length: 30 }, (_, i) => Buffer.from(`customer-${i}`)),
    ...Array.from({ length: 10 }, (_, i) => randomBytes(1 + i)),
  ];
  const batches = Array.from({ length: 8 }, (_, round) => ({
    messages: [
      ...keys.map((key, k) => ({ key, value: `${k}:${round}`, partition: 0 })),
      { key: null, value: `none:${round}`, partition: 0 },
    ],
  }));
  await send(edge.bootstrap, topic, batches);
  await waitForwarded(edge.links, 30_000);
  expect(link(edge).partitions[0]!.remoteTopic).toBe(remoteTopic);

  const received = await readMessages(central.gateway.bootstrap, remoteTopic, 8 * (keys.length + 1));
  expect(received.length).toBe(8 * (keys.length + 1));
  const partitioner = Partitioners.DefaultPartitioner();
  const partitionMetadata = [0, 1, 2].map((partitionId) => ({ partitionId, leader: 1, replicas: [1], isr: [1], offlineReplicas: [], partitionErrorCode: 0 }));
  const used = new Set<number>();
  for (const { partition, message } of received) {
    const value = message.value!.toString();
    if (message.key === null) {
      // No key: the source partition (0) modulo the remote partitions.
      expect(partition).toBe(0);
      continue;
    }
    expect(partition).toBe(keyPartition(message.key, 3));
    used.add(partition);
    expect(keys[Number(value.split(":")[0])]!.equals(message.key)).toBe(true);
  }
  expect(used.size).toBe(3);
  // kafkajs's Java-compatible partitioner agrees on every key.
  for (const key of keys) expect(partitioner({ topic: remoteTopic, partitionMetadata, message: { key, value: null } })).toBe(keyPartition(key, 3));
  // Per key, the rounds arrive in the order they were produced.
  const byKey = new Map<string, number[]>();
  for (const { message } of [...received].sort((a, b) => a.partition - b.partition || Number(a.message.offset) - Number(b.message.offset))) {
    const [key, round] = message.value!.toString().split(":");
    byKey.set(key!, [...(byKey.get(key!) ?? []), Number(round)]);
  }
  for (const rounds of byKey.values()) expect(rounds).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
}, 60_000);

/** A message as comparable bytes: key, value, headers (name → hex values, kafkajs lists repeated names) and timestamp. */
function bytesOf(message: KafkaMessage): string {
  const hex = (value: unknown): unknown => (value === null || value === undefined ? null : Array.isArray(value) ? value.map(hex) : Buffer.from(value as Buffer).toString("hex"));
  const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([name, value]) => [name, hex(value)]));
  return JSON.stringify({ key: hex(message.key), value: hex(message.value), headers, timestamp: message.timestamp });
}

test("provenance=off forwards keys, values, headers and timestamps byte-identical, with no kgate-origin header", async () => {
  const topic = "verbatim";
  await using edge = await startEdge([`central bootstrap.servers=${central.bootstrap} topics=${topic} create.remote.topics=true provenance=off request.timeout.ms=3000`]);
  await createTopic(edge.bootstrap, topic, 2);
  const message = (n: number) => ({
    partition: n % 2,
    key: n % 7 === 0 ? null : randomBytes(1 + (n % 13)),
    value: n % 11 === 0 ? null : randomBytes(n % 300),
    headers: n % 5 === 0 ? {} : { "h-binary": randomBytes(8), "h-text": `text-${n}`, "h-repeated": [randomBytes(3), Buffer.from("second")], "h-empty": Buffer.alloc(0) },
  });
  let n = 0;
  const batches = [
    ...Array.from({ length: 5 }, () => ({ messages: Array.from({ length: 20 }, () => message(n++)) })),
    ...Array.from({ length: 3 }, () => ({ messages: Array.from({ length: 20 }, () => message(n++)), compression: CompressionTypes.GZIP })),
  ];
  await send(edge.bootstrap, topic, batches);
  await waitForwarded(edge.links, 30_000);

  const [local, remote] = await Promise.all([readMessages(edge.bootstrap, topic, n), readMessages(central.gateway.bootstrap, topic, n)]);
  expect(local.length).toBe(n);
  expect(remote.length).toBe(n);
  const ordered = (list: { partition: number; message: KafkaMessage }[]) =>
    [...list].sort((a, b) => a.partition - b.partition || Number(a.message.offset) - Number(b.message.offset)).map(({ partition, message }) => `${partition} ${bytesOf(message)}`);
  expect(ordered(remote)).toEqual(ordered(local));
  expect(remote.some(({ message }) => message.headers?.[PROVENANCE_HEADER_KEY] !== undefined)).toBe(false);
}, 60_000);

/** Produces `records` records of ~1000 bytes to partition 0, 100 per send. */
async function produceMegabytes(bootstrap: string, topic: string, records: number): Promise<void> {
  const padding = "b".repeat(990);
  await send(
    bootstrap,
    topic,
    Array.from({ length: records / 100 }, (_, batch) => ({ messages: Array.from({ length: 100 }, (_, i) => ({ partition: 0, value: `${padding}-${String(batch * 100 + i).padStart(6, "0")}` })) })),
  );
}

test("bandwidth.bytes.per.second=200000 stretches the forwarding of ~1.5 MB over at least 4 s", async () => {
  const topic = "throttled";
  const rate = 200_000;
  const records = 1_500;
  central.proxy.cut();
  await using edge = await startEdge([`central bootstrap.servers=${central.bootstrap} topics=${topic} create.remote.topics=true bandwidth.bytes.per.second=${rate} request.timeout.ms=3000`]);
  try {
    await createTopic(edge.bootstrap, topic, 1);
    await produceMegabytes(edge.bootstrap, topic, records);
  } finally {
    central.proxy.pass();
  }
  // From the first forwarded byte: the backoff before the link reconnects is not the throttle's doing.
  await waitFor(() => link(edge).state === "connected", { timeoutMs: 20_000, intervalMs: 10 });
  const connectedAt = Date.now();
  await waitForwarded(edge.links, 60_000);
  const tookMs = Date.now() - connectedAt;
  const bytes = link(edge).forwardedBytes;
  console.log(`forwarded ${bytes} bytes at ${rate} B/s in ${tookMs} ms`);
  expect(bytes).toBeGreaterThan(1_500_000);
  expect(tookMs).toBeGreaterThanOrEqual(4_000);
  expect(tookMs).toBeLessThan(30_000);
  const received = await readMessages(central.gateway.bootstrap, topic, records);
  expect(received.length).toBe(records);
}, 90_000);

/**
 * Regression: a round was up to limits.uplinkRoundBytesMax (8 MiB) whatever the bandwidth cap, and one exactly-once
 * round is one transaction: at 100 kB/s a 1 MB backlog is a 10 s transaction, which the central cluster aborts after
 * transaction.timeout.ms, and the link then retried the same round forever. Rounds are now sized from the bandwidth
 * and the transaction timeout (link.ts buildRound).
 */
test("a low bandwidth keeps each exactly-once round within transaction.timeout.ms", async () => {
  const topic = "throttled-transactions";
  const rate = 100_000;
  const records = 1_000;
  central.proxy.cut();
  await using edge = await startEdge([
    `central bootstrap.servers=${central.bootstrap} topics=${topic} create.remote.topics=true bandwidth.bytes.per.second=${rate} transaction.timeout.ms=3000 request.timeout.ms=3000`,
  ]);
  try {
    await createTopic(edge.bootstrap, topic, 1);
    await produceMegabytes(edge.bootstrap, topic, records);
  } finally {
    central.proxy.pass();
  }
  // ~1 MB at 100 kB/s: ~10 s, in rounds each short of 3 s.
  await waitForwarded(edge.links, 40_000);
  expect(link(edge).delivery).toBe("exactly-once");
  const received = await readMessages(central.gateway.bootstrap, topic, records);
  expect(received.length).toBe(records);
  expect(new Set(received.map(({ message }) => message.value!.toString())).size).toBe(records);
  // No round outlasted its transaction: the central cluster aborted none.
  expect(central.gateway.output()).not.toContain("aborting a timed-out transaction");
}, 90_000);
