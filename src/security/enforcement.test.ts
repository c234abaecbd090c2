// Each handler's authorization check over TCP, with the responses Kafka's KafkaApis gives: User:ANONYMOUS (the
// PLAINTEXT principal) may do everything on topic "open" and READ group "g-open"; topic "closed" and group
// "g-closed" have ACLs for someone else only. Requests are built with the generated encoders.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ErrorCode } from "../protocol/error-codes.ts";
import { RawClient } from "../../test/helpers/raw-client.ts";
import { startTestServer, type TestServer } from "../../test/helpers/server.ts";
import { AclOperation as Op, AclPermission, PatternType, ResourceType, type AclBinding } from "./acl.ts";

const { TOPIC_AUTHORIZATION_FAILED, GROUP_AUTHORIZATION_FAILED, CLUSTER_AUTHORIZATION_FAILED } = ErrorCode;
const ANONYMOUS = "User:ANONYMOUS";

function binding(resourceType: number, resourceName: string, operation: number, principal = ANONYMOUS, patternType: number = PatternType.LITERAL): AclBinding {
  return { resourceType, resourceName, patternType, principal, host: "*", operation, permissionType: AclPermission.ALLOW };
}

let server: TestServer;
let client: RawClient;
const call = (apiKey: number, version: number, body: object): Promise<any> => client.call(apiKey, version, body);

beforeAll(async () => {
  server = await startTestServer({ authorizer: { superUsers: [], allowEveryoneIfNoAclFound: false } });
  server.broker.topics.create("open", 2);
  server.broker.topics.create("closed", 1);
  server.broker.authorizer!.acls.add([
    binding(ResourceType.TOPIC, "open", Op.ALL),
    binding(ResourceType.TOPIC, "closed", Op.ALL, "User:bob"),
    binding(ResourceType.GROUP, "g-open", Op.READ),
    binding(ResourceType.GROUP, "g-closed", Op.ALL, "User:bob"),
    binding(ResourceType.CLUSTER, "kafka-cluster", Op.DESCRIBE),
    binding(ResourceType.CLUSTER, "kafka-cluster", Op.ALTER),
  ]);
  client = await RawClient.connect(server.port);
});
afterAll(async () => {
  client.close();
  await server[Symbol.asyncDispose]();
});

