// kafka-python 2.0.2 (Debian) admin ACL calls against kgate with the ACL authorizer on: CreateAcls/DescribeAcls/
// DeleteAcls at the versions it sends (v0/v1), including a prefixed binding and a MATCH filter, and its producer's
// TopicAuthorizationFailedError until the DENY is deleted and WRITE allowed. acl_scenario.py does the client side.

import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { AclOperation, AclPermission, PatternType, ResourceType } from "../../../src/security/acl.ts";
import { startTestServer } from "../../helpers/server.ts";

const PYTHON = "/usr/bin/python3";
const available = Bun.spawnSync([PYTHON, "-c", "import kafka"]).exitCode === 0;

if (!available) console.log("SKIPPED: kafka-python with ACLs: python3-kafka is not installed (npm run setup installs it)");
describe.skipIf(!available)("kafka-python with ACLs", () => {
  test("create, describe (ANY and MATCH), delete; produce refused until allowed", async () => {
    await using server = await startTestServer({ authorizer: { superUsers: [], allowEveryoneIfNoAclFound: false } });
    server.broker.topics.create("py-topic", 1);
    // kafka-python's admin needs the cluster: let ANONYMOUS manage ACLs (ALL covers DESCRIBE and ALTER).
    server.broker.authorizer!.acls.add([{ resourceType: ResourceType.CLUSTER, resourceName: "kafka-cluster", patternType: PatternType.LITERAL, principal: "User:ANONYMOUS", host: "*", operation: AclOperation.ALL, permissionType: AclPermission.ALLOW }]);
    const child = Bun.spawn([PYTHON, join(import.meta.dir, "acl_scenario.py"), server.bootstrap], { stdout: "pipe", stderr: "pipe" });
    const timer = setTimeout(() => child.kill(9), 60_000);
    const [code, out, err] = await Promise.all([child.exited, new Response(child.stdout).text(), new Response(child.stderr).text()]);
    clearTimeout(timer);
    if (code !== 0) throw new Error(`acl_scenario.py exited ${code}: ${err.slice(-3000)}`);
    const result = JSON.parse(out.trim().split("\n").at(-1)!);
    expect(result).toEqual({
      created: 3,
      failed: 0,
      described: ["py-/PREFIXED/DESCRIBE/ALLOW", "py-topic/LITERAL/READ/ALLOW", "py-topic/LITERAL/WRITE/DENY"],
      describeError: "NoError",
      matched: ["py-/PREFIXED/DESCRIBE/ALLOW", "py-topic/LITERAL/READ/ALLOW", "py-topic/LITERAL/WRITE/DENY"],
      produce: "TopicAuthorizationFailedError",
      deleted: [1],
      produceAfterAllow: "accepted",
    });
    expect(server.broker.topics.get("py-topic")!.partitions[0]!.highWatermark).toBe(1);
  }, 70_000);
});
