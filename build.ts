// Typechecks and compiles src/main.ts into one executable.
//   bun build.ts           dist/kgate for this machine, with the addons node_modules holds; runs it once.
//   bun build.ts release   (npm run release) the four Linux targets, each packed with its notes into
//                          dist/release/kgate-<version>-linux-<arch>[-musl].tar.gz, and dist/release/SHA256SUMS;
//                          `bun build.ts release [--out DIR] [linux-x64 ...]` builds only the targets named, into DIR.
//
// A release target's Bun runtime and native addons (snappy, lz4-napi) come from the npm registry at the exact
// versions installed here (`npm pack`, cached in dist/release-cache/), never from another download: Bun would fetch a
// cross-compilation runtime from GitHub unless given `executablePath`. The addon packages pick their .node file at
// run time (by process.arch and a guess at musl); a release instead resolves `snappy` and `lz4-napi` to a one-line
// shim that requires the target's .node file, which `bun build --compile` then embeds.

import { $, type BunPlugin } from "bun";
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import packageJson from "./package.json" with { type: "json" };

const root = import.meta.dir;
const version = packageJson.version;

export interface ReleaseTarget {
  /** The release's name part: linux-x64, linux-arm64-musl, ... */
  name: string;
  bunTarget: "bun-linux-x64" | "bun-linux-x64-musl" | "bun-linux-arm64" | "bun-linux-arm64-musl";
  /** npm package holding the target's Bun runtime in package/bin/bun. */
  runtimePackage: string;
  /** napi-rs platform suffix of the addon packages and their .node files. */
  addonPlatform: string;
}

export const releaseTargets: readonly ReleaseTarget[] = [
  { name: "linux-x64", bunTarget: "bun-linux-x64", runtimePackage: "@oven/bun-linux-x64", addonPlatform: "linux-x64-gnu" },
  { name: "linux-x64-musl", bunTarget: "bun-linux-x64-musl", runtimePackage: "@oven/bun-linux-x64-musl", addonPlatform: "linux-x64-musl" },
  { name: "linux-arm64", bunTarget: "bun-linux-arm64", runtimePackage: "@oven/bun-linux-aarch64", addonPlatform: "linux-arm64-gnu" },
  { name: "linux-arm64-musl", bunTarget: "bun-linux-arm64-musl", runtimePackage: "@oven/bun-linux-aarch64-musl", addonPlatform: "linux-arm64-musl" },
];

/** The napi addons kgate requires, each with its per-platform npm package and .node file name. */
const addons = [
  { module: "snappy", platformPackage: (platform: string) => `@napi-rs/snappy-${platform}`, file: (platform: string) => `snappy.${platform}.node` },
  { module: "lz4-napi", platformPackage: (platform: string) => `@antoniomuso/lz4-napi-${platform}`, file: (platform: string) => `lz4-napi.${platform}.node` },
];

export const releaseDir = join(root, "dist/release");
const cacheDir = join(root, "dist/release-cache");

function installedVersion(packageName: string): string {
  return JSON.parse(readFileSync(join(root, "node_modules", packageName, "package.json"), "utf8")).version;
}

/** The commit, with -dirty when the work tree has changes; "unknown" outside a git checkout. */
async function gitCommit(): Promise<string> {
  const head = await $`git rev-parse --short=12 HEAD`.cwd(root).quiet().nothrow();
  if (head.exitCode !== 0) return "unknown";
  const status = await $`git status --porcelain --untracked-files=no`.cwd(root).quiet().nothrow();
  return head.text().trim() + (status.text().trim() === "" ? "" : "-dirty");
}

/**
 * An npm package's files, fetched once with `npm pack` (from the registry npm is configured with, which checks the
 * tarball's integrity) and unpacked; renamed into place whole, so a build running beside this one never sees half.
 */
