// The compiled executable on its own: built by build.ts, run from an empty folder with nothing beside it, serving
// kafkajs, and shutting down cleanly on SIGTERM.

import { expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { ensureBinary, startGatewayProcess } from "../helpers/gateway-process.ts";

test("dist/kgate starts from an empty folder, serves kafkajs, and stops on SIGTERM", async () => {
  const binary = await ensureBinary();
  const folder = mkdtempSync(join(tmpdir(), "kgate-binary-"));
  try {
    expect(readdirSync(folder)).toEqual([]);
    await using gateway = await startGatewayProcess([binary, "--memory"], { cwd: folder });
    const kafka = new Kafka({ clientId: "binary-test", brokers: [gateway.bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: "from-binary", numPartitions: 2 }] });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: "from-binary", acks: -1, messages: Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })) });
    await producer.disconnect();
    const offsets = await admin.fetchTopicOffsets("from-binary");
    expect(offsets.reduce((sum, partition) => sum + Number(partition.high), 0)).toBe(20);
    await admin.disconnect();

    gateway.process.kill("SIGTERM");
    expect(await gateway.finished()).toBe(0);
    expect(gateway.output()).toContain("shutting down");
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}, 60_000);

test("--help lists every option with its environment variable and default", async () => {
  const binary = await ensureBinary();
  const help = Bun.spawnSync([binary, "--help"]).stdout.toString();
  for (const option of ["--listen", "--advertise", "--data", "--memory", "--node-id", "--default-partitions", "--log-level"]) {
    expect(help).toContain(option);
  }
  expect(help).toContain("KGATE_LISTEN");
  expect(help).toContain("default: 0.0.0.0:9092");
});
