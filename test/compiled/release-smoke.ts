// Smoke test of release executables, with kcat (librdkafka) as the client: --version, --help, start on an empty data
// folder, produce a batch in each codec (librdkafka compresses; the gateway validates and stores it, so snappy and lz4
// run through the target's embedded addons), consume everything back, stop with SIGTERM, restart on the same folder,
// consume again, and check that a second gateway on the folder is refused (the flock in src/util/libc.ts) and that
// READY=1 reaches a fake systemd notify socket (sd_notify through libc, src/util/sd-notify.ts).
//
//   bun test/compiled/release-smoke.ts [dist/release/kgate-*.tar.gz ...]   (default: every archive in dist/release)
//
// Foreign targets run under qemu-user (Debian's qemu-user-static). musl targets need the musl loader (Debian's musl)
// and the libstdc++ of a musl system (Alpine's libstdc++ package), which Debian lacks: `bash test/compiled/release-tools.sh`
// installs the rest and links one into dist/musl-libstdcxx/ (KGATE_MUSL_LIBRARY_PATH_X64 / _ARM64 name another
// folder); without it those targets are reported as not run.

import { spawn, spawnSync } from "bun";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { runnerOnThisMachine, type Runner } from "../../build.ts";
import { fakeNotifySocket, fakeNotifySocketAvailable } from "../helpers/fake-notify-socket.ts";

const CODECS = ["none", "gzip", "snappy", "lz4", "zstd"] as const;

function kcat(args: string[], input?: string): string {
  const result = spawnSync(["kcat", "-X", "broker.address.family=v4", ...args], { stdin: input === undefined ? "ignore" : new TextEncoder().encode(input), stdout: "pipe", stderr: "pipe", timeout: 60_000 });
  if (result.exitCode !== 0) throw new Error(`kcat ${args.join(" ")} exited ${result.exitCode}: ${result.stderr.toString()}`);
  return result.stdout.toString();
}

async function startGateway(command: string[], env: Record<string, string>, timeoutMs: number) {
  const child = spawn(command, { env: { ...process.env, ...env }, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  let logged = "";
  const decoder = new TextDecoder();
  const pumped = Promise.all(
    [child.stdout, child.stderr].map(async (stream) => {
      for await (const chunk of stream) logged += decoder.decode(chunk);
    }),
  );
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = /kafka listener up listen=[^\s]*:(\d+)/.exec(logged);
    if (match) return { child, port: Number(match[1]), output: () => logged, pumped };
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill(9);
      await pumped;
      throw new Error(`gateway did not start (exit ${child.exitCode}):\n${logged}`);
    }
    await Bun.sleep(20);
  }
}

