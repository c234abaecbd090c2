// librdkafka idempotent and transactional producers and read_committed consumers through Debian's
// python3-confluent-kafka (see transactions_scenario.py). Skips when the package is not installed.

import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { startTestServer } from "../../helpers/server.ts";

const python = "/usr/bin/python3";
const installed = Bun.spawnSync([python, "-c", "import confluent_kafka"]).exitCode === 0;
const script = join(import.meta.dir, "transactions_scenario.py");

if (!installed) console.log("SKIPPED: confluent-kafka-python idempotence and transactions: python3-confluent-kafka is not installed (npm run setup installs it)");
describe.skipIf(!installed)("confluent-kafka-python idempotence and transactions", () => {
  test("idempotent producer, commit/abort/commit with offsets, read_committed, fencing", async () => {
    await using server = await startTestServer();
    server.broker.groups.settings.initialRebalanceDelayMs = 0;
    const run = Bun.spawn([python, script, server.bootstrap, "ckp-txn"], { stdout: "pipe", stderr: "pipe" });
    const timer = setTimeout(() => run.kill(9), 120_000);
    const [exitCode, stdout, stderr] = await Promise.all([run.exited, new Response(run.stdout).text(), new Response(run.stderr).text()]);
    clearTimeout(timer);
    const lastLine = stdout.trim().split("\n").at(-1) ?? "";
    if (exitCode !== 0) console.error(`exit ${exitCode}: ${lastLine}\n${stderr.slice(-3000)}`);
    expect(lastLine).toStartWith("{");
    expect(JSON.parse(lastLine)).toEqual({ ok: true, idempotent: 1000, committed: 20, everything: 30, groupOffset: 500 });
  }, 130_000);
});