async function npmPackage(name: string, packageVersion: string): Promise<string> {
  const folder = join(cacheDir, `${name.replace("/", "+")}@${packageVersion}`);
  if (existsSync(join(folder, "package/package.json"))) return join(folder, "package");
  const staging = `${folder}.${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  const packed = await $`npm pack ${`${name}@${packageVersion}`} --json --pack-destination ${staging}`.cwd(staging).quiet();
  const [{ filename }] = JSON.parse(packed.text()) as { filename: string }[];
  await $`tar -xzf ${filename}`.cwd(staging).quiet();
  rmSync(join(staging, filename));
  if (!existsSync(join(folder, "package/package.json"))) {
    rmSync(folder, { recursive: true, force: true });
    renameSync(staging, folder);
  }
  rmSync(staging, { recursive: true, force: true });
  return join(folder, "package");
}

/** The `--define` that `src/version.ts` reads. */
function versionDefines(commit: string): Record<string, string> {
  return { KGATE_BUILD_COMMIT: JSON.stringify(commit) };
}

/** Resolves each addon module to a shim that requires the target's .node file (embedded by --compile). */
function addonShimPlugin(shims: Map<string, string>): BunPlugin {
  return {
    name: "kgate-target-addons",
    setup(build) {
      build.onResolve({ filter: /^(snappy|lz4-napi)$/ }, (args) => ({ path: shims.get(args.path)! }));
    },
  };
}

async function addonShims(target: ReleaseTarget): Promise<Map<string, string>> {
  const shims = new Map<string, string>();
  const folder = join(cacheDir, `addons-${target.addonPlatform}`);
  mkdirSync(folder, { recursive: true });
  for (const addon of addons) {
    const packageFolder = await npmPackage(addon.platformPackage(target.addonPlatform), installedVersion(addon.module));
    const nodeFile = join(packageFolder, addon.file(target.addonPlatform));
    if (!existsSync(nodeFile)) throw new Error(`${addon.platformPackage(target.addonPlatform)} has no ${addon.file(target.addonPlatform)}`);
    const shim = join(folder, `${addon.module}.cjs`);
    writeFileSync(shim, `// ${addon.module} for ${target.name}: written by build.ts\nmodule.exports = require(${JSON.stringify(nodeFile)});\n`);
    shims.set(addon.module, shim);
  }
  return shims;
}

interface CompileOptions {
  outfile: string;
  commit: string;
  /** A release target: its runtime and addons from npm. None: this machine's Bun and node_modules' addons. */
  target?: ReleaseTarget;
  bytecode?: boolean;
}

export async function compile({ outfile, commit, target, bytecode = false }: CompileOptions): Promise<void> {
  const compileOptions: Bun.CompileBuildOptions = { outfile };
  const plugins: BunPlugin[] = [];
  if (target) {
    const runtime = join(await npmPackage(target.runtimePackage, installedVersion("bun")), "bin/bun");
    Object.assign(compileOptions, { target: target.bunTarget, executablePath: runtime });
    plugins.push(addonShimPlugin(await addonShims(target)));
  }
  const result = await Bun.build({
    entrypoints: [join(root, "src/main.ts")],
    compile: compileOptions,
    format: "esm",
    minify: true,
    sourcemap: "linked",
    bytecode,
    define: versionDefines(commit),
    plugins,
  });
  if (!result.success) throw new AggregateError(result.logs, `building ${outfile} failed`);
}

/** README.md's "## Running" section (with its subsections), as shipped beside the executable. */
export function runningSection(readme: string): string {
  const start = readme.indexOf("\n## Running\n");
  if (start < 0) throw new Error("README.md has no '## Running' section");
  const end = readme.indexOf("\n## ", start + 1);
  return readme.slice(start + 1, end < 0 ? undefined : end).trimEnd() + "\n";
}

export interface Runner {
  /** The command prefix (qemu for a foreign architecture) and environment that run a target's executable here. */
  prefix: string[];
  env: Record<string, string>;
}

/**
 * How this machine runs a target's executable (`linux-arm64-musl`, or a release name ending in it), or why it cannot:
 * qemu-user for a foreign architecture, the target's loader (Debian's libc6:arm64, musl, musl:arm64), and for musl a
 * libstdc++ built for musl, which Bun's musl runtime links (test/compiled/release-tools.sh makes one).
 */
