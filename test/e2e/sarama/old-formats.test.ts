// Sarama 1.22 (Debian's golang-github-shopify-sarama-dev, built with Debian's Go in GOPATH mode): its default config
// speaks Produce v0 and Fetch v0 (message format magic 0), `Version = V0_10_2_0` Produce v2 and Fetch v3 (magic 1).
// Each produces compressed message sets that the gateway converts to record batches v2 in the same codec, and
// consumes them back down-converted.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTestServer, type TestServer } from "../../helpers/server.ts";
import { Compression } from "../../../src/protocol/records/record-batch.ts";

const GO = Bun.which("go");
const GOPATH = "/usr/share/gocode";
const available = GO !== null && existsSync(join(GOPATH, "src/github.com/Shopify/sarama"));
const COUNT = 20;

let server: TestServer;
let folder: string;
let client: string;

beforeAll(async () => {
  server = await startTestServer();
  if (!available) return;
  folder = mkdtempSync(join(tmpdir(), "kgate-sarama-"));
  client = join(folder, "sarama-client");
  const build = Bun.spawn([GO!, "build", "-o", client, "."], {
    cwd: join(import.meta.dir, "client"),
    env: { ...process.env, GOPATH, GO111MODULE: "off", GOFLAGS: "", GOCACHE: join(tmpdir(), "kgate-sarama-gocache") },
    stdout: "pipe",
    stderr: "pipe",
  });
  if ((await build.exited) !== 0) throw new Error(`go build failed: ${await new Response(build.stderr).text()}`);
}, 120_000);
afterAll(async () => {
  await server?.[Symbol.asyncDispose]();
  if (folder) rmSync(folder, { recursive: true, force: true });
});

if (!available) console.log(`SKIPPED: Sarama 1.22: ${GO === null ? "golang-go" : "golang-github-shopify-sarama-dev"} is not installed (npm run setup installs it)`);
describe.skipIf(!available)("Sarama 1.22", () => {
  const cases = [
    ["default", "none"],
    ["default", "gzip"],
    ["default", "snappy"],
    ["0.10.2", "gzip"],
    ["0.10.2", "snappy"],
    ["0.10.2", "lz4"],
  ] as const;
  for (const [version, codec] of cases) {
    test(`${version === "default" ? "default config (magic 0)" : "V0_10_2_0 (magic 1)"}, ${codec}`, async () => {
      const topic = `sarama-${version}-${codec}`;
      const child = Bun.spawn([client, server.bootstrap, topic, version, codec, String(COUNT)], { stdout: "pipe", stderr: "pipe" });
      const timer = setTimeout(() => child.kill(9), 40_000);
      const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
      clearTimeout(timer);
      expect([code, err]).toEqual([0, ""]);
      expect(out.split("\n").filter(Boolean)).toEqual(Array.from({ length: COUNT }, (_, i) => `${i} k${i} sarama ${codec} ${i} ${"payload ".repeat(8)}`));
      const batches = server.broker.topics.get(topic)!.partitions[0]!.read(0, 1 << 30, true).batches;
      expect(batches.every((batch) => batch[16] === 2 && (batch[22]! & 0x07) === Compression[codec])).toBe(true);
    }, 60_000);
  }
});
