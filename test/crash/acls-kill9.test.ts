// ACLs in a real gateway process configured from the environment (KGATE_AUTHORIZER, KGATE_SUPER_USERS,
// KGATE_ALLOW_EVERYONE_IF_NO_ACL_FOUND): with allow.everyone.if.no.acl.found on, User:ANONYMOUS may manage ACLs
// (the cluster has none), denies itself WRITE on one topic and allows READ; the refusal is logged with client, principal,
// operation and resource. After kill -9 the restarted gateway still has the ACL (acls.json was fsynced before
// CreateAcls answered) and still refuses.

import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { AclOperation, AclPermission, PatternType, ResourceType } from "../../src/security/acl.ts";
import { startGatewayProcess } from "../helpers/gateway-process.ts";
import { waitFor } from "../helpers/server.ts";

const repoRoot = join(import.meta.dir, "../..");

test("a DENY created with kafkajs holds across kill -9, configured from the environment", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "kgate-acl-crash-"));
  const env = { ...process.env, KGATE_AUTHORIZER: "acl", KGATE_SUPER_USERS: "User:admin", KGATE_ALLOW_EVERYONE_IF_NO_ACL_FOUND: "true" };
  const start = () => startGatewayProcess([process.execPath, "src/main.ts", "--data", dataDir, "--registry-listen", "off"], { cwd: repoRoot, env });
  const deny = {
    resourceType: ResourceType.TOPIC,
    resourceName: "guarded",
    resourcePatternType: PatternType.LITERAL,
    principal: "User:ANONYMOUS",
    host: "*",
    operation: AclOperation.WRITE,
    permissionType: AclPermission.DENY,
  } as any;
  const produce = async (bootstrap: string, topic: string): Promise<string> => {
    const producer = new Kafka({ clientId: "acl-crash", brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } }).producer();
    await producer.connect();
    try {
      await producer.send({ topic, acks: -1, messages: [{ value: "v" }] });
      return "accepted";
    } catch (error: any) {
      return error.type ?? error.originalError?.type ?? String(error);
    } finally {
      await producer.disconnect();
    }
  };
  try {
    const first = await start();
    const admin = new Kafka({ clientId: "acl-crash", brokers: [first.bootstrap], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: "guarded" }, { topic: "free" }] });
    expect(await produce(first.bootstrap, "guarded")).toBe("accepted");
    // Once "guarded" has any ACL, allow.everyone no longer applies to it: READ (implying DESCRIBE) keeps it visible,
    // so the refusal comes from Produce itself rather than from Metadata.
    await admin.createAcls({ acl: [deny, { ...deny, operation: AclOperation.READ, permissionType: AclPermission.ALLOW }] });
    await admin.disconnect();
    expect(await produce(first.bootstrap, "guarded")).toBe("TOPIC_AUTHORIZATION_FAILED");
    expect(await produce(first.bootstrap, "free")).toBe("accepted");
    // The gateway's log reaches us through a pipe, possibly after the answer did.
    await waitFor(() => /authorization denied client=127\.0\.0\.1:\d+ principal=User:ANONYMOUS api=Produce operation=WRITE resource=TOPIC:guarded/.test(first.output()));
    first.process.kill(9);
    await first.process.exited;

    await using second = await start();
    expect(second.output()).toContain("acls=2");
    expect(await produce(second.bootstrap, "guarded")).toBe("TOPIC_AUTHORIZATION_FAILED");
    const again = new Kafka({ clientId: "acl-crash", brokers: [second.bootstrap], logLevel: logLevel.NOTHING }).admin();
    await again.connect();
    const described = await again.describeAcls({ resourceType: ResourceType.ANY as any, resourcePatternType: PatternType.ANY as any, operation: AclOperation.ANY as any, permissionType: AclPermission.ANY as any });
    await again.disconnect();
    expect(described.resources.map((resource) => [resource.resourceName, resource.acls.map((acl) => [acl.principal, acl.operation, acl.permissionType])])).toEqual([
      ["guarded", [["User:ANONYMOUS", AclOperation.WRITE, AclPermission.DENY], ["User:ANONYMOUS", AclOperation.READ, AclPermission.ALLOW]]],
    ]);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 60_000);
