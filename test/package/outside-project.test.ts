// kgate as a package, seen from a project outside the repository: `npm pack` makes the tarball, a fresh project in a
// temporary folder installs it beside kafkajs and @platformatic/kafka (from the npm registry, the local cache first),
// and its own `bun test` runs the README's examples of "Use kgate in your tests" as written: so the examples, the
// package's exports and its files list are tested together.

import { expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const REPO = resolve(import.meta.dir, "../..");
const BUN = process.execPath;

/** The ```ts blocks of the README's section that import "kgate" as a test would. */
function readmeExamples(): string[] {
  const readme = readFileSync(join(REPO, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## Use kgate in your tests"), readme.indexOf("## Embed kgate in an application"));
  return [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1]!).filter((code) => code.includes('from "kgate"') && code.includes("bun:test"));
}

function run(command: string[], cwd: string, timeoutMs: number): { exitCode: number; output: string } {
  const result = Bun.spawnSync(command, { cwd, stdout: "pipe", stderr: "pipe", timeout: timeoutMs, env: { ...process.env, CI: "" } });
  return { exitCode: result.exitCode ?? -1, output: result.stdout.toString() + result.stderr.toString() };
}

const versionOf = (name: string) => (JSON.parse(readFileSync(join(REPO, "node_modules", name, "package.json"), "utf8")) as { version: string }).version;

test("a project outside the repository installs the packed tarball and runs the README's examples with bun test", () => {
  const examples = readmeExamples();
  expect(examples.length).toBe(2);
  const folder = mkdtempSync(join(tmpdir(), "kgate-outside-"));
  try {
    const packed = run(["npm", "pack", "--pack-destination", folder, "--silent"], REPO, 60_000);
    expect(packed.exitCode, packed.output).toBe(0);
    const tarball = readdirSync(folder).find((name) => name.endsWith(".tgz"))!;
    const listing = run(["tar", "-tzf", join(folder, tarball)], folder, 10_000).output.split("\n");
    expect(listing).toContain("package/src/kgate.ts");
    expect(listing).toContain("package/src/protocol/records/crc32c-sse42.c");
    expect(listing.filter((path) => path.endsWith(".test.ts"))).toEqual([]);

    const project = join(folder, "project");
    mkdirSync(project);
    writeFileSync(
      join(project, "package.json"),
      JSON.stringify({ name: "outside", private: true, type: "module", dependencies: { kgate: `file:../${tarball}`, kafkajs: versionOf("kafkajs"), "@platformatic/kafka": versionOf("@platformatic/kafka") } }, null, 2),
    );
    const installed = run(["npm", "install", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts"], project, 240_000);
    expect(installed.exitCode, installed.output).toBe(0);
    examples.forEach((code, index) => writeFileSync(join(project, `readme-${index + 1}.test.ts`), code));

    const tested = run([BUN, "test", "--timeout", "60000"], project, 180_000);
    expect(tested.exitCode, tested.output).toBe(0);
    expect(tested.output).toMatch(/\b3 pass\b/);
    expect(tested.output).toMatch(/\b0 fail\b/);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}, 480_000);
