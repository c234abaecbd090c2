// Every codec through @platformatic/kafka (its own gzip/zstd from node:zlib, snappy/lz4 from @platformatic/wasm-utils):
// produced compressed, stored as produced, fetched and decompressed by the client. Then a topic whose
// compression.type recompresses, the old message formats over raw Produce v2/Fetch v0–3 requests, and hostile
// compressed batches (bad CRC, truncated stream, bomb) refused per partition with the gateway still serving.
// On both logs, but for the hostile batches (refused before anything reaches the store): the stored batches and
// their reads, down-converted for the old formats, are the store's.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Admin, Consumer, Producer, stringSerializers, stringDeserializers } from "@platformatic/kafka";
import { bothStores, startTestServer, type TestServer } from "../../helpers/server.ts";
import { RawClient, decodeResponse, requestFrame } from "../../helpers/raw-client.ts";
import { ErrorCode } from "../../../src/protocol/error-codes.ts";
import { ATTRIBUTES_OFFSET, COMPRESSION_MASK, Compression, buildRecordBatch, CRC_OFFSET, RECORDS_OFFSET, computeBatchCrc } from "../../../src/protocol/records/record-batch.ts";
import { encodeEntry, readProduceMessageSet } from "../../../src/protocol/records/message-set.ts";
import { compress, Codec } from "../../../src/compression/index.ts";

const CODECS = ["none", "gzip", "snappy", "lz4", "zstd"] as const;
const RECORDS = 40;

// The current describe block's server (the blocks run one after the other).
let server: TestServer;
let correlationId = 1;

function withServer(options: Parameters<typeof startTestServer>[0] = {}): void {
  beforeAll(async () => {
    server = await startTestServer(options);
  });
  afterAll(async () => {
    await server[Symbol.asyncDispose]();
  });
}

function storedCodecs(topic: string): number[] {
  const log = server.broker.topics.get(topic)!.partitions[0]!;
  return log.read(log.logStartOffset, 1 << 30, true).batches.map((batch) => batch[ATTRIBUTES_OFFSET + 1]! & COMPRESSION_MASK);
}

async function fetchValues(consumer: Consumer<string, string, string, string>, topic: string, expected: number): Promise<{ values: string[]; codecs: number[] }> {
  const metadata = await consumer.metadata({ topics: [topic] });
  const topicId = metadata.topics.get(topic)!.id;
  const values: string[] = [];
  const codecs: number[] = [];
  let fetchOffset = 0n;
  for (let round = 0; round < 50 && values.length < expected; round++) {
    const response = await consumer.fetch({
      node: 1,
      maxWaitTime: 100,
      minBytes: 1,
      maxBytes: 1 << 20,
      topics: [{ topicId, partitions: [{ partition: 0, fetchOffset, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, lastFetchedEpoch: -1 }] }],
    });
    const data = response.responses[0]!.partitions[0]!;
    expect(data.errorCode).toBe(0);
    for (const batch of data.records ?? []) {
      codecs.push(batch.attributes & COMPRESSION_MASK);
      for (const record of batch.records) {
        const offset = batch.firstOffset + BigInt(record.offsetDelta);
        if (offset < fetchOffset) continue;
        values.push(record.value!.toString());
        fetchOffset = offset + 1n;
      }
    }
  }
  return { values, codecs };
}

async function roundTrip(raw: RawClient, apiKey: number, apiVersion: number, body: object): Promise<any> {
  const id = correlationId++;
  raw.write(requestFrame(apiKey, apiVersion, id, body));
  const frame = await raw.nextFrame();
  expect(frame).not.toBeNull();
  const response = decodeResponse(apiKey, apiVersion, frame!);
  expect(response.correlationId).toBe(id);
  return response.body;
}

function produceBody(topic: string, records: Uint8Array) {
  return { acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] };
}

