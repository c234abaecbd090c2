// @platformatic/kafka's admin ACL calls against kgate with the ACL authorizer on: CreateAcls, DescribeAcls and
// DeleteAcls v3 (flexible, the newest), and its producer refused with TOPIC_AUTHORIZATION_FAILED until allowed.

import { expect, test } from "bun:test";
import { Admin, Producer, stringSerializers } from "@platformatic/kafka";
import { AclOperation, AclPermission, PatternType, ResourceType } from "../../../src/security/acl.ts";
import { startTestServer } from "../../helpers/server.ts";

const ANONYMOUS = "User:ANONYMOUS";

/** Every error code carried by an error or the errors it wraps. */
function errorCodes(error: any, seen = new Set<any>()): string[] {
  if (!error || typeof error !== "object" || seen.has(error)) return [];
  seen.add(error);
  const own = [error.apiId, error.code].filter((value) => typeof value === "string");
  const nested = [error.cause, ...(Array.isArray(error.errors) ? error.errors : []), ...Object.values(error.response?.errors ?? {})];
  return [...own, ...nested.flatMap((inner) => errorCodes(inner, seen))];
}

test("@platformatic/kafka: createAcls, describeAcls, deleteAcls (v3); produce refused, then allowed", async () => {
  await using server = await startTestServer({ authorizer: { superUsers: [], allowEveryoneIfNoAclFound: false } });
  server.broker.topics.create("plat-topic", 1);
  server.broker.authorizer!.acls.add([{ resourceType: ResourceType.CLUSTER, resourceName: "kafka-cluster", patternType: PatternType.LITERAL, principal: ANONYMOUS, host: "*", operation: AclOperation.ALL, permissionType: AclPermission.ALLOW }]);
  const bootstrapBrokers = [server.bootstrap];
  const admin = new Admin({ clientId: "kgate-acl-plat", bootstrapBrokers });
  const producer = new Producer({ clientId: "kgate-acl-plat", bootstrapBrokers, serializers: stringSerializers, retries: 0 });
  const acl = (operation: number, permissionType: number) =>
    ({ resourceType: ResourceType.TOPIC, resourceName: "plat-topic", resourcePatternType: PatternType.LITERAL, principal: ANONYMOUS, host: "*", operation, permissionType }) as any;
  try {
    await admin.createAcls({ creations: [acl(AclOperation.DESCRIBE, AclPermission.ALLOW)] });
    const described = await admin.describeAcls({
      filter: { resourceType: ResourceType.TOPIC, resourceName: null, resourcePatternType: PatternType.ANY, principal: null, host: null, operation: AclOperation.ANY, permissionType: AclPermission.ANY } as any,
    });
    expect(described.map((resource) => [resource.resourceName, resource.acls.map((entry) => [entry.principal, entry.operation, entry.permissionType])])).toEqual([
      ["plat-topic", [[ANONYMOUS, AclOperation.DESCRIBE, AclPermission.ALLOW]]],
    ]);

    let refused: unknown = null;
    await producer.send({ messages: [{ topic: "plat-topic", partition: 0, value: "refused" }], acks: 1 }).catch((error) => (refused = error));
    expect(refused).not.toBeNull();
    expect(JSON.stringify(errorCodes(refused)) + String(refused)).toMatch(/TOPIC_AUTHORIZATION_FAILED|Topic authorization failed/i);

    await admin.createAcls({ creations: [acl(AclOperation.WRITE, AclPermission.ALLOW)] });
    await producer.send({ messages: [{ topic: "plat-topic", partition: 0, value: "accepted" }], acks: 1 });
    expect(server.broker.topics.get("plat-topic")!.partitions[0]!.highWatermark).toBe(1);

    const deleted = await admin.deleteAcls({
      filters: [{ resourceType: ResourceType.TOPIC, resourceName: "plat-topic", resourcePatternType: PatternType.LITERAL, principal: ANONYMOUS, host: null, operation: AclOperation.WRITE, permissionType: AclPermission.ANY } as any],
    });
    expect(deleted.map((entry) => entry.operation)).toEqual([AclOperation.WRITE]);
    expect(server.broker.authorizer!.acls.list().map((binding) => binding.operation).sort()).toEqual([AclOperation.ALL, AclOperation.DESCRIBE]);
  } finally {
    await producer.close();
    await admin.close();
  }
});
