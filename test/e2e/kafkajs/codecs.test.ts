// kafkajs 2.2.4 producing and consuming every codec through kgate with its codec plugins from npm (kafkajs ships
// gzip only), cross-checked with librdkafka: kcat reads what kafkajs compressed, and kafkajs reads what
// `kcat -z <codec>` compressed. The stored batches are checked to carry the codec, so a plugin that silently sent
// uncompressed batches would fail.
// Plugins, the first that loads per codec (Bun runs these tests: NAN addons such as kafkajs-lz4's `lz4` and
// @kafkajs/zstd's `cppzst` do not load in Bun, N-API ones do):
//   snappy  kafkajs-snappy (pure JS snappyjs)
//   lz4     @2l/kafkajs-lz4 (lz4-napi, the gateway's own lz4 package), then kafkajs-lz4
//   zstd    an adapter over @bokuweb/zstd-wasm (no install-time build), then @kafkajs/zstd
// A codec whose plugin is not installed is skipped with the reason.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { CompressionCodecs, CompressionTypes, Kafka, logLevel } from "kafkajs";
import { startTestServer, type TestServer } from "../../helpers/server.ts";
import { ATTRIBUTES_OFFSET, COMPRESSION_MASK, Compression } from "../../../src/protocol/records/record-batch.ts";
import { handlerFor } from "../../../src/handlers/registry.ts";

const KCAT = Bun.which("kcat");
const CODECS = ["gzip", "snappy", "lz4", "zstd"] as const;
type Codec = (typeof CODECS)[number];
const KAFKAJS_TYPE: Record<Codec, Exclude<CompressionTypes, CompressionTypes.None>> = {
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
};

/** A specifier in a variable: the plugins are optional, so neither tsc nor the bundler may require them. */
const load = (specifier: string): Promise<any> => import(specifier);

const PLUGINS: Record<Exclude<Codec, "gzip">, { name: string; install: () => Promise<void> }[]> = {
  snappy: [{ name: "kafkajs-snappy", install: async () => void (CompressionCodecs[CompressionTypes.Snappy] = (await load("kafkajs-snappy")).default) }],
  lz4: ["@2l/kafkajs-lz4", "kafkajs-lz4"].map((name) => ({
    name,
    install: async () => {
      const LZ4Codec = (await load(name)).default;
      CompressionCodecs[CompressionTypes.LZ4] = new LZ4Codec().codec;
    },
  })),
  zstd: [
    {
      // kafkajs documents its codec interface for plugins; no published zstd plugin installs without node-gyp (which
      // downloads Node's headers), so this adapter wraps the reference C library compiled to WebAssembly: an
      // implementation independent of the gateway's (Bun's libzstd), needing no build at install time.
      name: "@bokuweb/zstd-wasm",
      install: async () => {
        const zstd = await load("@bokuweb/zstd-wasm");
        await zstd.init();
        CompressionCodecs[CompressionTypes.ZSTD] = () => ({
          compress: async (encoder: { buffer: Buffer }) => Buffer.from(zstd.compress(encoder.buffer, 3)),
          decompress: async (buffer: Buffer) => Buffer.from(zstd.decompress(buffer)),
        });
      },
    },
    { name: "@kafkajs/zstd", install: async () => void (CompressionCodecs[CompressionTypes.ZSTD] = (await load("@kafkajs/zstd")).default()) },
  ],
};

/** Installs the first plugin of the codec that loads and round-trips; the reason for a skip otherwise. */
async function installCodec(codec: Codec): Promise<string | null> {
  if (codec === "gzip") return null;
  const failures: string[] = [];
  for (const plugin of PLUGINS[codec]) {
    try {
      await plugin.install();
      const codecInstance = CompressionCodecs[KAFKAJS_TYPE[codec]]!();
      const sample = Buffer.from("kgate ".repeat(100));
      const back = await codecInstance.decompress(await codecInstance.compress({ buffer: sample } as never));
      if (!sample.equals(Buffer.from(back))) throw new Error("its round trip changed the bytes");
      return null;
    } catch (error) {
      delete CompressionCodecs[KAFKAJS_TYPE[codec]];
      failures.push(`${plugin.name}: ${((error as Error).message ?? String(error)).split("\n")[0]}`);
    }
  }
  return `no kafkajs ${codec} codec plugin loads (${failures.join("; ")})`;
}

const skipReasons = new Map<Codec, string | null>();
for (const codec of CODECS) skipReasons.set(codec, await installCodec(codec));

let server: TestServer;
let kafka: Kafka;
beforeAll(async () => {
  server = await startTestServer();
  kafka = new Kafka({ clientId: "kgate-codecs", brokers: [server.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 2 } });
});
afterAll(async () => {
  await server?.[Symbol.asyncDispose]();
});