describe.each(bothStores)("%s log", (store) => {
  withServer({ store });

  describe("@platformatic/kafka with every codec", () => {
    for (const codec of CODECS) {
      test(`produce and consume ${codec}`, async () => {
        const bootstrapBrokers = [server.bootstrap];
        const topic = `codec-${codec}`;
        server.broker.topics.create(topic, 1);
        const producer = new Producer({ clientId: "codec-producer", bootstrapBrokers, serializers: stringSerializers, compression: codec });
        const consumer = new Consumer({ clientId: "codec-consumer", groupId: "unused", bootstrapBrokers, deserializers: stringDeserializers });
        try {
          const sent = Array.from({ length: RECORDS }, (_, i) => `${codec} value ${i} ${"x".repeat(i * 10)}`);
          for (let i = 0; i < RECORDS; i += 10) {
            await producer.send({ messages: sent.slice(i, i + 10).map((value) => ({ topic, partition: 0, key: "k", value })), acks: -1 });
          }
          const expectedCodec = Compression[codec];
          expect(storedCodecs(topic).every((stored) => stored === expectedCodec)).toBe(true); // stored as produced
          const { values, codecs } = await fetchValues(consumer, topic, RECORDS);
          expect(values).toEqual(sent);
          expect(codecs.every((fetched) => fetched === expectedCodec)).toBe(true);
        } finally {
          await producer.close();
          await consumer.close();
        }
      });
    }

    test("a topic with compression.type=zstd recompresses gzip batches; uncompressed decompresses lz4 ones", async () => {
      const bootstrapBrokers = [server.bootstrap];
      const admin = new Admin({ clientId: "codec-admin", bootstrapBrokers });
      const consumer = new Consumer({ clientId: "codec-consumer", groupId: "unused", bootstrapBrokers, deserializers: stringDeserializers });
      try {
        for (const [type, produced, stored] of [["zstd", "gzip", Compression.zstd], ["uncompressed", "lz4", Compression.none]] as const) {
          const topic = `recompress-${type}`;
          await admin.createTopics({ topics: [topic], partitions: 1, replicas: 1, configs: [{ name: "compression.type", value: type }] });
          const producer = new Producer({ clientId: "codec-producer", bootstrapBrokers, serializers: stringSerializers, compression: produced });
          const sent = Array.from({ length: 10 }, (_, i) => `recompressed ${i}`);
          await producer.send({ messages: sent.map((value) => ({ topic, partition: 0, value })), acks: -1 });
          await producer.close();
          expect(storedCodecs(topic)).toEqual([stored]);
          const { values } = await fetchValues(consumer, topic, sent.length);
          expect(values).toEqual(sent);
        }
      } finally {
        await admin.close();
        await consumer.close();
      }
    });
  });

  describe("raw requests", () => {
    test("Fetch v9 of a zstd batch is UNSUPPORTED_COMPRESSION_TYPE; v10 gets it", async () => {
      const raw = await RawClient.connect(server.port);
      try {
        const batch = buildRecordBatch({ compression: Compression.zstd, records: [{ value: new TextEncoder().encode("z") }] });
        const produced = await roundTrip(raw, 0, 9, produceBody("zstd-old-fetch", batch));
        expect(produced.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.NONE);
        const fetchBody = { replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, topics: [{ topic: "zstd-old-fetch", partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] }] };
        const old = await roundTrip(raw, 1, 9, fetchBody);
        expect(old.responses[0].partitions[0].errorCode).toBe(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
        const modern = await roundTrip(raw, 1, 10, fetchBody);
        expect(modern.responses[0].partitions[0].errorCode).toBe(ErrorCode.NONE);
        expect(modern.responses[0].partitions[0].records.length).toBe(batch.length);
      } finally {
        raw.close();
      }
    });

    test("Produce v2 with a gzip magic-1 wrapper, consumed by Fetch v3 (magic 1), v0 (magic 0) and v4 (a batch v2)", async () => {
      const raw = await RawClient.connect(server.port);
      const text = (value: string) => new TextEncoder().encode(value);
      try {
        const inner = Buffer.concat([encodeEntry(0, 1, 0, 1_700_000_000_000, text("k"), text("old-a")), encodeEntry(1, 1, 0, 1_700_000_000_001, null, text("old-b"))]);
        const wrapper = encodeEntry(1, 1, Codec.gzip, 1_700_000_000_001, null, compress(Codec.gzip, inner));
        const plain = encodeEntry(0, 0, 0, -1, null, text("old-c"));
        for (const [version, records] of [[2, wrapper], [0, plain]] as const) {
          const produced = await roundTrip(raw, 0, version, produceBody("legacy", records));
          expect(produced.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.NONE);
        }
        const fetchBody = { replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, topics: [{ topic: "legacy", partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] }] };
        for (const version of [0, 1, 2, 3]) {
          const fetched = await roundTrip(raw, 1, version, fetchBody);
          const partition = fetched.responses[0].partitions[0];
          expect(partition.errorCode).toBe(ErrorCode.NONE);
          expect(partition.records[16]).toBe(version <= 1 ? 0 : 1); // the first message's magic
          const read = readProduceMessageSet(partition.records);
          expect(read.ok && read.records.map((record) => new TextDecoder().decode(record.value!))).toEqual(["old-a", "old-b", "old-c"]);
          expect(read.ok && read.records[0]!.timestamp).toBe(version <= 1 ? -1 : 1_700_000_000_000);
        }
        const modern = await roundTrip(raw, 1, 4, fetchBody);
        expect(modern.responses[0].partitions[0].records[16]).toBe(2);
      } finally {
        raw.close();
      }
    });
  });
});

