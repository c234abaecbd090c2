// --log-format json end to end: the gateway process writes one JSON object per line (time, level, msg, fields),
// including the events a refused connection logs with its client address.

import { expect, test } from "bun:test";
import { join } from "node:path";
import { waitFor } from "../../helpers/server.ts";

const repoRoot = join(import.meta.dir, "../../..");

test("kgate --log-format json writes one JSON object per line", async () => {
  const child = Bun.spawn(
    [process.execPath, "src/main.ts", "--memory", "--listen", "127.0.0.1:0", "--registry-listen", "off", "--log-format", "json", "--connections-max", "1"],
    { cwd: repoRoot, stdout: "pipe", stderr: "pipe", stdin: "ignore" },
  );
  let output = "";
  const decoder = new TextDecoder();
  const pumped = (async () => {
    for await (const chunk of child.stderr) output += decoder.decode(chunk);
  })();
  // Whole lines only: a chunk may end inside a line, whose rest is still on its way.
  const entries = () => output.slice(0, output.lastIndexOf("\n") + 1).split("\n").filter((line) => line.length > 0).map((line) => JSON.parse(line) as Record<string, unknown>);
  try {
    await waitFor(() => entries().some((entry) => entry.msg === "kafka listener up"), { timeoutMs: 30_000 });
    const up = entries().find((entry) => entry.msg === "kafka listener up")!;
    const listen = String(up.listen);
    expect(listen).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(up.level).toBe("info");
    expect(Number.isNaN(Date.parse(up.time as string))).toBe(false);
    const port = Number(listen.split(":")[1]);

    // A second connection is over --connections-max 1: a warn event naming the client and the limit.
    const first = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
    const second = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
    await waitFor(() => entries().some((entry) => entry.msg === "refusing connection: limit reached"), { timeoutMs: 10_000 });
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
    // What it wrote last may still be in the pipe when it exits.
    await pumped;
  }
  // Every line, the shutdown ones included, is JSON.
  expect(entries().some((entry) => entry.msg === "shutting down")).toBe(true);
}, 60_000);
