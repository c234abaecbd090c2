// librdkafka consumer groups through Debian's python3-confluent-kafka (run by /usr/bin/python3, which sees Debian's
// Python packages): range, roundrobin and cooperative-sticky assignment, a clean leave and a silent death.
// Skips when the package is not installed (`npm run setup` installs it).

import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { startTestServer } from "../../helpers/server.ts";

const python = "/usr/bin/python3";
const installed = Bun.spawnSync([python, "-c", "import confluent_kafka"]).exitCode === 0;
const script = join(import.meta.dir, "group_scenario.py");

if (!installed) console.log("SKIPPED: confluent-kafka-python consumer groups: python3-confluent-kafka is not installed (npm run setup installs it)");
describe.skipIf(!installed)("confluent-kafka-python consumer groups", () => {
  for (const strategy of ["range", "cooperative-sticky"]) {
    test(`${strategy}: three members, a clean leave and a silent death, nothing lost`, async () => {
      await using server = await startTestServer();
      const run = Bun.spawn([python, script, server.bootstrap, `ckp-${strategy}`, strategy], { stdout: "pipe", stderr: "pipe" });
      const timer = setTimeout(() => run.kill(9), 240_000);
      const [exitCode, stdout, stderr] = await Promise.all([run.exited, new Response(run.stdout).text(), new Response(run.stderr).text()]);
      clearTimeout(timer);
      const lastLine = stdout.trim().split("\n").at(-1) ?? "";
      if (exitCode !== 0) console.error(`exit ${exitCode}: ${lastLine}\n${stderr.slice(-2000)}`);
      expect(lastLine).toStartWith("{");
      const result = JSON.parse(lastLine);
      expect(result).toMatchObject({ ok: true, records: 1200 });
      // Only records the killed member consumed but had not committed may come again: at most one per partition.
      expect(result.duplicates).toBeLessThanOrEqual(6);
    }, 250_000);
  }
});
