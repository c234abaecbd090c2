// --log-format json end to end: the gateway process writes one JSON object per line (time, level, msg, fields),
// including the events a refused connection logs with its client address.

import { expect, test } from "bun:test";
import { join } from "node:path";

const repoRoot = join(import.meta.dir, "../../..");

test("kgate --log-format json writes one JSON object per line", async () => {
  const child = Bun.spawn(
    [process.execPath, "src/main.ts", "--memory", "--listen", "127.0.0.1:0", "--registry-listen", "off", "--log-format", "json", "--connections-max", "1"],
    { cwd: repoRoot, stdout: "pipe", stderr: "pipe", stdin: "ignore" },
  );
  let output = "";
  const decoder = new TextDecoder();
  void (async () => {
    for await (const chunk of child.stderr) output += decoder.decode(chunk);
  })();
  const entries = () => output.split("\n").filter((line) => line.length > 0).map((line) => JSON.parse(line) as Record<string, unknown>);
  try {
    const deadline = Date.now() + 10_000;
    while (!entries().some((entry) => entry.msg === "kafka listener up") && Date.now() < deadline) await Bun.sleep(20);
    const up = entries().find((entry) => entry.msg === "kafka listener up")!;
    const listen = String(up.listen);
    expect(listen).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(up.level).toBe("info");
    expect(Number.isNaN(Date.parse(up.time as string))).toBe(false);
    const port = Number(listen.split(":")[1]);

    // A second connection is over --connections-max 1: a warn event naming the client and the limit.
    const first = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
    await Bun.sleep(50);
    const second = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
    while (!entries().some((entry) => entry.msg === "refusing connection: limit reached") && Date.now() < deadline) await Bun.sleep(20);
    expect(entries().find((entry) => entry.msg === "refusing connection: limit reached")).toMatchObject({
      level: "warn",
      client: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
      limit: "connectionsMax",
      max: 1,
    });
    first.end();
    second.end();
  } finally {
    child.kill("SIGTERM");
    await child.exited;
  }
  // Every line, the shutdown ones included, is JSON.
  expect(entries().some((entry) => entry.msg === "shutting down")).toBe(true);
});
