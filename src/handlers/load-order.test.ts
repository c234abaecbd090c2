// Every handler module loads on its own, first, in a fresh process: an import cycle through the registry shows up as
// "Cannot access '...' before initialization" only when a module other than the registry is loaded first (as a
// test or an embedding application may do).

import { expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";

const handlerModules = readdirSync(import.meta.dir).filter((name) => name.endsWith(".ts") && !name.endsWith(".test.ts"));

test("each handler module can be the first one loaded", async () => {
  expect(handlerModules.length).toBeGreaterThan(40);
  const failures: string[] = [];
  // A few processes at a time: each is a fresh module cache.
  for (let at = 0; at < handlerModules.length; at += 8) {
    const runs = handlerModules.slice(at, at + 8).map(async (name) => {
      const script = `await import(${JSON.stringify(join(import.meta.dir, name))}); const r = await import(${JSON.stringify(join(import.meta.dir, "registry.ts"))}); if (!r.handlerFor(18) || r.supportedApiKeys().length < 40) throw new Error("registry incomplete");`;
      const child = Bun.spawn([process.execPath, "-e", script], { stdout: "pipe", stderr: "pipe" });
      const [code, stderr] = await Promise.all([child.exited, new Response(child.stderr).text()]);
      if (code !== 0) failures.push(`${name}: ${stderr.split("\n").find((line) => /Error/.test(line)) ?? stderr.slice(-300)}`);
    });
    await Promise.all(runs);
  }
  expect(failures).toEqual([]);
}, 60_000);

// The configuration modules (read before anything else by main.ts) and the library entry: each loaded first, then the
// command line parsed with a config file's broker-wide default, which evaluates every table built at load.
const configurationModules = ["../config.ts", "../config-file.ts", "../metadata/topic-configs.ts", "../kgate.ts"];

test("the configuration modules and the library entry can each be the first one loaded", async () => {
  const failures: string[] = [];
  await Promise.all(
    configurationModules.map(async (path) => {
      const script = [
        `await import(${JSON.stringify(join(import.meta.dir, path))});`,
        `const { parseConfig } = await import(${JSON.stringify(join(import.meta.dir, "../config.ts"))});`,
        `const { validateTopicConfigDefaults } = await import(${JSON.stringify(join(import.meta.dir, "../kgate.ts"))});`,
        `const file = require("node:os").tmpdir() + "/kgate-load-order-" + process.pid + ".properties";`,
        `require("node:fs").writeFileSync(file, "message.max.bytes=2000000\\n");`,
        `validateTopicConfigDefaults(parseConfig(["--config", file, "--memory"], {}));`,
        `require("node:fs").rmSync(file);`,
      ].join("\n");
      const child = Bun.spawn([process.execPath, "-e", script], { stdout: "pipe", stderr: "pipe" });
      const [code, stderr] = await Promise.all([child.exited, new Response(child.stderr).text()]);
      if (code !== 0) failures.push(`${path}: ${stderr.split("\n").find((line) => /Error/.test(line)) ?? stderr.slice(-300)}`);
    }),
  );
  expect(failures).toEqual([]);
}, 60_000);
