// The files every release archive ships beside the executable (build.ts): the example config must parse with the
// real parser, and the service unit must start kgate with flags that exist, on that config and its data folder.

import { expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { options, parseConfig } from "../config.ts";

const examplePath = join(import.meta.dir, "server.properties");
const unitPath = join(import.meta.dir, "kgate.service");
const unit = readFileSync(unitPath, "utf8");

/** The unit's settings as key → values (a key may repeat). */
function unitSettings(text: string): Map<string, string[]> {
  const settings = new Map<string, string[]>();
  for (const line of text.split("\n")) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (match) settings.set(match[1]!, [...(settings.get(match[1]!) ?? []), match[2]!]);
  }
  return settings;
}

test("the example server.properties parses with the real parser, every key meaning something", () => {
  const config = parseConfig(["--config", examplePath], {})!;
  expect(config.dataDir).toBe("/var/lib/kgate");
  expect(config.security!.listeners!.map((listener) => `${listener.securityProtocol}://${listener.host}:${listener.port}`)).toEqual(["PLAINTEXT://0.0.0.0:9092"]);
  expect(config.flush).toEqual({ mode: "always" });
  expect(config.defaultPartitions).toBe(1);
  expect(config.registryListen).toEqual({ host: "0.0.0.0", port: 8081 });
  expect(config.topicConfigDefaults!.get("retention.ms")).toBe(String(168 * 3_600_000));
  expect(config.ignoredConfigKeys).toEqual([]);
});

test("the unit's ExecStart runs kgate with existing flags on the example config, and its sandbox lets it write the data folder", () => {
  const settings = unitSettings(unit);
  const [execStart] = settings.get("ExecStart")!;
  const [binary, ...args] = execStart!.split(/\s+/);
  expect(binary).toBe("/usr/local/bin/kgate");
  const flags = new Set(options.map((option) => option.flag));
  for (const arg of args.filter((arg) => arg.startsWith("--"))) expect(flags).toContain(arg);
  expect(args).toEqual(["--config", "/etc/kgate/server.properties"]);
  // The unit's flags parse (the file named is the example's, installed elsewhere).
  expect(parseConfig(args.map((arg) => (arg === "/etc/kgate/server.properties" ? examplePath : arg)), {})).not.toBeNull();

  const dataDir = parseConfig(["--config", examplePath], {})!.dataDir!;
  expect(settings.get("StateDirectory")).toEqual(["kgate"]);
  expect(`/var/lib/${settings.get("StateDirectory")![0]}`).toBe(dataDir);
  expect(settings.get("ReadWritePaths")).toEqual([dataDir]);
  expect(settings.get("ProtectSystem")).toEqual(["strict"]);
  // Bun writes the embedded addons to /tmp before loading them: under ProtectSystem=strict only a private /tmp is writable.
  expect(settings.get("PrivateTmp")).toEqual(["yes"]);
  expect(settings.get("NoNewPrivileges")).toEqual(["yes"]);
  expect(settings.get("Restart")).toEqual(["on-failure"]);
  // READY=1 comes from src/util/sd-notify.ts, sent by the main process (main.ts).
  expect(settings.get("Type")).toEqual(["notify"]);
  expect(settings.get("NotifyAccess")).toEqual(["main"]);
  expect(settings.get("LimitNOFILE")).toEqual(["65536"]);
  // JavaScriptCore's JIT needs writable executable memory.
  expect(settings.has("MemoryDenyWriteExecute")).toBe(false);
});

const systemdAnalyze = Bun.which("systemd-analyze");
if (!systemdAnalyze) console.log("SKIPPED: systemd-analyze verify of kgate.service: systemd-analyze is not installed");
test.skipIf(!systemdAnalyze)("systemd-analyze verify accepts the unit without a warning", () => {
  // verify checks that ExecStart's program exists: point it at an executable this machine has.
  const folder = mkdtempSync(join(tmpdir(), "kgate-unit-"));
  try {
    const copy = join(folder, "kgate.service");
    writeFileSync(copy, unit.replace("ExecStart=/usr/local/bin/kgate ", `ExecStart=${process.execPath} `));
    const result = Bun.spawnSync([systemdAnalyze!, "verify", copy], { stdout: "pipe", stderr: "pipe" });
    expect(result.stderr.toString() + result.stdout.toString()).toBe("");
    expect(result.exitCode).toBe(0);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});
