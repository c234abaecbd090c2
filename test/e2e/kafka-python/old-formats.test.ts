// The old message formats with a real client: kafka-python 2.0.2 (Debian) pinned to api_version 0.8.2 (Produce v0,
// Fetch v0: magic 0) and 0.10.1 (Produce v2, Fetch v3: magic 1), uncompressed and gzip (its only codec without
// extra Python modules). The gateway converts the message sets to record batches v2 on the way in and back on the way
// out; kcat (librdkafka, Fetch v11) reads the converted batches, and kafka-python at magic 0 reads what kcat wrote.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { startTestServer, type TestServer } from "../../helpers/server.ts";

const PYTHON = "/usr/bin/python3";
const CLIENT = join(import.meta.dir, "client.py");
const KCAT = Bun.which("kcat");
const available = Bun.spawnSync([PYTHON, "-c", "import kafka"]).exitCode === 0;
const COUNT = 30;

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.[Symbol.asyncDispose]();
});

interface Consumed {
  offset: number;
  key: string | null;
  value: string;
  timestamp: number;
}

async function run(command: string[], input?: string): Promise<string> {
  const child = Bun.spawn(command, { stdin: input === undefined ? "ignore" : new TextEncoder().encode(input), stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => child.kill(9), 40_000);
  const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${command.join(" ")} exited ${code}: ${err}`);
  return out;
}

async function kafkaPython(api: string, codec: string, topic: string, consumeOnly = false): Promise<Consumed[]> {
  const out = await run([PYTHON, CLIENT, String(server.port), api, codec, topic, String(COUNT), ...(consumeOnly ? ["consume-only"] : [])]);
  return out.trim().split("\n").filter(Boolean).map((line) => JSON.parse(line) as Consumed);
}

if (!available) console.log("SKIPPED: kafka-python with old message formats: python3-kafka is not installed (npm run setup installs it)");
else if (!KCAT) console.log("SKIPPED: kcat's gzip batches for kafka-python 0.8.2: kcat is not installed (npm run setup installs it)");
describe.skipIf(!available)("kafka-python with old message formats", () => {
  for (const [api, magic] of [["0.8.2", 0], ["0.10.1", 1]] as const) {
    for (const codec of ["none", "gzip"]) {
      test(`api_version ${api} (magic ${magic}), ${codec}: produced, stored as batches v2, consumed back`, async () => {
        const topic = `legacy-${api}-${codec}`;
        const before = Date.now();
        const consumed = await kafkaPython(api, codec, topic);
        expect(consumed.map((record) => [record.offset, record.key, record.value])).toEqual(
          Array.from({ length: COUNT }, (_, i) => [i, `k${i}`, `${topic} value ${i} `.repeat(4)]),
        );
        for (const record of consumed) {
          if (magic === 0) expect(record.timestamp).toBeNull();
          else expect(record.timestamp).toBeGreaterThanOrEqual(before - 1000);
        }
        const log = server.broker.topics.get(topic)!.partitions[0]!;
        const batches = log.read(0, 1 << 30, true).batches;
        expect(batches.every((batch) => batch[16] === 2)).toBe(true); // the log holds record batches v2 only
        expect(batches.every((batch) => (batch[22]! & 0x07) === (codec === "gzip" ? 1 : 0))).toBe(true);

        if (KCAT) {
          const modern = await run([KCAT, "-b", server.bootstrap, "-C", "-t", topic, "-p", "0", "-o", "beginning", "-e", "-q", "-f", "%o %k\\n"]);
          expect(modern.trim().split("\n")).toEqual(Array.from({ length: COUNT }, (_, i) => `${i} k${i}`));
        }
      }, 60_000);
    }
  }

  test.skipIf(!KCAT)("kcat's gzip batches down-converted to magic 0 for kafka-python 0.8.2", async () => {
    const topic = "modern-to-magic-0";
    const lines = Array.from({ length: COUNT }, (_, i) => `modern ${i} ${"xyz".repeat(30)}`);
    await run([KCAT!, "-b", server.bootstrap, "-P", "-t", topic, "-p", "0", "-z", "gzip"], lines.join("\n") + "\n");
    const consumed = await kafkaPython("0.8.2", "none", topic, true);
    expect(consumed.map((record) => record.value)).toEqual(lines);
    expect(consumed.map((record) => record.offset)).toEqual(lines.map((_, i) => i));
  }, 60_000);
});
