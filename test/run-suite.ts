#!/usr/bin/env bun
// `npm test`: `bun test --timeout 60000`, then the interop matrix (`bun interop/run.ts`).
//
// bun test reports skipped tests and nothing counted them, so a test whose client or tool went missing passed as
// green. This runner reads bun test's console output, stdout and stderr as one stream so that each line stays under
// the file header it belongs to, and lists every skipped and todo test at the end with the `SKIPPED: <reason>` lines
// its file printed. A file that printed SKIPPED while its tests passed (they returned early) counts as a skip too.
// With CI set, a skip that test/skips-allowed.ts does not list fails the run. So does a run in which bun test ran no
// test or ended without its summary line (a crash or a kill). A non-zero exit code of bun test is passed on.
//
// Usage: bun test/run-suite.ts [ARGS...]. ARGS go to bun test (`npm test -- src/log`, `-t PATTERN`) and leave the
// interop matrix out; it runs only in the full run.

import { spawn } from "bun";
import { join, relative, resolve } from "node:path";
import { skipsAllowedOnCi, type AllowedSkip } from "./skips-allowed.ts";

const repoRoot = join(import.meta.dir, "..");

export interface Skip {
  /** From the repository root. */
  file: string;
  /** `describe > test` as bun test prints it; for kind "printed", the SKIPPED line. */
  test: string;
  kind: "skip" | "todo" | "printed";
  /** The SKIPPED lines the file printed. */
  reasons: string[];
}

export interface BunTestReport {
  skips: Skip[];
  counts: { pass: number; fail: number; skip: number; todo: number };
  /** From `Ran N tests across M files.`; null when bun test did not get that far. */
  ran: { tests: number; files: number } | null;
}

