// Every codec inside the compiled executable: the snappy and lz4 napi addons are embedded by `bun build --compile`
// and gzip/zstd are Bun's built-ins, so the binary, copied alone into an empty folder, must validate, store and serve
// batches of all four. Producers: @platformatic/kafka with its own codecs, and kafkajs (gzip built in; snappy, lz4 and
// zstd through small adapters over src/compression registered in its CompressionCodecs, so kafkajs still does the
// batch framing). Each topic is read back with @platformatic/kafka's fetch, which decompresses with its own codecs.

import { expect, test } from "bun:test";
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Admin, Consumer, Producer, stringDeserializers, stringSerializers } from "@platformatic/kafka";
import { CompressionCodecs, CompressionTypes, Kafka, logLevel } from "kafkajs";
import { Codec, compress, decompress } from "../../src/compression/index.ts";
import { ensureBinary, startGatewayProcess } from "../helpers/gateway-process.ts";

const CODECS = ["gzip", "snappy", "lz4", "zstd"] as const;
const RECORDS = 25;

function kafkajsAdapter(codec: Codec) {
  return () => ({
    async compress(encoder: { buffer: Buffer }) {
      return Buffer.from(compress(codec, encoder.buffer));
    },
    async decompress(buffer: Buffer) {
      const result = decompress(codec, buffer, 64 * 1024 * 1024);
      if (!result.ok) throw new Error(result.message);
      return Buffer.from(result.data);
    },
  });
}
CompressionCodecs[CompressionTypes.Snappy] = kafkajsAdapter(Codec.snappy);
CompressionCodecs[CompressionTypes.LZ4] = kafkajsAdapter(Codec.lz4);
CompressionCodecs[CompressionTypes.ZSTD] = kafkajsAdapter(Codec.zstd);
const kafkajsTypes = { gzip: CompressionTypes.GZIP, snappy: CompressionTypes.Snappy, lz4: CompressionTypes.LZ4, zstd: CompressionTypes.ZSTD };

async function readBack(consumer: Consumer<string, string, string, string>, topic: string): Promise<{ values: string[]; codecs: number[] }> {
  const topicId = (await consumer.metadata({ topics: [topic] })).topics.get(topic)!.id;
  const response = await consumer.fetch({
    node: 1,
    maxWaitTime: 100,
    minBytes: 1,
    maxBytes: 1 << 20,
    topics: [{ topicId, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, lastFetchedEpoch: -1 }] }],
  });
  const partition = response.responses[0]!.partitions[0]!;
  expect(partition.errorCode).toBe(0);
  const batches = partition.records ?? [];
  return { values: batches.flatMap((batch) => batch.records.map((record) => record.value!.toString())), codecs: batches.map((batch) => batch.attributes & 0x07) };
}

test("the binary alone in an empty folder round-trips gzip, snappy, lz4 and zstd", async () => {
  const folder = mkdtempSync(join(tmpdir(), "kgate-codecs-"));
  try {
    const binary = join(folder, "kgate");
    // KGATE_BINARY: test a binary built elsewhere (e.g. while the tree does not typecheck for build.ts).
    copyFileSync(process.env.KGATE_BINARY ?? (await ensureBinary()), binary);
    expect(readdirSync(folder)).toEqual(["kgate"]);
    await using gateway = await startGatewayProcess([binary, "--memory"], { cwd: folder });
    const bootstrapBrokers = [gateway.bootstrap];
    const admin = new Admin({ clientId: "compiled-codecs", bootstrapBrokers });
    const consumer = new Consumer({ clientId: "compiled-codecs", groupId: "unused", bootstrapBrokers, deserializers: stringDeserializers });
    const kafka = new Kafka({ clientId: "compiled-codecs", brokers: [gateway.bootstrap], logLevel: logLevel.NOTHING });
    const kafkajsProducer = kafka.producer();
    await kafkajsProducer.connect();
    try {
      const topics = CODECS.flatMap((codec) => [`platformatic-${codec}`, `kafkajs-${codec}`]);
      await admin.createTopics({ topics, partitions: 1, replicas: 1 });
      for (const [index, codec] of CODECS.entries()) {
        const sent = Array.from({ length: RECORDS }, (_, i) => `${codec} record ${i} ${"payload ".repeat(i)}`);
        const producer = new Producer({ clientId: "compiled-codecs", bootstrapBrokers, serializers: stringSerializers, compression: codec });
        await producer.send({ messages: sent.map((value) => ({ topic: `platformatic-${codec}`, partition: 0, value })), acks: -1 });
        await producer.close();
        await kafkajsProducer.send({ topic: `kafkajs-${codec}`, acks: -1, compression: kafkajsTypes[codec], messages: sent.map((value) => ({ partition: 0, value })) });
        for (const client of ["platformatic", "kafkajs"]) {
          const { values, codecs } = await readBack(consumer, `${client}-${codec}`);
          expect([client, values]).toEqual([client, sent]);
          expect(codecs).toEqual([index + 1]); // stored and served as produced
        }
      }
    } finally {
      await kafkajsProducer.disconnect();
      await admin.close();
      await consumer.close();
    }
    expect(gateway.output()).not.toContain("error");
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}, 120_000);
