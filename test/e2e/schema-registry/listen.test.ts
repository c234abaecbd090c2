// Regression: the registry's HTTP server bound 0.0.0.0 even when the gateway was told `--listen 127.0.0.1:…`, so a
// gateway meant to be reachable from the loopback only opened its registry to every interface. The registry now binds
// the Kafka listener's host unless `--registry-listen HOST:PORT` names another, which is bound exactly. 127.0.0.2 is
// used because it is a loopback address distinct from 127.0.0.1: a server bound to it refuses 127.0.0.1, which a
// server bound to 0.0.0.0 would accept.

import { expect, test } from "bun:test";
import { join } from "node:path";
import { startGatewayProcess } from "../../helpers/gateway-process.ts";
import { waitFor } from "../../helpers/server.ts";

const main = join(import.meta.dir, "../../../src/main.ts");

/** The registry's address from its start-up line (logged just after the Kafka listener's, which the start helper waits for). */
async function registryAddress(output: () => string): Promise<{ host: string; port: number }> {
  const pattern = /schema registry up listen=(\S+):(\d+)/;
  await waitFor(() => pattern.test(output()), { timeoutMs: 20_000 });
  const match = pattern.exec(output())!;
  return { host: match[1]!, port: Number(match[2]) };
}

async function reachable(host: string, port: number): Promise<boolean> {
  try {
    const response = await fetch(`http://${host}:${port}/subjects`, { signal: AbortSignal.timeout(10_000) });
    return response.status === 200;
  } catch {
    return false;
  }
}

test("without --registry-listen the registry binds the --listen host", async () => {
  await using gateway = await startGatewayProcess([process.execPath, main, "--memory", "--listen", "127.0.0.2:0"]);
  const address = await registryAddress(gateway.output);
  expect(address.host).toBe("127.0.0.2");
  expect(await reachable("127.0.0.2", address.port)).toBe(true);
  expect(await reachable("127.0.0.1", address.port)).toBe(false);
});

test("--registry-listen HOST:PORT is bound exactly, whatever --listen says", async () => {
  await using gateway = await startGatewayProcess([process.execPath, main, "--memory", "--listen", "127.0.0.1:0", "--registry-listen", "127.0.0.2:0"]);
  const address = await registryAddress(gateway.output);
  expect(address.host).toBe("127.0.0.2");
  expect(await reachable("127.0.0.2", address.port)).toBe(true);
  expect(await reachable("127.0.0.1", address.port)).toBe(false);
});

test("--registry-listen off starts no registry", async () => {
  await using gateway = await startGatewayProcess([process.execPath, main, "--memory", "--listen", "127.0.0.1:0", "--registry-listen", "off"]);
  // Its whole output, start-up to shutdown, rather than what a fixed wait happened to catch.
  gateway.process.kill("SIGTERM");
  expect(await gateway.finished()).toBe(0);
  expect(gateway.output()).toContain("shutting down");
  expect(gateway.output()).not.toContain("schema registry up");
});
