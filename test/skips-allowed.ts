// Tests that may skip under CI. `npm test` (test/run-suite.ts) lists every skipped test with the reason its file
// printed (`SKIPPED: <reason>`); with CI set, a skip that no entry here matches fails the run. CI runs as root on
// x64 after `npm run setup` (interop/install.sh), so every client and tool the tests use is there: a test that skips
// on CI has lost its dependency, and the fix is in install.sh, not here.
//
// An entry names the file (from the repository root), a pattern for the test's full name as `bun test` prints it
// (`describe > test`; for a file that printed SKIPPED while its tests passed, the SKIPPED line), and why the skip is
// acceptable on CI. `test.todo` counts as a skip.

export interface AllowedSkip {
  file: string;
  test: RegExp;
  why: string;
}

export const skipsAllowedOnCi: AllowedSkip[] = [];
