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
  /** The file log's data folder, or null on the memory log. */
  readonly dataDir: string | null;
}

export type TestStore = "file" | "memory";

/** The log tests run on unless they choose: the file log, as users run it; KGATE_TEST_STORE=memory for the memory log. */
export const defaultTestStore: TestStore = testStoreFromEnvironment(process.env.KGATE_TEST_STORE);

function testStoreFromEnvironment(value: string | undefined): TestStore {
  if (value === undefined || value === "" || value === "file") return "file";
  if (value === "memory") return "memory";
  throw new Error(`KGATE_TEST_STORE=${value}: expected file or memory`);
}

/** Both logs, for `describe.each(bothStores)` around tests of what the two stores do differently. */
export const bothStores: TestStore[] = ["file", "memory"];

/**
 * The file log in a fresh temporary data folder (removed on dispose) by default, or the memory log with
 * KGATE_TEST_STORE=memory. `store` picks one whatever the environment says; a `dataDir` override (a folder, or null
 * for the memory log) is used as given and left in place.
 */
export async function startTestServer(overrides: Partial<Config> & { store?: TestStore } = {}): Promise<TestServer> {
  setLogLevel((process.env.KGATE_TEST_LOG_LEVEL as "debug" | undefined) ?? "error");
  const { store = defaultTestStore, ...configOverrides } = overrides;
  const dataDir = store === "file" && !("dataDir" in configOverrides) ? mkdtempSync(join(tmpdir(), "kgate-test-")) : null;
  const config = { ...parseConfig(["--listen", "127.0.0.1:0", "--memory"], {})!, dataDir, ...configOverrides };
  let server: KgateServer;
  try {
    server = startServer(config);
  } catch (error) {
    if (dataDir !== null) rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  return Object.assign(server, {
    bootstrap: `127.0.0.1:${server.port}`,
    dataDir: config.dataDir,
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
