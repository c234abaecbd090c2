// A full box: while the central cluster is unreachable, retention must not delete what the link has not forwarded,
// and a forwarded topic's unforwarded bytes are capped by max.unforwarded.bytes with one of two policies:
// - reject: Produce gets NOT_ENOUGH_REPLICAS (retriable for every client in the interop matrix) and a throttle time;
//   nothing unforwarded is deleted; once the link is back everything acknowledged is forwarded and retention runs;
// - drop-oldest: the oldest unforwarded records go, and the count of dropped records is exactly what is missing on
//   the central cluster.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { Kafka, logLevel } from "kafkajs";
import { Central, createTopic, exactlyOnceInOrder, readCentral, startEdge, waitForwarded } from "./rig.ts";

let central: Central;

beforeAll(async () => {
  central = await Central.start();
});
afterAll(async () => {
  await central?.[Symbol.asyncDispose]();
});

const SMALL_SEGMENTS = [
  { name: "segment.bytes", value: String(32 * 1024) },
  { name: "retention.bytes", value: String(64 * 1024) },
];

/** Sends batches of 1 KiB records one at a time with no client retries, until `bytes` were acknowledged or a send is refused. */
async function produceUntil(bootstrap: string, topic: string, bytes: number, tag: string): Promise<{ acknowledged: string[]; refusal: string | null }> {
  const kafka = new Kafka({ clientId: "full-box", brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
  const producer = kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 0 } });
  await producer.connect();
  const acknowledged: string[] = [];
  const padding = "x".repeat(1000);
  let refusal: string | null = null;
  try {
    for (let n = 0; acknowledged.length * 1024 < bytes; ) {
      const messages = Array.from({ length: 8 }, () => ({ partition: 0, value: `${tag}-${n++}-${padding}` }));
      try {
        await producer.send({ topic, acks: -1, messages });
        acknowledged.push(...messages.map((message) => message.value));
      } catch (error) {
        // kafkajs wraps the broker's error (KafkaJSNumberOfRetriesExceeded) around a KafkaJSProtocolError with the code's name.
        const wrapped = error as { type?: string; originalError?: { type?: string }; cause?: { type?: string } };
        refusal = wrapped.originalError?.type ?? wrapped.cause?.type ?? wrapped.type ?? (error as Error).message;
        break;
      }
    }
  } finally {
    await producer.disconnect();
  }
  return { acknowledged, refusal };
}

const shortValue = (value: string) => value.slice(0, value.lastIndexOf("-"));

test("reject: produce is refused at the cap, retention keeps the unforwarded records, everything arrives once the link is back", async () => {
  const topic = "full-reject";
  central.proxy.cut();
  await using edge = await startEdge([`central bootstrap.servers=${central.bootstrap} topics=${topic} create.remote.topics=true max.unforwarded.bytes=200KiB full.policy=reject request.timeout.ms=2000`]);
  await createTopic(edge.bootstrap, topic, 1, SMALL_SEGMENTS);
  const { acknowledged, refusal } = await produceUntil(edge.bootstrap, topic, 1024 * 1024, "rej");
  expect(refusal).toBe("NOT_ENOUGH_REPLICAS");
  expect(acknowledged.length * 1024).toBeGreaterThanOrEqual(150 * 1024);
  expect(edge.links()[0]!.rejectedProduces).toBeGreaterThan(0);

  // Retention would delete most of it (retention.bytes 64 KiB): the link's floor holds it back.
  const log = edge.broker.topics.get(topic)!.partitions[0]!;
  edge.broker.fileLogs!.applyRetention(Date.now());
  expect(log.logStartOffset).toBe(0);

  central.proxy.pass();
  await waitForwarded(edge.links);
  const records = await readCentral(central.gateway.bootstrap, topic, acknowledged.length);
  const check = exactlyOnceInOrder(acknowledged.map(shortValue), records.map((record) => ({ ...record, value: shortValue(record.value) })));
  expect(check).toEqual({ missing: [], duplicated: [], outOfOrder: [] });
  // Forwarded: now retention may go ahead, and produce is accepted again.
  edge.broker.fileLogs!.applyRetention(Date.now());
  expect(log.logStartOffset).toBeGreaterThan(0);
  expect((await produceUntil(edge.bootstrap, topic, 8 * 1024, "after")).refusal).toBeNull();
}, 120_000);

test("drop-oldest: the oldest unforwarded records go, and the drop count is exactly what the central cluster lacks", async () => {
  const topic = "full-drop";
  central.proxy.cut();
  await using edge = await startEdge([`central bootstrap.servers=${central.bootstrap} topics=${topic} create.remote.topics=true max.unforwarded.bytes=200KiB full.policy=drop-oldest request.timeout.ms=2000`]);
  await createTopic(edge.bootstrap, topic, 1, SMALL_SEGMENTS);
  const { acknowledged, refusal } = await produceUntil(edge.bootstrap, topic, 600 * 1024, "drop");
  expect(refusal).toBeNull();
  const dropped = () => edge.links()[0]!.partitions[0]!.dropped["drop-oldest"] ?? 0;
  expect(dropped()).toBeGreaterThan(0);
  const log = edge.broker.topics.get(topic)!.partitions[0]!;
  expect(log.bytesFrom(log.logStartOffset)).toBeLessThan(200 * 1024 + 32 * 1024);

  central.proxy.pass();
  await waitForwarded(edge.links);
  const records = await readCentral(central.gateway.bootstrap, topic, acknowledged.length - dropped());
  const arrived = new Set(records.map((record) => shortValue(record.value)));
  const missing = acknowledged.map(shortValue).filter((value) => !arrived.has(value));
  expect(missing.length).toBe(dropped());
  // The missing ones are the oldest: a prefix of what was produced.
  expect(missing).toEqual(acknowledged.map(shortValue).slice(0, missing.length));
  expect(records.length).toBe(acknowledged.length - dropped());
}, 120_000);