describe("topic APIs", () => {
  test("ListOffsets needs DESCRIBE", async () => {
    const partitions = [{ partitionIndex: 0, timestamp: -1n }];
    const { topics } = await call(2, 1, { replicaId: -1, topics: [{ name: "open", partitions }, { name: "closed", partitions }] });
    expect(topics.map((topic: any) => topic.partitions[0].errorCode)).toEqual([0, TOPIC_AUTHORIZATION_FAILED]);
  });

  test("Fetch needs READ", async () => {
    const partitions = [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1024 }];
    const response = await call(1, 4, { replicaId: -1, maxWaitMs: 0, minBytes: 1, maxBytes: 4096, topics: [{ topic: "open", partitions }, { topic: "closed", partitions }] });
    expect(response.responses.map((topic: any) => [topic.topic, topic.partitions[0].errorCode])).toEqual([["open", 0], ["closed", TOPIC_AUTHORIZATION_FAILED]]);
  });

  test("DeleteRecords needs DELETE, CreatePartitions ALTER, DeleteTopics DELETE", async () => {
    const deleted = await call(21, 0, { topics: [{ name: "closed", partitions: [{ partitionIndex: 0, offset: 0n }] }], timeoutMs: 1000 });
    expect(deleted.topics[0].partitions[0].errorCode).toBe(TOPIC_AUTHORIZATION_FAILED);
    const grown = await call(37, 0, { topics: [{ name: "closed", count: 3, assignments: null }], timeoutMs: 1000, validateOnly: false });
    expect(grown.results[0].errorCode).toBe(TOPIC_AUTHORIZATION_FAILED);
    // An unknown name is refused the same way: an unauthorised client cannot probe which topics exist.
    const dropped = await call(20, 1, { topicNames: ["closed", "no-such-topic"], timeoutMs: 1000 });
    expect(dropped.responses.map((topic: any) => topic.errorCode)).toEqual([TOPIC_AUTHORIZATION_FAILED, TOPIC_AUTHORIZATION_FAILED]);
    expect(server.broker.topics.get("closed")!.partitions).toHaveLength(1);
  });

  test("DescribeConfigs needs DESCRIBE_CONFIGS, AlterConfigs and IncrementalAlterConfigs ALTER_CONFIGS; broker configs need the cluster", async () => {
    const described = await call(32, 1, {
      resources: [{ resourceType: 2, resourceName: "open", configurationKeys: ["retention.ms"] }, { resourceType: 2, resourceName: "closed", configurationKeys: null }, { resourceType: 4, resourceName: "1", configurationKeys: null }],
      includeSynonyms: false,
    });
    expect(described.results.map((result: any) => result.errorCode)).toEqual([0, TOPIC_AUTHORIZATION_FAILED, CLUSTER_AUTHORIZATION_FAILED]);
    const altered = await call(33, 0, { resources: [{ resourceType: 2, resourceName: "closed", configs: [] }], validateOnly: true });
    expect(altered.responses[0].errorCode).toBe(TOPIC_AUTHORIZATION_FAILED);
    const incremental = await call(44, 0, { resources: [{ resourceType: 2, resourceName: "closed", configs: [{ name: "retention.ms", configOperation: 0, value: "1000" }] }], validateOnly: false });
    expect(incremental.responses[0].errorCode).toBe(TOPIC_AUTHORIZATION_FAILED);
    expect(server.broker.topics.get("closed")!.configs.has("retention.ms")).toBe(false);
  });

  test("Metadata: listing all leaves out topics without DESCRIBE; named ones get TOPIC_AUTHORIZATION_FAILED; authorized operations", async () => {
    const all = await call(3, 8, { topics: null, includeClusterAuthorizedOperations: true, includeTopicAuthorizedOperations: true });
    expect(all.topics.map((topic: any) => topic.name)).toEqual(["open"]);
    const topicOperations = [3, 4, 5, 6, 7, 8, 10, 11].reduce((bits, operation) => bits | (1 << operation), 0);
    expect(all.topics[0].topicAuthorizedOperations).toBe(topicOperations);
    expect(all.clusterAuthorizedOperations).toBe((1 << Op.DESCRIBE) | (1 << Op.ALTER));

    const named = await call(3, 8, { topics: [{ name: "closed" }, { name: "open" }], allowAutoTopicCreation: true });
    expect(named.topics.map((topic: any) => [topic.name, topic.errorCode, topic.partitions.length])).toEqual([["closed", TOPIC_AUTHORIZATION_FAILED, 0], ["open", 0, 2]]);
  });

  test("Metadata and Produce auto-creation need CREATE on the cluster or the topic", async () => {
    server.broker.authorizer!.acls.add([binding(ResourceType.TOPIC, "auto-", Op.DESCRIBE, ANONYMOUS, PatternType.PREFIXED)]);
    const refused = await call(3, 4, { topics: [{ name: "auto-one" }], allowAutoTopicCreation: true });
    expect(refused.topics[0].errorCode).toBe(TOPIC_AUTHORIZATION_FAILED);
    expect(server.broker.topics.get("auto-one")).toBeUndefined();

    server.broker.authorizer!.acls.add([binding(ResourceType.TOPIC, "auto-one", Op.CREATE)]);
    const created = await call(3, 4, { topics: [{ name: "auto-one" }], allowAutoTopicCreation: true });
    expect(created.topics[0].errorCode).toBe(0);
    expect(server.broker.topics.get("auto-one")).toBeDefined();
  });
});

