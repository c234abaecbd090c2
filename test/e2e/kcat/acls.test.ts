// librdkafka (kcat) against kgate with the ACL authorizer on: `kcat -L` lists only the topics User:ANONYMOUS may
// DESCRIBE, and shows the other once an ACL allows it; a produce without WRITE is refused with librdkafka's
// "Topic authorization failed" and a consume without READ likewise.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { AclOperation, AclPermission, PatternType, ResourceType, type AclBinding } from "../../../src/security/acl.ts";
import { startTestServer, type TestServer } from "../../helpers/server.ts";

const KCAT = Bun.which("kcat");

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ authorizer: { superUsers: [], allowEveryoneIfNoAclFound: false } });
  server.broker.topics.create("kcat-visible", 1);
  server.broker.topics.create("kcat-hidden", 1);
  server.broker.authorizer!.acls.add([allow("kcat-visible", AclOperation.DESCRIBE)]);
});
afterAll(async () => {
  await server?.[Symbol.asyncDispose]();
});

function allow(topic: string, operation: number): AclBinding {
  return { resourceType: ResourceType.TOPIC, resourceName: topic, patternType: PatternType.LITERAL, principal: "User:ANONYMOUS", host: "*", operation, permissionType: AclPermission.ALLOW };
}

async function kcat(args: string[], input?: string): Promise<{ code: number; out: string; err: string }> {
  const child = Bun.spawn([KCAT!, "-b", server.bootstrap, ...args], { stdin: input === undefined ? "ignore" : new TextEncoder().encode(input), stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => child.kill(9), 20_000);
  const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(timer);
  return { code, out, err };
}

async function listedTopics(): Promise<string[]> {
  const { code, out, err } = await kcat(["-L", "-J"]);
  if (code !== 0) throw new Error(`kcat -L exited ${code}: ${err}`);
  return (JSON.parse(out).topics as { topic: string }[]).map(({ topic }) => topic).sort();
}

if (!KCAT) console.log("SKIPPED: kcat with ACLs: kcat is not installed (npm run setup installs it)");
describe.skipIf(!KCAT)("kcat (librdkafka) with ACLs", () => {
  test("-L hides a topic without DESCRIBE and shows it once allowed", async () => {
    expect(await listedTopics()).toEqual(["kcat-visible"]);
    server.broker.authorizer!.acls.add([allow("kcat-hidden", AclOperation.DESCRIBE)]);
    expect(await listedTopics()).toEqual(["kcat-hidden", "kcat-visible"]);
  });

  test("produce without WRITE and consume without READ are refused; allowed once the ACLs exist", async () => {
    const produced = await kcat(["-P", "-t", "kcat-visible", "-p", "0"], "refused\n");
    expect(produced.err).toContain("Topic authorization failed");
    expect(server.broker.topics.get("kcat-visible")!.partitions[0]!.highWatermark).toBe(0);
    const consumed = await kcat(["-C", "-t", "kcat-visible", "-p", "0", "-o", "beginning", "-e"]);
    expect(consumed.err).toContain("Topic authorization failed");

    server.broker.authorizer!.acls.add([allow("kcat-visible", AclOperation.WRITE), allow("kcat-visible", AclOperation.READ)]);
    const again = await kcat(["-P", "-t", "kcat-visible", "-p", "0"], "accepted\n");
    expect(again.code).toBe(0);
    const read = await kcat(["-C", "-t", "kcat-visible", "-p", "0", "-o", "beginning", "-e", "-q"]);
    expect(read.code).toBe(0);
    expect(read.out.trim()).toBe("accepted");
  });
});