async function kcat(args: string[], input?: string): Promise<string> {
  const child = Bun.spawn([KCAT!, "-b", server.bootstrap, ...args], { stdin: input === undefined ? "ignore" : new TextEncoder().encode(input), stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => child.kill(9), 20_000);
  const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(timer);
  if (code !== 0) throw new Error(`kcat ${args.join(" ")} exited ${code}: ${err}`);
  return out;
}

/** The compression attribute of every stored batch of partition 0. */
function storedCodecs(topic: string): number[] {
  const log = server.broker.topics.get(topic)!.partitions[0]!;
  return log.read(0, 1 << 30, true).batches.map((batch) => batch[ATTRIBUTES_OFFSET + 1]! & COMPRESSION_MASK);
}

/** Reads partition 0 to its end through kafkajs's Fetch path (its cluster and broker objects, which decompress with CompressionCodecs). */
async function kafkajsRead(topic: string): Promise<{ key: string; value: string }[]> {
  const createCluster = Object.getOwnPropertySymbols(kafka).find((symbol) => symbol.description === "private:Kafka:createCluster")!;
  const cluster = (kafka as any)[createCluster]({ metadataMaxAge: 300000, allowAutoTopicCreation: false, maxInFlightRequests: null, isolationLevel: 1 });
  await cluster.connect();
  try {
    await cluster.addTargetTopic(topic);
    await cluster.refreshMetadata();
    const leader = cluster.findTopicPartitionMetadata(topic).find((partition: any) => partition.partitionId === 0).leader;
    const broker = await cluster.findBroker({ nodeId: String(leader) });
    const end = server.broker.topics.get(topic)!.partitions[0]!.logEndOffset;
    const received: { key: string; value: string }[] = [];
    let offset = 0;
    for (let round = 0; round < 100 && offset < end; round++) {
      const response = await broker.fetch({
        replicaId: -1,
        isolationLevel: 1,
        maxWaitTime: 50,
        minBytes: 1,
        maxBytes: 1 << 20,
        topics: [{ topic, partitions: [{ partition: 0, fetchOffset: String(offset), maxBytes: 1 << 20 }] }],
      });
      const data = response.responses[0].partitions[0];
      expect(data.errorCode).toBe(0);
      for (const message of data.messages) {
        if (Number(message.offset) < offset) continue;
        received.push({ key: message.key?.toString() ?? "", value: message.value.toString() });
        offset = Number(message.offset) + 1;
      }
    }
    return received;
  } finally {
    await cluster.disconnect();
  }
}

/** Compressible records: librdkafka sends a batch uncompressed when compression would not shrink it. */
function recordsFor(codec: Codec, source: string): { key: string; value: string }[] {
  return Array.from({ length: 40 }, (_, i) => ({ key: `${source}-${i}`, value: `${codec} value ${i} ${"abcdefgh".repeat(24)}` }));
}

if (!KCAT) console.log("SKIPPED: kafkajs codec plugins × kcat: kcat is not installed (npm run setup installs it)");
describe.skipIf(!KCAT)("kafkajs codec plugins × kcat", () => {
  for (const codec of CODECS) {
    const reason = skipReasons.get(codec)!;
    if (reason !== null) {
      console.log(`SKIPPED: kafkajs ${codec} plugin: ${reason}`);
      test.skip(`${codec}: ${reason}`, () => {});
      continue;
    }

    test(`${codec}: kafkajs compresses, kgate stores it as produced, kcat and kafkajs read it`, async () => {
      const topic = `kafkajs-${codec}`;
      const records = recordsFor(codec, "kafkajs");
      const producer = kafka.producer();
      await producer.connect();
      try {
        // Two sends: two batches, each compressed on its own.
        await producer.send({ topic, compression: KAFKAJS_TYPE[codec], messages: records.slice(0, 20) });
        await producer.send({ topic, compression: KAFKAJS_TYPE[codec], messages: records.slice(20) });
      } finally {
        await producer.disconnect();
      }
      expect(storedCodecs(topic)).toEqual([Compression[codec], Compression[codec]]);
      const consumed = await kcat(["-C", "-t", topic, "-p", "0", "-o", "beginning", "-e", "-q", "-f", "%k %s\\n"]);
      expect(consumed.trim().split("\n")).toEqual(records.map(({ key, value }) => `${key} ${value}`));
      expect(await kafkajsRead(topic)).toEqual(records);
    }, 60_000);

    test(`${codec}: kcat -z ${codec} compresses, kafkajs decompresses`, async () => {
      const topic = `kcat-to-kafkajs-${codec}`;
      const records = recordsFor(codec, "kcat");
      await kcat(["-P", "-t", topic, "-p", "0", "-z", codec, "-K", "\t"], records.map(({ key, value }) => `${key}\t${value}`).join("\n") + "\n");
      const stored = storedCodecs(topic);
      expect(stored.length).toBeGreaterThan(0);
      // librdkafka ties LZ4 to FindCoordinator v0 support (rdkafka_feature.c): without it, it sends lz4 uncompressed.
      const expected = codec === "lz4" && !handlerFor(10) ? Compression.none : Compression[codec];
      expect(stored).toEqual(stored.map(() => expected));
      expect(await kafkajsRead(topic)).toEqual(records);
    }, 60_000);
  }
});