export function runnerOnThisMachine(name: string): Runner | string {
  const match = /linux-(x64|arm64)(-musl)?$/.exec(name);
  if (!match || process.platform !== "linux") return `not a Linux target, or not on Linux: ${name}`;
  const arch = match[1]!;
  const musl = match[2] !== undefined;
  const loader = arch === "x64" ? (musl ? "/lib/ld-musl-x86_64.so.1" : "/lib64/ld-linux-x86-64.so.2") : musl ? "/lib/ld-musl-aarch64.so.1" : "/lib/ld-linux-aarch64.so.1";
  if (!existsSync(loader)) return `no ${loader}`;
  const env: Record<string, string> = {};
  if (musl) {
    const fixture = join(root, "dist/musl-libstdcxx", arch);
    const libraryPath = process.env[`KGATE_MUSL_LIBRARY_PATH_${arch.toUpperCase()}`] ?? (existsSync(join(fixture, "libstdc++.so.6")) ? fixture : undefined);
    if (libraryPath === undefined) return "no libstdc++.so.6 for musl (bash test/compiled/release-tools.sh makes one)";
    env.LD_LIBRARY_PATH = libraryPath;
  }
  if (arch === (process.arch === "arm64" ? "arm64" : "x64")) return { prefix: [], env };
  const qemu = Bun.which(arch === "arm64" ? "qemu-aarch64-static" : "qemu-x86_64-static");
  return qemu === null ? "no qemu-user-static" : { prefix: [qemu], env };
}

export function archiveName(target: ReleaseTarget): string {
  return `kgate-${version}-${target.name}`;
}

/** Builds the named targets (all when none are named) into `outDir` (dist/release). */
async function release(names: string[], outDir: string): Promise<void> {
  const unknown = names.filter((name) => !releaseTargets.some((target) => target.name === name));
  if (unknown.length > 0) throw new Error(`unknown release target ${unknown.join(", ")}; targets: ${releaseTargets.map((target) => target.name).join(", ")}`);
  const targets = names.length === 0 ? releaseTargets : releaseTargets.filter((target) => names.includes(target.name));
  const commit = await gitCommit();
  const readme = readFileSync(join(root, "README.md"), "utf8");
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  // TODO(license): the repository has no LICENSE file and package.json no "license"; ship one here once chosen.
  const sums: string[] = [];
  for (const target of targets) {
    const name = archiveName(target);
    const folder = join(outDir, name);
    mkdirSync(folder);
    const executable = join(folder, "kgate");
    await compile({ outfile: executable, commit, target, bytecode: true });
    rmSync(`${executable}.map`, { force: true });
    writeFileSync(join(folder, "README-running.txt"), `kgate ${version} (commit ${commit}): the "Running" section of README.md\n\n${runningSection(readme)}`);
    copyFileSync(join(root, "src/release/kgate.service"), join(folder, "kgate.service"));
    copyFileSync(join(root, "src/release/server.properties"), join(folder, "server.properties"));
    const archive = `${name}.tar.gz`;
    await $`tar --sort=name --owner=0 --group=0 --numeric-owner -czf ${archive} ${name}`.cwd(outDir).quiet();
    const runner = runnerOnThisMachine(target.name);
    let checked: string;
    if (typeof runner === "string") {
      checked = `not run here: ${runner}`;
    } else {
      const run = await $`${[...runner.prefix, executable, "--version"]}`.env({ ...process.env, ...runner.env }).quiet().nothrow();
      const printed = run.text().trim();
      if (run.exitCode !== 0 || !printed.includes(version) || !printed.includes(commit)) {
        throw new Error(`${name}: --version exited ${run.exitCode} and printed ${JSON.stringify(printed)} ${run.stderr.toString()}`);
      }
      checked = `${runner.prefix.length ? "under qemu: " : ""}${printed}`;
    }
    const sizeMiB = (statSync(executable).size / 2 ** 20).toFixed(1);
    rmSync(folder, { recursive: true });
    sums.push(`${new Bun.CryptoHasher("sha256").update(readFileSync(join(outDir, archive))).digest("hex")}  ${archive}`);
    console.log(`${archive}: executable ${sizeMiB} MiB; ${checked}`);
  }
  writeFileSync(join(outDir, "SHA256SUMS"), sums.join("\n") + "\n");
  console.log(`wrote ${outDir}/SHA256SUMS`);
}

if (import.meta.main) {
  await $`./node_modules/.bin/tsc --noEmit -p .`.cwd(root);
  if (process.argv[2] === "release") {
    const args = process.argv.slice(3);
    const out = args.indexOf("--out");
    const outDir = out < 0 ? releaseDir : args.splice(out, 2)[1]!;
    await release(args, outDir);
  } else {
    const outfile = join(root, "dist/kgate");
    await compile({ outfile, commit: await gitCommit() });
    const help = await $`${outfile} --help`.text();
    if (!help.includes("--listen")) throw new Error(`${outfile} --help did not print the options`);
    console.log(`built ${outfile}`);
  }
}
