// One process per data folder: a second gateway started on a folder another one is using refuses to start with a
// message naming the holder, and leaves the folder alone; after the first dies by kill -9, the lock file it left
// behind does not block a restart (flock dies with its process).

import { expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startGatewayProcess } from "../helpers/gateway-process.ts";

const repoRoot = join(import.meta.dir, "../..");

test("a second gateway on the same --data refuses to start; a kill -9 leaves no stale lock", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "kgate-lock-"));
  const start = () => startGatewayProcess([process.execPath, "src/main.ts", "--data", dataDir, "--registry-listen", "off"], { cwd: repoRoot });
  try {
    const first = await start();
    let refusal = "";
    try {
      await using second = await start();
      throw new Error(`the second gateway started on port ${second.port}`);
    } catch (error) {
      refusal = (error as Error).message;
    }
    expect(refusal).toContain("gateway exited with 1");
    expect(refusal).toContain(`data folder ${dataDir} is in use by another process (pid ${first.process.pid})`);
    // The first one is untouched: its clean-shutdown marker was not created or removed by the second.
    expect(existsSync(join(dataDir, ".kgate_cleanshutdown"))).toBe(false);

    first.process.kill(9);
    expect(await first.process.exited).not.toBe(0);
    expect(existsSync(join(dataDir, ".lock"))).toBe(true);
    await using third = await start();
    expect(third.output()).toContain("data folder opened");
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 30_000);