/** Runs the smoke test on one executable; returns lines describing what it checked. Throws on a failure. */
export async function smokeTest(executable: string, runner: Runner, { timeoutMs = 120_000 } = {}): Promise<string[]> {
  const report: string[] = [];
  const run = (args: string[]) => spawnSync([...runner.prefix, executable, ...args], { env: { ...process.env, ...runner.env }, stdout: "pipe", stderr: "pipe", timeout: timeoutMs });
  const version = run(["--version"]);
  if (version.exitCode !== 0) throw new Error(`--version exited ${version.exitCode}: ${version.stderr.toString()}`);
  report.push(`--version: ${version.stdout.toString().trim()}`);
  const help = run(["--help"]).stdout.toString();
  if (!help.includes("--listen") || !help.includes("--config")) throw new Error(`--help printed ${help.slice(0, 200)}`);
  report.push("--help: lists the options");

  const data = mkdtempSync(join(tmpdir(), "kgate-release-smoke-"));
  const notifyPath = `${data}.notify`;
  const command = [...runner.prefix, executable, "--data", data, "--listen", "127.0.0.1:0", "--registry-listen", "off"];
  /** What to end if a check fails half-way: the gateway running and the fake notify socket. */
  const running: { kill(): void }[] = [];
  try {
    const notifySocket = fakeNotifySocketAvailable ? await fakeNotifySocket(notifyPath) : null;
    if (notifySocket) running.push({ kill: () => notifySocket[Symbol.dispose]() });
    let started = Date.now();
    let gateway = await startGateway(command, { ...runner.env, ...(notifySocket ? { NOTIFY_SOCKET: notifyPath } : {}) }, timeoutMs);
    running.push(gateway.child);
    report.push(`started on an empty data folder in ${Date.now() - started} ms`);
    if (notifySocket) {
      await notifySocket.received("READY=1");
      report.push("told systemd READY=1 (a fake notify socket)");
    }
    const bootstrap = `127.0.0.1:${gateway.port}`;
    const expected: string[] = [];
    for (const codec of CODECS) {
      const values = Array.from({ length: 50 }, (_, i) => `${codec}-${i} ${"repetitive payload ".repeat(8)}`);
      kcat(["-b", bootstrap, "-P", "-t", `smoke-${codec}`, "-z", codec, "-X", "linger.ms=50"], values.join("\n") + "\n");
      expected.push(...values);
    }
    const consumeAll = () =>
      CODECS.flatMap((codec) => kcat(["-b", bootstrap, "-C", "-t", `smoke-${codec}`, "-o", "beginning", "-e", "-q"]).split("\n").filter((line) => line !== ""));
    const first = consumeAll();
    if (JSON.stringify(first) !== JSON.stringify(expected)) throw new Error(`consumed ${first.length} records, expected ${expected.length}`);
    report.push(`produced and consumed ${expected.length} records in ${CODECS.join(", ")}`);

    const second = spawnSync(command, { env: { ...process.env, ...runner.env }, stdout: "pipe", stderr: "pipe", timeout: timeoutMs });
    const refusal = second.stderr.toString() + second.stdout.toString();
    if (second.exitCode === 0 || !/lock|in use|held/i.test(refusal)) throw new Error(`a second gateway on the folder exited ${second.exitCode}: ${refusal}`);
    report.push(`a second gateway on the folder is refused: ${refusal.trim().split("\n").at(-1)}`);

    gateway.child.kill("SIGTERM");
    const code = await gateway.child.exited;
    await gateway.pumped;
    if (code !== 0 || !gateway.output().includes("shutting down")) throw new Error(`SIGTERM: exit ${code}\n${gateway.output()}`);
    // The batches were stored as produced, compressed: the gateway's validation expanded each (snappy and lz4 through
    // the embedded addons). Attributes: the int16 at byte 21 of a batch; its low 3 bits are the codec.
    for (const [id, codec] of CODECS.entries()) {
      const segment = readFileSync(join(data, `smoke-${codec}-0`, "00000000000000000000.log"));
      if ((segment[22]! & 0x07) !== id) throw new Error(`smoke-${codec}: the first batch is stored with codec ${segment[22]! & 0x07}, not ${id}`);
    }
    report.push("every topic's batches are stored compressed with its codec");
    started = Date.now();
    gateway = await startGateway(command, runner.env, timeoutMs);
    running.push(gateway.child);
    report.push(`stopped with SIGTERM, restarted on the folder in ${Date.now() - started} ms`);
    // The restarted gateway listens on a new port.
    const again = CODECS.flatMap((codec) => kcat(["-b", `127.0.0.1:${gateway.port}`, "-C", "-t", `smoke-${codec}`, "-o", "beginning", "-e", "-q"]).split("\n").filter((line) => line !== ""));
    if (JSON.stringify(again) !== JSON.stringify(expected)) throw new Error(`after the restart consumed ${again.length} records, expected ${expected.length}`);
    report.push(`after the restart consumed the ${again.length} records again`);
    gateway.child.kill("SIGTERM");
    await gateway.child.exited;
    await gateway.pumped;
  } finally {
    for (const child of running) child.kill();
    rmSync(data, { recursive: true, force: true });
    rmSync(notifyPath, { force: true });
  }
  return report;
}

if (import.meta.main) {
  const releaseDir = join(import.meta.dir, "../../dist/release");
  const archives = process.argv.length > 2 ? process.argv.slice(2) : readdirSync(releaseDir).filter((file) => file.endsWith(".tar.gz")).map((file) => join(releaseDir, file));
  let failed = 0;
  for (const archive of archives) {
    const name = basename(archive, ".tar.gz");
    const runner = runnerOnThisMachine(name);
    if (typeof runner === "string") {
      console.log(`${name}: NOT RUN: ${runner}`);
      continue;
    }
    const folder = mkdtempSync(join(tmpdir(), "kgate-release-"));
    try {
      spawnSync(["tar", "-xzf", archive, "-C", folder]);
      const lines = await smokeTest(join(folder, name, "kgate"), runner);
      console.log(`${name}${runner.prefix.length ? " (under qemu)" : ""}:\n  ${lines.join("\n  ")}`);
    } catch (error) {
      failed++;
      console.log(`${name}: FAILED: ${(error as Error).message}`);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  }
  process.exit(failed === 0 ? 0 : 1);
}