// Bun 1.4.5's console reporter. Under GitHub Actions a file header starts with `::group::`.
const fileHeaderLine = /^(?:::group::)?(\S+[._](?:test|spec)\.[cm]?[jt]sx?):$/;
const skipLine = /^\((skip|todo)\) (.+)$/;
/** Where bun test's closing summary starts ("3 tests skipped:", "1 tests failed:"): it repeats those tests without their files. */
const summaryHeaderLine = /^\d+ tests? (?:skipped|failed|todo)\b.*:$/;
const reasonLine = /^SKIPPED\b:?\s*(.*)$/;
const countLine = /^\s*(\d+) (pass|fail|skip|todo)$/;
const ranLine = /^Ran (\d+) tests? across (\d+) files?\./;
const colour = /\x1b\[[0-9;]*m/g;

export function parseBunTestOutput(output: string, cwd: string): BunTestReport {
  const report: BunTestReport = { skips: [], counts: { pass: 0, fail: 0, skip: 0, todo: 0 }, ran: null };
  const reasons = new Map<string, string[]>();
  const skipped = new Set<string>();
  let file = "";
  let inSummary = false;
  for (const raw of output.split("\n")) {
    const line = raw.replace(colour, "").trimEnd();
    let match: RegExpMatchArray | null;
    if (summaryHeaderLine.test(line)) inSummary = true;
    else if ((match = line.match(fileHeaderLine))) file = relative(repoRoot, resolve(cwd, match[1]!));
    else if (inSummary && (skipLine.test(line) || reasonLine.test(line))) continue;
    else if ((match = line.match(skipLine))) {
      report.skips.push({ file, test: match[2]!, kind: match[1] as "skip" | "todo", reasons: [] });
      skipped.add(file);
    } else if (reasonLine.test(line)) reasons.set(file, [...(reasons.get(file) ?? []), line]);
    else if ((match = line.match(countLine))) report.counts[match[2] as keyof BunTestReport["counts"]] = Number(match[1]);
    else if ((match = line.match(ranLine))) report.ran = { tests: Number(match[1]), files: Number(match[2]) };
  }
  for (const skip of report.skips) skip.reasons = reasons.get(skip.file) ?? [];
  for (const [printedBy, lines] of reasons) {
    if (skipped.has(printedBy)) continue;
    for (const line of lines) report.skips.push({ file: printedBy, test: line, kind: "printed", reasons: [line] });
  }
  return report;
}

export function allowedOnCi(skip: Skip, allowed: AllowedSkip[] = skipsAllowedOnCi): AllowedSkip | undefined {
  return allowed.find((entry) => entry.file === skip.file && entry.test.test(skip.test));
}

/** What went wrong beyond failing tests: each entry fails the run. */
export function problems(report: BunTestReport, { ci, fullRun }: { ci: boolean; fullRun: boolean }): string[] {
  const found: string[] = [];
  if (report.ran === null) found.push("bun test ended without its summary line (`Ran N tests across M files.`): it crashed or was killed");
  else if (report.ran.tests === 0) found.push("bun test ran no tests");
  // A full run prints a line for every skip and todo; a mismatch means this parser no longer reads Bun's output.
  const listed = (kind: Skip["kind"]) => report.skips.filter((skip) => skip.kind === kind).length;
  if (fullRun && report.ran !== null && (listed("skip") !== report.counts.skip || listed("todo") !== report.counts.todo)) {
    found.push(`bun test counted ${report.counts.skip} skip and ${report.counts.todo} todo, but the runner read ${listed("skip")} and ${listed("todo")} lines: test/run-suite.ts no longer understands bun test's output`);
  }
  if (ci) {
    for (const skip of report.skips.filter((skip) => !allowedOnCi(skip))) {
      found.push(`skipped on CI and not in test/skips-allowed.ts: ${skip.file}: ${skip.test}`);
    }
  }
  return found;
}

function printSkips(report: BunTestReport, ci: boolean): void {
  if (report.skips.length === 0) return;
  process.stdout.write(`\nSkipped tests (${report.skips.length}):\n`);
  const byFile = Map.groupBy(report.skips, (skip) => skip.file);
  for (const [file, skips] of byFile) {
    process.stdout.write(`  ${file}\n`);
    for (const skip of skips) {
      const allowed = allowedOnCi(skip);
      const note = allowed ? ` [allowed on CI: ${allowed.why}]` : ci ? " [NOT ALLOWED ON CI]" : "";
      if (skip.kind !== "printed") process.stdout.write(`    (${skip.kind}) ${skip.test}${note}\n`);
      else process.stdout.write(`    (printed while its tests passed)${note}\n`);
    }
    const reasons = skips[0]!.reasons;
    if (reasons.length === 0) process.stdout.write("    reason: none printed (a skipping test should print `SKIPPED: <reason>`)\n");
    for (const reason of reasons) process.stdout.write(`    ${reason}\n`);
  }
  if (!ci && report.skips.some((skip) => !allowedOnCi(skip))) {
    process.stdout.write("Under CI these skips fail the run unless test/skips-allowed.ts lists them.\n");
  }
}

async function runBunTest(args: string[]): Promise<{ exitCode: number; output: string }> {
  // One pipe for stdout and stderr, so that console output stays in order with bun test's results.
  const child = spawn(["sh", "-c", 'exec "$@" 2>&1', "sh", process.execPath, "test", "--timeout", "60000", ...args], {
    stdin: "inherit",
    stdout: "pipe",
    stderr: "inherit",
  });
  const decoder = new TextDecoder();
  let output = "";
  for await (const chunk of child.stdout) {
    process.stdout.write(chunk);
    output += decoder.decode(chunk, { stream: true });
  }
  const exitCode = await child.exited;
  if (child.signalCode) process.stdout.write(`\nbun test was killed by ${child.signalCode}\n`);
  return { exitCode: child.signalCode ? 1 : exitCode, output };
}

async function main(args: string[]): Promise<number> {
  const ci = Boolean(process.env.CI);
  const fullRun = args.length === 0;
  const started = performance.now();
  const { exitCode, output } = await runBunTest(args);
  const seconds = (performance.now() - started) / 1000;
  const report = parseBunTestOutput(output, process.cwd());
  printSkips(report, ci);
  const found = problems(report, { ci, fullRun });
  if (ci && fullRun) {
    for (const entry of skipsAllowedOnCi.filter((entry) => !report.skips.some((skip) => allowedOnCi(skip) === entry))) {
      process.stdout.write(`test/skips-allowed.ts: ${entry.file} ${entry.test} did not skip; if it runs on CI now, delete the entry\n`);
    }
  }
  const { pass, fail, skip, todo } = report.counts;
  const files = report.ran ? `${report.ran.files} file${report.ran.files === 1 ? "" : "s"}` : "no summary";
  process.stdout.write(`\nbun test: ${pass} passed, ${fail} failed, ${skip} skipped, ${todo} todo, ${files}, ${seconds.toFixed(1)} s${ci ? " (CI)" : ""}\n`);
  for (const problem of found) process.stdout.write(`FAIL: ${problem}\n`);
  if (exitCode !== 0) return exitCode;
  if (found.length > 0) return 1;
  if (!fullRun) return 0;
  const interop = spawn([process.execPath, join(repoRoot, "interop/run.ts")], { stdio: ["inherit", "inherit", "inherit"] });
  return await interop.exited;
}

if (import.meta.main) process.exit(await main(process.argv.slice(2)));
