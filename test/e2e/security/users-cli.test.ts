// `kgate users add|list|delete` on a data folder, offline and while the broker runs: the broker authenticates the
// users the command wrote and stops at once for the ones it deleted (it re-reads users.json when it changes).

import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../../../src/config.ts";
import { ErrorCode } from "../../../src/protocol/error-codes.ts";
import { RawClient } from "../../helpers/raw-client.ts";
import { ScramClient } from "../../helpers/scram-client.ts";
import { startTestServer } from "../../helpers/server.ts";

const dataDir = mkdtempSync(join(tmpdir(), "kgate-users-cli-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

async function kgateUsers(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const child = Bun.spawn([process.execPath, join(import.meta.dir, "../../../src/main.ts"), "users", ...args, "--data", dataDir], { stdout: "pipe", stderr: "pipe", env: { ...process.env, KGATE_USER_PASSWORD: "" } });
  const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { code, out, err };
}

async function scramLogin(port: number, mechanism: "SCRAM-SHA-256" | "SCRAM-SHA-512", user: string, password: string): Promise<number> {
  const client = await RawClient.connect(port);
  try {
    await client.call(17, 1, { mechanism });
    const scram = new ScramClient(mechanism, user, password);
    const first = await client.call(36, 1, { authBytes: scram.clientFirst() });
    if (first.errorCode !== ErrorCode.NONE) return first.errorCode;
    return (await client.call(36, 1, { authBytes: scram.clientFinal(first.authBytes) })).errorCode;
  } finally {
    client.close();
  }
}

test("users added offline authenticate; a user deleted while the broker runs no longer does", async () => {
  expect((await kgateUsers("add", "alice", "--password", "alice-pw")).code).toBe(0);
  expect((await kgateUsers("add", "bob", "--password", "bob-pw", "--mechanism", "SCRAM-SHA-512", "--iterations", "8192")).code).toBe(0);
  expect((await kgateUsers("add", "carol")).code).toBe(2); // no password
  expect((await kgateUsers("add", "carol", "--password", "x", "--iterations", "100")).code).toBe(2);
  const listed = await kgateUsers("list");
  expect(listed.out.trim().split("\n")).toEqual(["alice\tSCRAM-SHA-256(4096) SCRAM-SHA-512(4096)", "bob\tSCRAM-SHA-512(8192)"]);
  const file = readFileSync(join(dataDir, "users.json"), "utf8");
  expect(file).not.toContain("alice-pw");

  const { security } = parseConfig(["--listeners", "SASL_PLAINTEXT://127.0.0.1:0"], {})!;
  await using server = await startTestServer({ security, dataDir });
  expect(await scramLogin(server.port, "SCRAM-SHA-256", "alice", "alice-pw")).toBe(ErrorCode.NONE);
  expect(await scramLogin(server.port, "SCRAM-SHA-512", "bob", "bob-pw")).toBe(ErrorCode.NONE);
  expect(await scramLogin(server.port, "SCRAM-SHA-256", "bob", "bob-pw")).toBe(ErrorCode.SASL_AUTHENTICATION_FAILED);

  expect((await kgateUsers("delete", "alice")).code).toBe(0);
  expect((await kgateUsers("delete", "alice")).code).toBe(1);
  expect(await scramLogin(server.port, "SCRAM-SHA-256", "alice", "alice-pw")).toBe(ErrorCode.SASL_AUTHENTICATION_FAILED);
  expect((await kgateUsers("list")).out.trim()).toBe("bob\tSCRAM-SHA-512(8192)");
}, 30_000);
