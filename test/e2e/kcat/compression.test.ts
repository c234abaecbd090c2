// librdkafka (Debian's kcat 1.7 on librdkafka 2.0) producing with -z gzip|snappy|lz4|zstd and consuming back; what
// it compressed is stored as produced. Cross-client: @platformatic/kafka reads kcat's batches.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Consumer, stringDeserializers } from "@platformatic/kafka";
import { startTestServer, type TestServer } from "../../helpers/server.ts";
import { ATTRIBUTES_OFFSET, COMPRESSION_MASK, Compression } from "../../../src/protocol/records/record-batch.ts";
import { handlerFor } from "../../../src/handlers/registry.ts";

const KCAT = Bun.which("kcat");
const CODECS = ["gzip", "snappy", "lz4", "zstd"] as const;

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
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

if (!KCAT) console.log("SKIPPED: kcat compression: kcat is not installed (npm run setup installs it)");
describe.skipIf(!KCAT)("kcat (librdkafka)", () => {
  for (const codec of CODECS) {
    test(`-z ${codec}: produced compressed, stored as produced, consumed by kcat and @platformatic/kafka`, async () => {
      const topic = `kcat-${codec}`;
      // Compressible values: librdkafka sends a batch uncompressed when compression would not shrink it.
      const lines = Array.from({ length: 50 }, (_, i) => `${codec} line ${i} ${"abcdefgh".repeat(20)}`);
      await kcat(["-P", "-t", topic, "-p", "0", "-z", codec], lines.join("\n") + "\n");
      const log = server.broker.topics.get(topic)!.partitions[0]!;
      const stored = log.read(0, 1 << 30, true).batches.map((batch) => batch[ATTRIBUTES_OFFSET + 1]! & COMPRESSION_MASK);
      expect(stored.length).toBeGreaterThan(0);
      // librdkafka's feature detection ties LZ4 to FindCoordinator v0 (rdkafka_feature.c, RD_KAFKA_FEATURE_LZ4):
      // until the broker advertises it, librdkafka logs "Broker does not support compression type lz4" and sends
      // the batch uncompressed.
      const expected = codec === "lz4" && !handlerFor(10) ? Compression.none : Compression[codec];
      expect(stored).toEqual(stored.map(() => expected));

      const consumed = await kcat(["-C", "-t", topic, "-p", "0", "-o", "beginning", "-e", "-q", "-f", "%o %s\\n"]);
      expect(consumed.trim().split("\n")).toEqual(lines.map((line, i) => `${i} ${line}`));

      const consumer = new Consumer({ clientId: "kcat-cross", groupId: "unused", bootstrapBrokers: [server.bootstrap], deserializers: stringDeserializers });
      try {
        const topicId = (await consumer.metadata({ topics: [topic] })).topics.get(topic)!.id;
        const response = await consumer.fetch({
          node: 1,
          maxWaitTime: 100,
          minBytes: 1,
          maxBytes: 1 << 20,
          topics: [{ topicId, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, lastFetchedEpoch: -1 }] }],
        });
        const values = (response.responses[0]!.partitions[0]!.records ?? []).flatMap((batch) => batch.records.map((record) => record.value!.toString()));
        expect(values).toEqual(lines);
      } finally {
        await consumer.close();
      }
    }, 60_000);
  }
});
