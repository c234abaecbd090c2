// Starts kgate in-process on 127.0.0.1 and an ephemeral port; `await using server = await startTestServer()`.

import { parseConfig, type Config } from "../../src/config.ts";
import { startServer, type KgateServer } from "../../src/server/server.ts";
import { setLogLevel } from "../../src/util/logger.ts";

export interface TestServer extends KgateServer, AsyncDisposable {
  /** "127.0.0.1:PORT" */
  readonly bootstrap: string;
}

export async function startTestServer(overrides: Partial<Config> = {}): Promise<TestServer> {
  setLogLevel((process.env.KGATE_TEST_LOG_LEVEL as "debug" | undefined) ?? "error");
  const config = { ...parseConfig(["--listen", "127.0.0.1:0", "--memory"], {})!, ...overrides };
  const server = startServer(config);
  return Object.assign(server, {
    bootstrap: `127.0.0.1:${server.port}`,
    async [Symbol.asyncDispose]() {
      await server.stop();
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
