// Duplicates forced the way they happen: a proxy between kafkajs and kgate lets a Produce request through, then
// cuts the connection instead of passing the answer back. The idempotent producer reconnects and sends the same
// batch again (same producer id, epoch and sequence); kgate must answer it with the original offset and store it
// once. Without idempotence the same cut duplicates records, which the test shows as the baseline.

import { afterEach, describe, expect, test } from "bun:test";
import net from "node:net";
import { Kafka, logLevel } from "kafkajs";
import { startTestServer, type TestServer } from "../../helpers/server.ts";
import { decodeRecords, readBaseOffset } from "../../../src/protocol/records/record-batch.ts";

const PRODUCE = 0;

/** Forwards bytes both ways; drops the connection instead of delivering every `dropEvery`-th Produce answer. */
class AnswerDroppingProxy {
  readonly server: net.Server;
  port = 0;
  upstreamPort = 0;
  producesSeen = 0;
  answersDropped = 0;

  constructor(private readonly dropEvery: number) {
    this.server = net.createServer((client) => this.accept(client));
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  private accept(client: net.Socket): void {
    const upstream = net.connect(this.upstreamPort, "127.0.0.1");
    const produceCorrelationIds = new Set<number>();
    const toDrop = new Set<number>();
    let fromClient = Buffer.alloc(0);
    let fromServer = Buffer.alloc(0);
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("data", (chunk: Buffer) => {
      fromClient = Buffer.concat([fromClient, chunk]);
      while (fromClient.length >= 4 && fromClient.length >= 4 + fromClient.readInt32BE(0)) {
        const size = fromClient.readInt32BE(0);
        const frame = fromClient.subarray(0, 4 + size);
        fromClient = fromClient.subarray(4 + size);
        if (frame.readInt16BE(4) === PRODUCE) {
          const correlationId = frame.readInt32BE(8);
          produceCorrelationIds.add(correlationId);
          if (++this.producesSeen % this.dropEvery === 0) toDrop.add(correlationId);
        }
        upstream.write(frame);
      }
    });
    upstream.on("data", (chunk: Buffer) => {
      fromServer = Buffer.concat([fromServer, chunk]);
      while (fromServer.length >= 4 && fromServer.length >= 4 + fromServer.readInt32BE(0)) {
        const size = fromServer.readInt32BE(0);
        const frame = fromServer.subarray(0, 4 + size);
        fromServer = fromServer.subarray(4 + size);
        if (toDrop.has(frame.readInt32BE(4))) {
          this.answersDropped++;
          close();
          return;
        }
        client.write(frame);
      }
    });
    client.on("error", close);
    upstream.on("error", close);
    client.on("close", close);
    upstream.on("close", close);
  }
}

let server: TestServer | null = null;
afterEach(async () => {
  await server?.[Symbol.asyncDispose]();
  server = null;
});

async function run(idempotent: boolean): Promise<{ values: string[]; offsets: number[]; dropped: number }> {
  const proxy = new AnswerDroppingProxy(3);
  await proxy.start();
  // Clients must come back through the proxy, so kgate advertises the proxy's address.
  server = await startTestServer({ advertisedHost: "127.0.0.1", advertisedPort: proxy.port });
  proxy.upstreamPort = server.port;
  const topic = idempotent ? "retried-idempotent" : "retried-plain";
  server.broker.topics.create(topic, 1);
  const kafka = new Kafka({ clientId: "retries", brokers: [`127.0.0.1:${proxy.port}`], logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 20 } });
  const producer = kafka.producer({ idempotent, maxInFlightRequests: 1 });
  await producer.connect();
  for (let i = 0; i < 12; i++) {
    await producer.send({ topic, acks: -1, messages: Array.from({ length: 5 }, (_, j) => ({ value: `v${i * 5 + j}` })) });
  }
  await producer.disconnect();
  proxy.server.close();

  const log = server.broker.topics.get(topic)!.partitions[0]!;
  const { batches } = log.read(0, 1 << 24, true);
  const values: string[] = [];
  const offsets: number[] = [];
  for (const batch of batches) {
    decodeRecords(batch).forEach((record, index) => {
      values.push(new TextDecoder().decode(record.value!));
      offsets.push(readBaseOffset(batch) + index);
    });
  }
  return { values, offsets, dropped: proxy.answersDropped };
}

describe("retries after lost Produce answers", () => {
  test("an idempotent producer's resent batches are stored once, in order", async () => {
    const { values, offsets, dropped } = await run(true);
    expect(dropped).toBeGreaterThanOrEqual(3);
    expect(values).toEqual(Array.from({ length: 60 }, (_, i) => `v${i}`));
    expect(offsets).toEqual(Array.from({ length: 60 }, (_, i) => i));
  }, 30_000);

  test("baseline: without idempotence the same lost answers store batches twice", async () => {
    const { values, dropped } = await run(false);
    expect(dropped).toBeGreaterThanOrEqual(3);
    expect(values.length).toBe(60 + dropped * 5);
  }, 30_000);
});
