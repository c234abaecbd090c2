// The runner behind `npm test` reads bun test's console output: these samples are Bun 1.4.5's own (stdout and
// stderr in one stream, as the runner reads them, with the closing summary that repeats skipped, todo and failed
// tests without their files), so a Bun upgrade that changes the format fails here first.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { parseBunTestOutput, problems } from "./run-suite.ts";

const repoRoot = join(import.meta.dir, "..");

const sample = `bun test v1.4.5 (a7733435c)

src/a.test.ts:
SKIPPED: kcat is not installed (bash interop/install.sh installs it)
(pass) passes
(skip) skipped one
(todo) todo one
(skip) grp > cond skip
(pass) grp > inner [0.02ms]
error: x
      at <anonymous> (/work/main/src/a.test.ts:6:42)
(fail) fails [0.78ms]

::group::test/b.test.ts:
SKIPPED: b: librdkafka's mock cluster is unavailable: gcc is not installed
(pass) returns early [0.10ms]

test/c.test.ts:
(pass) outer > inner > deep

2 tests skipped:
(skip) skipped one
(skip) grp > cond skip


1 tests todo:
(todo) todo one


1 tests failed:
(fail) fails [0.78ms]

 4 pass
 2 skip
 1 todo
 1 fail
Ran 8 tests across 3 files. [57.00ms]
`;

describe("parseBunTestOutput", () => {
  const report = parseBunTestOutput(sample, repoRoot);

  test("every skip and todo with its file, full name and the reasons its file printed", () => {
    const reason = "SKIPPED: kcat is not installed (bash interop/install.sh installs it)";
    expect(report.skips).toEqual([
      { file: "src/a.test.ts", test: "skipped one", kind: "skip", reasons: [reason] },
      { file: "src/a.test.ts", test: "todo one", kind: "todo", reasons: [reason] },
      { file: "src/a.test.ts", test: "grp > cond skip", kind: "skip", reasons: [reason] },
      {
        file: "test/b.test.ts",
        test: "SKIPPED: b: librdkafka's mock cluster is unavailable: gcc is not installed",
        kind: "printed",
        reasons: ["SKIPPED: b: librdkafka's mock cluster is unavailable: gcc is not installed"],
      },
    ]);
  });

  test("the counts and the closing line", () => {
    expect(report.counts).toEqual({ pass: 4, fail: 1, skip: 2, todo: 1 });
    expect(report.ran).toEqual({ tests: 8, files: 3 });
  });
});

describe("problems", () => {
  test("under CI every skip the allow-list does not name fails; elsewhere none does", () => {
    const report = parseBunTestOutput(sample, repoRoot);
    expect(problems(report, { ci: false, fullRun: true })).toEqual([]);
    expect(problems(report, { ci: true, fullRun: true })).toEqual([
      "skipped on CI and not in test/skips-allowed.ts: src/a.test.ts: skipped one",
      "skipped on CI and not in test/skips-allowed.ts: src/a.test.ts: todo one",
      "skipped on CI and not in test/skips-allowed.ts: src/a.test.ts: grp > cond skip",
      "skipped on CI and not in test/skips-allowed.ts: test/b.test.ts: SKIPPED: b: librdkafka's mock cluster is unavailable: gcc is not installed",
    ]);
  });

  test("a run cut short before its summary, or one without tests, fails", () => {
    const cut = parseBunTestOutput(sample.slice(0, sample.indexOf(" 4 pass")), repoRoot);
    expect(problems(cut, { ci: false, fullRun: false })[0]).toContain("without its summary line");
    const empty = parseBunTestOutput("bun test v1.4.5 (a7733435c)\n\n 0 pass\n 0 fail\nRan 0 tests across 0 files. [1.00ms]\n", repoRoot);
    expect(problems(empty, { ci: false, fullRun: false })).toEqual(["bun test ran no tests"]);
  });

  test("skip lines that disagree with bun test's own count fail a full run", () => {
    const report = parseBunTestOutput(sample.replace("(skip) skipped one\n", ""), repoRoot);
    expect(problems(report, { ci: false, fullRun: true })[0]).toContain("no longer understands");
  });
});