describe("group APIs", () => {
  test("FindCoordinator needs DESCRIBE on the group (READ implies it)", async () => {
    expect((await call(10, 1, { key: "g-closed", keyType: 0 })).errorCode).toBe(GROUP_AUTHORIZATION_FAILED);
    expect((await call(10, 1, { key: "g-open", keyType: 0 })).errorCode).toBe(0);
    const batched = await call(10, 4, { keyType: 0, coordinatorKeys: ["g-open", "g-closed"] });
    expect(batched.coordinators.map((coordinator: any) => coordinator.errorCode)).toEqual([0, GROUP_AUTHORIZATION_FAILED]);
  });

  test("Heartbeat, SyncGroup and LeaveGroup need READ on the group", async () => {
    expect((await call(12, 0, { groupId: "g-closed", generationId: 1, memberId: "m" })).errorCode).toBe(GROUP_AUTHORIZATION_FAILED);
    expect((await call(14, 0, { groupId: "g-closed", generationId: 1, memberId: "m", assignments: [] })).errorCode).toBe(GROUP_AUTHORIZATION_FAILED);
    expect((await call(13, 0, { groupId: "g-closed", memberId: "m" })).errorCode).toBe(GROUP_AUTHORIZATION_FAILED);
    expect((await call(12, 0, { groupId: "g-open", generationId: 1, memberId: "m" })).errorCode).not.toBe(GROUP_AUTHORIZATION_FAILED);
  });

  test("OffsetCommit needs READ on the group and on each topic", async () => {
    const topics = [
      { name: "open", partitions: [{ partitionIndex: 0, committedOffset: 0n, committedMetadata: "" }] },
      { name: "closed", partitions: [{ partitionIndex: 0, committedOffset: 0n, committedMetadata: "" }] },
    ];
    const denied = await call(8, 2, { groupId: "g-closed", generationIdOrMemberEpoch: -1, memberId: "", retentionTimeMs: -1n, topics });
    expect(denied.topics.map((topic: any) => topic.partitions[0].errorCode)).toEqual([GROUP_AUTHORIZATION_FAILED, GROUP_AUTHORIZATION_FAILED]);
    const mixed = await call(8, 2, { groupId: "g-open", generationIdOrMemberEpoch: -1, memberId: "", retentionTimeMs: -1n, topics });
    expect(mixed.topics.map((topic: any) => topic.partitions[0].errorCode)).toEqual([0, TOPIC_AUTHORIZATION_FAILED]);
  });

  test("OffsetFetch needs DESCRIBE on the group and the topics; all-topics leaves out undescribable ones", async () => {
    const topics = [{ name: "open", partitionIndexes: [0] }, { name: "closed", partitionIndexes: [0] }];
    const v1 = await call(9, 1, { groupId: "g-closed", topics });
    expect(v1.topics.map((topic: any) => topic.partitions[0].errorCode)).toEqual([GROUP_AUTHORIZATION_FAILED, GROUP_AUTHORIZATION_FAILED]);
    const v3 = await call(9, 3, { groupId: "g-closed", topics });
    expect(v3.errorCode).toBe(GROUP_AUTHORIZATION_FAILED);
    const mixed = await call(9, 3, { groupId: "g-open", topics });
    expect(mixed.errorCode).toBe(0);
    expect(mixed.topics.map((topic: any) => [topic.name, topic.partitions[0].errorCode, topic.partitions[0].committedOffset])).toEqual([["open", 0, 0n], ["closed", TOPIC_AUTHORIZATION_FAILED, -1n]]);
    // "closed" has an offset committed for g-open by someone allowed to: the all-topics answer still leaves it out.
    server.broker.groups.commitOffsets({ groupId: "g-open", generationId: -1, memberId: "", groupInstanceId: null, offsets: [{ topic: "closed", partition: 0, value: { offset: 5, leaderEpoch: -1, metadata: "", commitTimestamp: Date.now() } }] });
    const all = await call(9, 3, { groupId: "g-open", topics: null });
    expect(all.topics.map((topic: any) => topic.name)).toEqual(["open"]);
  });

  test("DescribeGroups needs DESCRIBE; ListGroups lists only describable groups; DeleteGroups and OffsetDelete need DELETE", async () => {
    server.broker.groups.commitOffsets({ groupId: "g-closed", generationId: -1, memberId: "", groupInstanceId: null, offsets: [{ topic: "open", partition: 0, value: { offset: 1, leaderEpoch: -1, metadata: "", commitTimestamp: Date.now() } }] });
    const described = await call(15, 3, { groups: ["g-open", "g-closed"], includeAuthorizedOperations: true });
    expect(described.groups.map((group: any) => [group.groupId, group.errorCode])).toEqual([["g-open", 0], ["g-closed", GROUP_AUTHORIZATION_FAILED]]);
    expect(described.groups[0].authorizedOperations).toBe((1 << Op.READ) | (1 << Op.DESCRIBE));

    // DESCRIBE on the cluster (here implied by ALTER too) lists every group; without it, only the describable ones.
    expect((await call(16, 0, {})).groups.map((group: any) => group.groupId).sort()).toEqual(["g-closed", "g-open"]);
    const clusterFilter = { ...binding(ResourceType.CLUSTER, "kafka-cluster", Op.ANY), permissionType: AclPermission.ANY };
    const [removed] = server.broker.authorizer!.acls.delete([clusterFilter]);
    expect(removed).toHaveLength(2);
    try {
      expect((await call(16, 0, {})).groups.map((group: any) => group.groupId)).toEqual(["g-open"]);
    } finally {
      server.broker.authorizer!.acls.add(removed!);
    }

    const deleted = await call(42, 0, { groupsNames: ["g-closed", "g-open"] });
    expect(deleted.results.map((result: any) => result.errorCode)).toEqual([GROUP_AUTHORIZATION_FAILED, GROUP_AUTHORIZATION_FAILED]);
    const offsetDelete = await call(47, 0, { groupId: "g-open", topics: [{ name: "open", partitions: [{ partitionIndex: 0 }] }] });
    expect(offsetDelete.errorCode).toBe(GROUP_AUTHORIZATION_FAILED);
  });
});

