// Log compaction seen by real clients, on both logs: kafkajs creates a compacted topic with CreateTopics configs and
// produces keyed records (a keyless one is refused with INVALID_RECORD, as Kafka does), kcat adds a tombstone
// (-Z: empty value sent as null), the background cleaner runs, and consumers from the beginning (kcat, and kafkajs's
// group consumer) see only the latest value of each key, at its original offset, and no tombstone once
// delete.retention.ms has passed.

import { describe, expect, test } from "bun:test";
import { Kafka, logLevel } from "kafkajs";
import { bothStores, startTestServer, waitFor, type TestServer } from "../../helpers/server.ts";

const KCAT = Bun.which("kcat");
const TOPIC = "compacted-e2e";

async function kcat(server: TestServer, args: string[], input?: string): Promise<string> {
  const child = Bun.spawn([KCAT!, "-b", server.bootstrap, ...args], { stdin: input === undefined ? "ignore" : new TextEncoder().encode(input), stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => child.kill(9), 20_000);
  const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(timer);
  if (code !== 0) throw new Error(`kcat ${args.join(" ")} exited ${code}: ${err}`);
  return out;
}

const expected = [...Array.from({ length: 9 }, (_, index) => `${21 + index} k${index + 1} r2`), "31 end 1"];

if (!KCAT) console.log("SKIPPED: compaction with kafkajs and kcat: kcat is not installed (npm run setup installs it)");
for (const store of bothStores) {
  describe.skipIf(!KCAT)(`compaction with kafkajs and kcat (${store} log)`, () => {
    test("consumers from the beginning see the latest value of each key at its original offset", async () => {
      await using server = await startTestServer({ store, logCleanerIntervalMs: 50 });
      const kafka = new Kafka({ clientId: "compaction-e2e", brokers: [server.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({
        topics: [
          {
            topic: TOPIC,
            numPartitions: 1,
            configEntries: [
              { name: "cleanup.policy", value: "compact" },
              // One batch per segment, so every batch but the last is cleanable; any dirt calls for a pass.
              { name: "segment.bytes", value: "1" },
              { name: "min.cleanable.dirty.ratio", value: "0.01" },
              { name: "delete.retention.ms", value: "0" },
            ],
          },
        ],
      });
      const described = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: 2, name: TOPIC, configNames: ["cleanup.policy"] }] });
      expect(described.resources[0]!.configEntries[0]!.configValue).toBe("compact");
      await admin.disconnect();

      const producer = kafka.producer();
      await producer.connect();
      await expect(producer.send({ topic: TOPIC, acks: -1, messages: [{ value: "no key" }] })).rejects.toMatchObject({ type: "INVALID_RECORD" });
      for (let round = 0; round < 3; round++) {
        await producer.send({ topic: TOPIC, acks: -1, messages: Array.from({ length: 10 }, (_, key) => ({ key: `k${key}`, value: `r${round}` })) });
      }
      // A tombstone for k0 from librdkafka, then one more record so that the tombstone's segment is not the active one.
      await kcat(server, ["-P", "-t", TOPIC, "-p", "0", "-K", ":", "-Z"], "k0:\n");
      await producer.send({ topic: TOPIC, acks: -1, messages: [{ key: "end", value: "1" }] });
      await producer.disconnect();

      const log = server.broker.topics.get(TOPIC)!.partitions[0]!;
      expect(log.logEndOffset).toBe(32);
      // First pass: duplicates go and the tombstone gets its delete horizon; the next pass drops it.
      await waitFor(async () => (await kcat(server, ["-C", "-t", TOPIC, "-p", "0", "-o", "beginning", "-e", "-q", "-f", "%o %k %s\\n"])).trim().split("\n").length === 10, { timeoutMs: 30_000, intervalMs: 100 });
      const consumed = await kcat(server, ["-C", "-t", TOPIC, "-p", "0", "-o", "beginning", "-e", "-q", "-f", "%o %k %s\\n"]);
      expect(consumed.trim().split("\n")).toEqual(expected);
      expect([log.logStartOffset, log.logEndOffset]).toEqual([0, 32]);

      const consumer = kafka.consumer({ groupId: `compaction-${store}`, maxWaitTimeInMs: 100 });
      await consumer.connect();
      await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
      const seen: string[] = [];
      await consumer.run({
        eachMessage: async ({ message }) => {
          seen.push(`${message.offset} ${message.key?.toString()} ${message.value?.toString()}`);
        },
      });
      await waitFor(() => seen.length >= expected.length, { timeoutMs: 20_000 });
      await consumer.disconnect();
      expect(seen).toEqual(expected);
    }, 60_000);
  });
}