describe("raw requests on the default log", () => {
  withServer();

  test("hostile compressed batches are refused, nothing is stored, and the gateway keeps serving", async () => {
    const raw = await RawClient.connect(server.port);
    const topic = "hostile";
    const withCrc = (batch: Uint8Array) => {
      new DataView(batch.buffer, batch.byteOffset).setUint32(CRC_OFFSET, computeBatchCrc(batch));
      return batch;
    };
    const swapRecords = (template: Uint8Array, records: Uint8Array) => {
      const batch = new Uint8Array(RECORDS_OFFSET + records.length);
      batch.set(template.subarray(0, RECORDS_OFFSET));
      batch.set(records, RECORDS_OFFSET);
      new DataView(batch.buffer).setInt32(8, batch.length - 12);
      return withCrc(batch);
    };
    try {
      const good = buildRecordBatch({ compression: Compression.gzip, records: [{ value: new TextEncoder().encode("fine") }] });
      const badCrc = good.slice();
      badCrc[badCrc.length - 1]! ^= 0xff;
      const truncated = swapRecords(good, good.subarray(RECORDS_OFFSET, good.length - 8));
      const gzipBomb = swapRecords(good, compress(Codec.gzip, new Uint8Array(200 * 1024 * 1024)));
      const zstdTemplate = buildRecordBatch({ compression: Compression.zstd, records: [{ value: new TextEncoder().encode("fine") }] });
      const zstdBomb = swapRecords(zstdTemplate, compress(Codec.zstd, new Uint8Array(512 * 1024 * 1024)));
      const cases: [string, Uint8Array, number][] = [
        ["bad crc", badCrc, ErrorCode.CORRUPT_MESSAGE],
        ["truncated gzip", truncated, ErrorCode.INVALID_RECORD],
        ["gzip bomb", gzipBomb, ErrorCode.INVALID_RECORD],
        ["zstd bomb", zstdBomb, ErrorCode.INVALID_RECORD],
      ];
      for (const [name, batch, errorCode] of cases) {
        const produced = await roundTrip(raw, 0, 9, produceBody(topic, batch));
        expect([name, produced.responses[0].partitionResponses[0].errorCode]).toEqual([name, errorCode]);
      }
      expect(server.broker.topics.get(topic)!.partitions[0]!.logEndOffset).toBe(0);
      const produced = await roundTrip(raw, 0, 9, produceBody(topic, good));
      expect(produced.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.NONE);
      expect(server.broker.topics.get(topic)!.partitions[0]!.logEndOffset).toBe(1);
    } finally {
      raw.close();
    }
  });
});