describe("ACL APIs", () => {
  test("DescribeAcls v0 sees literal bindings only; an UNKNOWN code is INVALID_REQUEST", async () => {
    const v0 = await call(29, 0, { resourceTypeFilter: ResourceType.TOPIC, resourceNameFilter: null, principalFilter: null, hostFilter: null, operation: Op.ANY, permissionType: AclPermission.ANY });
    expect(v0.errorCode).toBe(0);
    expect(v0.resources.map((resource: any) => resource.resourceName).sort()).toEqual(["auto-one", "closed", "open"]);
    const invalid = await call(29, 1, { resourceTypeFilter: ResourceType.TOPIC, resourceNameFilter: null, patternTypeFilter: PatternType.ANY, principalFilter: null, hostFilter: null, operation: Op.UNKNOWN, permissionType: AclPermission.ANY });
    expect(invalid.errorCode).toBe(ErrorCode.INVALID_REQUEST);
  });

  test("CreateAcls validates each binding as Kafka does and stores the valid ones", async () => {
    const creation = { resourceType: ResourceType.TOPIC, resourceName: "made", resourcePatternType: PatternType.LITERAL, principal: "User:carol", host: "*", operation: Op.READ, permissionType: AclPermission.ALLOW };
    const response = await call(30, 1, {
      creations: [
        creation,
        { ...creation, resourcePatternType: PatternType.MATCH },
        { ...creation, resourceType: ResourceType.CLUSTER, resourceName: "other-cluster" },
        { ...creation, principal: "carol" },
        { ...creation, operation: Op.ANY },
      ],
    });
    expect(response.results.map((result: any) => result.errorCode)).toEqual([0, ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST]);
    expect(server.broker.authorizer!.acls.list().filter((acl) => acl.principal === "User:carol")).toEqual([
      { resourceType: ResourceType.TOPIC, resourceName: "made", patternType: PatternType.LITERAL, principal: "User:carol", host: "*", operation: Op.READ, permissionType: AclPermission.ALLOW },
    ]);
  });

  test("without an authorizer the ACL APIs answer SECURITY_DISABLED", async () => {
    await using plain = await startTestServer();
    const plainClient = await RawClient.connect(plain.port);
    try {
      const described = await plainClient.call(29, 1, { resourceTypeFilter: ResourceType.ANY, resourceNameFilter: null, patternTypeFilter: PatternType.ANY, principalFilter: null, hostFilter: null, operation: Op.ANY, permissionType: AclPermission.ANY });
      expect(described.errorCode).toBe(ErrorCode.SECURITY_DISABLED);
      const created = await plainClient.call(30, 1, { creations: [{ resourceType: ResourceType.TOPIC, resourceName: "x", resourcePatternType: PatternType.LITERAL, principal: ANONYMOUS, host: "*", operation: Op.READ, permissionType: AclPermission.ALLOW }] });
      expect(created.results[0].errorCode).toBe(ErrorCode.SECURITY_DISABLED);
      const deleted = await plainClient.call(31, 1, { filters: [{ resourceTypeFilter: ResourceType.ANY, resourceNameFilter: null, patternTypeFilter: PatternType.ANY, principalFilter: null, hostFilter: null, operation: Op.ANY, permissionType: AclPermission.ANY }] });
      expect(deleted.filterResults[0].errorCode).toBe(ErrorCode.SECURITY_DISABLED);
    } finally {
      plainClient.close();
    }
  });
});

