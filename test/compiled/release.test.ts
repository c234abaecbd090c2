// `npm run release` (build.ts release) on the host's target only: building the four targets takes about a minute on
// the 2-core development machine and running the foreign ones under qemu another minute, so this test checks what is
// cheap and the same for every target (the archive's layout, SHA256SUMS, the README extract, --version) and runs the
// smoke test of test/compiled/release-smoke.ts on the host's executable. The other targets:
// `npm run release && bun test/compiled/release-smoke.ts` (README.md, Releases).

import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { archiveName, releaseTargets, runnerOnThisMachine, runningSection } from "../../build.ts";
import packageJson from "../../package.json" with { type: "json" };
import { smokeTest } from "./release-smoke.ts";

const repoRoot = join(import.meta.dir, "../..");
const host = releaseTargets.find((target) => target.name === (process.arch === "arm64" ? "linux-arm64" : "linux-x64"))!;
const name = archiveName(host);
let outDir = "";
let unpacked = "";

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), "kgate-release-out-"));
  const build = Bun.spawn([process.execPath, "build.ts", "release", "--out", outDir, host.name], { cwd: repoRoot, stdout: "pipe", stderr: "pipe" });
  if ((await build.exited) !== 0) throw new Error(`build.ts release failed: ${await new Response(build.stderr).text()}`);
  unpacked = mkdtempSync(join(tmpdir(), "kgate-release-unpacked-"));
  expect(Bun.spawnSync(["tar", "-xzf", join(outDir, `${name}.tar.gz`), "-C", unpacked]).exitCode).toBe(0);
}, 110_000);

afterAll(() => {
  for (const folder of [outDir, unpacked]) if (folder) rmSync(folder, { recursive: true, force: true });
});

test("the archive holds one folder: the executable, the README's Running section, the unit and the example config", () => {
  expect(readdirSync(outDir).sort()).toEqual(["SHA256SUMS", `${name}.tar.gz`]);
  expect(name).toBe(`kgate-${packageJson.version}-linux-${process.arch === "arm64" ? "arm64" : "x64"}`);
  expect(readdirSync(unpacked)).toEqual([name]);
  expect(readdirSync(join(unpacked, name)).sort()).toEqual(["README-running.txt", "kgate", "kgate.service", "server.properties"]);
  const running = readFileSync(join(unpacked, name, "README-running.txt"), "utf8");
  expect(running).toContain(runningSection(readFileSync(join(repoRoot, "README.md"), "utf8")));
  expect(running).toContain("--listen HOST:PORT");
  expect(readFileSync(join(unpacked, name, "kgate.service"), "utf8")).toBe(readFileSync(join(repoRoot, "src/release/kgate.service"), "utf8"));
  expect(readFileSync(join(unpacked, name, "server.properties"), "utf8")).toBe(readFileSync(join(repoRoot, "src/release/server.properties"), "utf8"));
});

test("SHA256SUMS holds the archive's digest in sha256sum's format", () => {
  const digest = new Bun.CryptoHasher("sha256").update(readFileSync(join(outDir, `${name}.tar.gz`))).digest("hex");
  expect(readFileSync(join(outDir, "SHA256SUMS"), "utf8")).toBe(`${digest}  ${name}.tar.gz\n`);
  const check = Bun.spawnSync(["sha256sum", "--check", "SHA256SUMS"], { cwd: outDir, stdout: "pipe" });
  expect(check.exitCode).toBe(0);
});

test("--version prints the version and the commit it was built from", () => {
  const printed = Bun.spawnSync([join(unpacked, name, "kgate"), "--version"]).stdout.toString();
  const commit = Bun.spawnSync(["git", "rev-parse", "--short=12", "HEAD"], { cwd: repoRoot }).stdout.toString().trim();
  expect(printed).toMatch(new RegExp(`^kgate ${packageJson.version.replaceAll(".", "\\.")} \\(commit ${commit}(-dirty)?\\)\\n$`));
});

const kcat = Bun.which("kcat");
if (!kcat) console.log("SKIPPED: release smoke test: kcat is not installed (npm run setup installs it)");
test.skipIf(!kcat)("the host's executable starts, stores and serves every codec, stops on SIGTERM and restarts on its data", async () => {
  const runner = runnerOnThisMachine(name);
  if (typeof runner === "string") throw new Error(runner);
  const report = await smokeTest(join(unpacked, name, "kgate"), runner, { timeoutMs: 30_000 });
  expect(report.some((line) => line.startsWith("after the restart consumed"))).toBe(true);
}, 60_000);
