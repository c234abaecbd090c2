// Starts kgate in-process on 127.0.0.1 and an ephemeral port; `await using server = await startTestServer()`.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig, type Config } from "../../src/config.ts";
import { startServer, type KgateServer } from "../../src/server/server.ts";
import { setLogLevel } from "../../src/util/logger.ts";

export interface TestServer extends KgateServer, AsyncDisposable {
  /** "127.0.0.1:PORT" */
  readonly bootstrap: string;
}

/**
 * In-memory log by default; KGATE_TEST_STORE=file runs the same tests on the file log in a fresh temporary data
 * folder (removed on dispose).
 */
export async function startTestServer(overrides: Partial<Config> = {}): Promise<TestServer> {
  setLogLevel((process.env.KGATE_TEST_LOG_LEVEL as "debug" | undefined) ?? "error");
  const dataDir = process.env.KGATE_TEST_STORE === "file" && !("dataDir" in overrides) ? mkdtempSync(join(tmpdir(), "kgate-test-")) : null;
  const config = { ...parseConfig(["--listen", "127.0.0.1:0", "--memory"], {})!, dataDir, ...overrides };
  const server = startServer(config);
  return Object.assign(server, {
    bootstrap: `127.0.0.1:${server.port}`,
    async [Symbol.asyncDispose]() {
      await server.stop();
      if (dataDir !== null) rmSync(dataDir, { recursive: true, force: true });
    },
  });
}

/** Polls cond until it holds or the time runs out. */
export async function waitFor(cond: () => boolean | Promise<boolean>, { timeoutMs = 10_000, intervalMs = 20 } = {}): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await Bun.sleep(intervalMs);
  }
}