describe("cluster-level admin APIs", () => {
  test("DescribeLogDirs, Describe/AlterUserScramCredentials and Describe/AlterClientQuotas need the cluster operations Kafka asks", async () => {
    await using bare = await startTestServer({ authorizer: { superUsers: [], allowEveryoneIfNoAclFound: false } });
    const raw = await RawClient.connect(bare.port);
    const logDirs = await raw.call(35, 4, { topics: null });
    expect(logDirs).toMatchObject({ errorCode: CLUSTER_AUTHORIZATION_FAILED, results: [] });
    const scram = await raw.call(50, 0, { users: null });
    expect(scram.errorCode).toBe(CLUSTER_AUTHORIZATION_FAILED);
    const upsertion = { name: "mallory", mechanism: 1, iterations: 4096, salt: new Uint8Array(16), saltedPassword: new Uint8Array(32) };
    const altered = await raw.call(51, 0, { deletions: [], upsertions: [upsertion] });
    expect(altered.results).toEqual([{ user: "mallory", errorCode: CLUSTER_AUTHORIZATION_FAILED, errorMessage: null }]);
    const entity = [{ entityType: "client-id", entityName: "c" }];
    const quotas = await raw.call(49, 1, { entries: [{ entity, ops: [{ key: "producer_byte_rate", value: 1024, remove: false }] }], validateOnly: false });
    expect(quotas.entries[0].errorCode).toBe(CLUSTER_AUTHORIZATION_FAILED);
    const described = await raw.call(48, 1, { components: [], strict: false });
    expect(described.errorCode).toBe(CLUSTER_AUTHORIZATION_FAILED);

    // Granted: ALTER lets a user be added, DESCRIBE lists it; ALTER_CONFIGS lets a quota be set.
    bare.broker.authorizer!.acls.add([
      binding(ResourceType.CLUSTER, "kafka-cluster", Op.ALTER),
      binding(ResourceType.CLUSTER, "kafka-cluster", Op.ALTER_CONFIGS),
    ]);
    expect((await raw.call(51, 0, { deletions: [], upsertions: [upsertion] })).results[0].errorCode).toBe(0);
    expect((await raw.call(50, 0, { users: null })).results.map((r: any) => r.user)).toEqual(["mallory"]); // ALTER implies DESCRIBE
    expect((await raw.call(49, 1, { entries: [{ entity, ops: [{ key: "producer_byte_rate", value: 1024, remove: false }] }], validateOnly: false })).entries[0].errorCode).toBe(0);
    expect((await raw.call(48, 1, { components: [], strict: false })).entries).toHaveLength(1); // ALTER_CONFIGS implies DESCRIBE_CONFIGS
    raw.close();
  });
});
