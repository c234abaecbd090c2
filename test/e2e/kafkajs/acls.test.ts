// kafkajs 2.2.4 against kgate with the ACL authorizer on (allow.everyone.if.no.acl.found=false). On PLAINTEXT every
// client is User:ANONYMOUS, as in Kafka. The test seeds one ACL by hand (ANONYMOUS may DESCRIBE and ALTER the
// cluster, so it can manage ACLs, as an operator's super user would), then manages the rest through kafkajs's admin
// (CreateAcls v1, DescribeAcls v1, DeleteAcls v1) and checks what each denial looks like to the client: topic
// creation refused, produce and consume failing with TOPIC_AUTHORIZATION_FAILED, a group join with
// GROUP_AUTHORIZATION_FAILED, Metadata leaving out a topic; and that allowing restores each. Last, ACLs survive a
// restart on the file log.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Kafka, logLevel, type Admin } from "kafkajs";
import { parseConfig } from "../../../src/config.ts";
import { AclOperation, AclPermission, PatternType, ResourceType, type AclBinding } from "../../../src/security/acl.ts";
import { setLogLevel, setLogSink } from "../../../src/util/logger.ts";
import { startTestServer, waitFor, type TestServer } from "../../helpers/server.ts";

const ANONYMOUS = "User:ANONYMOUS";
const authorizer = { superUsers: ["User:admin"], allowEveryoneIfNoAclFound: false };

/** An ACL entry in kafkajs's shape (its enums have the wire codes). */
function entry(resourceType: number, resourceName: string, operation: number, permissionType: number = AclPermission.ALLOW, patternType: number = PatternType.LITERAL, host = "*"): any {
  return { resourceType, resourceName, resourcePatternType: patternType, principal: ANONYMOUS, host, operation, permissionType };
}

/** The error types kafkajs reports, looking inside its wrappers (retriable/aggregate errors keep the cause). */
function errorTypes(error: any, seen = new Set<any>()): string[] {
  if (!error || typeof error !== "object" || seen.has(error)) return [];
  seen.add(error);
  const own = typeof error.type === "string" ? [error.type] : [];
  const nested = [error.originalError, error.cause, ...(Array.isArray(error.errors) ? error.errors : [])];
  return [...own, ...nested.flatMap((inner) => errorTypes(inner, seen))];
}

async function failure(promise: Promise<unknown>): Promise<string[]> {
  try {
    await promise;
  } catch (error) {
    return errorTypes(error);
  }
  throw new Error("expected the call to fail");
}

function seedClusterAdmin(server: TestServer): void {
  const binding = (operation: number): AclBinding => ({
    resourceType: ResourceType.CLUSTER,
    resourceName: "kafka-cluster",
    patternType: PatternType.LITERAL,
    principal: ANONYMOUS,
    host: "*",
    operation,
    permissionType: AclPermission.ALLOW,
  });
  server.broker.authorizer!.acls.add([binding(AclOperation.DESCRIBE), binding(AclOperation.ALTER)]);
}

describe("kafkajs with ACLs", () => {
  let server: TestServer;
  let kafka: Kafka;
  let admin: Admin;
  const logLines: string[] = [];

  beforeAll(async () => {
    server = await startTestServer({ authorizer });
    server.broker.groups.settings.initialRebalanceDelayMs = 0;
    seedClusterAdmin(server);
    setLogLevel("info");
    setLogSink((line) => logLines.push(line));
    kafka = new Kafka({ clientId: "kgate-acl-e2e", brokers: [server.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 1, initialRetryTime: 50 } });
    admin = kafka.admin();
    await admin.connect();
  });
  afterAll(async () => {
    setLogSink((line) => process.stderr.write(line + "\n"));
    await admin?.disconnect();
    await server?.[Symbol.asyncDispose]();
  });

  test("createTopics is refused without CREATE, allowed with a prefixed CREATE ACL", async () => {
    expect(await failure(admin.createTopics({ topics: [{ topic: "acl-readonly" }], waitForLeaders: false }))).toContain("TOPIC_AUTHORIZATION_FAILED");
    expect(server.broker.topics.get("acl-readonly")).toBeUndefined();

    expect(await admin.createAcls({ acl: [entry(ResourceType.TOPIC, "acl-", AclOperation.CREATE, AclPermission.ALLOW, PatternType.PREFIXED)] })).toBe(true);
    const topics = ["acl-readonly", "acl-writeonly", "acl-hidden"].map((topic) => ({ topic, numPartitions: 1 }));
    expect(await admin.createTopics({ topics, waitForLeaders: false })).toBe(true);
    for (const { topic } of topics) expect(server.broker.topics.get(topic)).toBeDefined();
    // Prefixed CREATE does not cover other names.
    expect(await failure(admin.createTopics({ topics: [{ topic: "other-topic" }], waitForLeaders: false }))).toContain("TOPIC_AUTHORIZATION_FAILED");
  });

  test("createAcls, describeAcls and deleteAcls round-trip", async () => {
    await admin.createAcls({
      acl: [
        entry(ResourceType.TOPIC, "acl-readonly", AclOperation.READ),
        entry(ResourceType.TOPIC, "acl-writeonly", AclOperation.WRITE),
        entry(ResourceType.GROUP, "acl-group", AclOperation.READ),
        entry(ResourceType.GROUP, "acl-nojoin", AclOperation.DESCRIBE),
        entry(ResourceType.TOPIC, "scratch", AclOperation.ALTER, AclPermission.DENY, PatternType.LITERAL, "10.1.2.3"),
      ],
    });
    const described = await admin.describeAcls({
      resourceType: ResourceType.TOPIC as any,
      resourcePatternType: PatternType.ANY as any,
      operation: AclOperation.ANY as any,
      permissionType: AclPermission.ANY as any,
    });
    const summary = described.resources
      .flatMap((resource) => resource.acls.map((acl) => `${resource.resourceName}/${resource.resourcePatternType}/${acl.operation}/${acl.permissionType}/${acl.host}`))
      .sort();
    expect(summary).toEqual(["acl-/4/5/3/*", "acl-readonly/3/3/3/*", "acl-writeonly/3/4/3/*", "scratch/3/7/2/10.1.2.3"]);

    // MATCH finds what applies to one name: the literal binding and the prefixed one.
    const matching = await admin.describeAcls({
      resourceType: ResourceType.TOPIC as any,
      resourceName: "acl-readonly",
      resourcePatternType: PatternType.MATCH as any,
      operation: AclOperation.ANY as any,
      permissionType: AclPermission.ANY as any,
    });
    expect(matching.resources.map((resource) => resource.resourceName).sort()).toEqual(["acl-", "acl-readonly"]);

    const deleted = await admin.deleteAcls({
      filters: [{ resourceType: ResourceType.TOPIC as any, resourceName: "scratch", resourcePatternType: PatternType.LITERAL as any, operation: AclOperation.ANY as any, permissionType: AclPermission.ANY as any }],
    });
    expect(deleted.filterResponses).toHaveLength(1);
    expect(deleted.filterResponses[0]!.errorCode).toBe(0);
    expect(deleted.filterResponses[0]!.matchingAcls.map((acl) => [acl.resourceName, acl.host, acl.operation])).toEqual([["scratch", "10.1.2.3", AclOperation.ALTER]]);
    expect(server.broker.authorizer!.acls.list().some((binding) => binding.resourceName === "scratch")).toBe(false);
  });

  test("produce without WRITE fails with TOPIC_AUTHORIZATION_FAILED; with WRITE it succeeds", async () => {
    const producer = kafka.producer({ retry: { retries: 0 } });
    await producer.connect();
    try {
      // READ implies DESCRIBE, so kafkajs sees the topic in Metadata and the Produce itself is refused.
      expect(await failure(producer.send({ topic: "acl-readonly", acks: -1, messages: [{ value: "nope" }] }))).toContain("TOPIC_AUTHORIZATION_FAILED");
      expect(server.broker.topics.get("acl-readonly")!.partitions[0]!.highWatermark).toBe(0);
      await producer.send({ topic: "acl-writeonly", acks: -1, messages: [{ value: "one" }, { value: "two" }] });
      expect(server.broker.topics.get("acl-writeonly")!.partitions[0]!.highWatermark).toBe(2);
      // A literal DENY beats the ALLOW, for this host ('*').
      await admin.createAcls({ acl: [entry(ResourceType.TOPIC, "acl-writeonly", AclOperation.WRITE, AclPermission.DENY)] });
      expect(await failure(producer.send({ topic: "acl-writeonly", acks: -1, messages: [{ value: "three" }] }))).toContain("TOPIC_AUTHORIZATION_FAILED");
      // A DENY for another host does not apply to 127.0.0.1.
      await admin.deleteAcls({ filters: [{ resourceType: ResourceType.TOPIC as any, resourceName: "acl-writeonly", resourcePatternType: PatternType.LITERAL as any, operation: AclOperation.WRITE as any, permissionType: AclPermission.DENY as any }] });
      await admin.createAcls({ acl: [entry(ResourceType.TOPIC, "acl-writeonly", AclOperation.WRITE, AclPermission.DENY, PatternType.LITERAL, "10.1.2.3")] });
      await producer.send({ topic: "acl-writeonly", acks: -1, messages: [{ value: "three" }] });
      expect(server.broker.topics.get("acl-writeonly")!.partitions[0]!.highWatermark).toBe(3);
    } finally {
      await producer.disconnect();
    }
    const denials = logLines.filter((line) => line.includes("authorization denied") && line.includes("api=Produce"));
    expect(denials.length).toBeGreaterThanOrEqual(2);
    expect(denials[0]).toContain("principal=User:ANONYMOUS");
    expect(denials[0]).toContain("operation=WRITE");
    expect(denials[0]).toContain("resource=TOPIC:acl-readonly");
    expect(denials[0]).toMatch(/client=127\.0\.0\.1:\d+/);
    expect(server.broker.metrics.authorizationDenials.get({ api: "Produce", operation: "WRITE", resource_type: "TOPIC" })).toBeGreaterThanOrEqual(2);
  });

  test("a group join without READ on the group fails with GROUP_AUTHORIZATION_FAILED", async () => {
    const consumer = kafka.consumer({ groupId: "acl-nojoin", retry: { retries: 0, restartOnFailure: async () => false } });
    const crashed = new Promise<string[]>((resolve) => consumer.on(consumer.events.CRASH, ({ payload }) => resolve(errorTypes(payload.error))));
    await consumer.connect();
    await consumer.subscribe({ topic: "acl-readonly", fromBeginning: true });
    await consumer.run({ eachMessage: async () => {} });
    expect(await crashed).toContain("GROUP_AUTHORIZATION_FAILED");
    await consumer.disconnect();
    expect(server.broker.metrics.authorizationDenials.get({ api: "JoinGroup", operation: "READ", resource_type: "GROUP" })).toBeGreaterThanOrEqual(1);
  });

  test("consuming without READ on the topic fails with TOPIC_AUTHORIZATION_FAILED; allowing READ restores it", async () => {
    const denied = kafka.consumer({ groupId: "acl-group", maxWaitTimeInMs: 100, retry: { retries: 0, restartOnFailure: async () => false } });
    const crashed = new Promise<string[]>((resolve) => denied.on(denied.events.CRASH, ({ payload }) => resolve(errorTypes(payload.error))));
    await denied.connect();
    await denied.subscribe({ topic: "acl-writeonly", fromBeginning: true });
    await denied.run({ eachMessage: async () => {} });
    expect(await crashed).toContain("TOPIC_AUTHORIZATION_FAILED");
    await denied.disconnect();
    expect(server.broker.metrics.authorizationDenials.get({ api: "Fetch", operation: "READ", resource_type: "TOPIC" })).toBeGreaterThanOrEqual(1);

    await admin.createAcls({ acl: [entry(ResourceType.TOPIC, "acl-writeonly", AclOperation.READ)] });
    const consumer = kafka.consumer({ groupId: "acl-group", maxWaitTimeInMs: 100 });
    const values: string[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic: "acl-writeonly", fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void values.push(message.value!.toString()) });
    try {
      await waitFor(() => values.length >= 3, { timeoutMs: 20_000 });
      expect(values).toEqual(["one", "two", "three"]);
    } finally {
      await consumer.disconnect();
    }
  });

  test("Metadata leaves out a topic the principal may not DESCRIBE; allowing DESCRIBE shows it", async () => {
    expect(await admin.listTopics()).not.toContain("acl-hidden");
    expect((await admin.listTopics()).sort()).toEqual(["acl-readonly", "acl-writeonly"]);
    // Asked by name: TOPIC_AUTHORIZATION_FAILED rather than the topic.
    expect(await failure(admin.fetchTopicMetadata({ topics: ["acl-hidden"] }))).toContain("TOPIC_AUTHORIZATION_FAILED");
    await admin.createAcls({ acl: [entry(ResourceType.TOPIC, "acl-hidden", AclOperation.DESCRIBE)] });
    expect(await admin.listTopics()).toContain("acl-hidden");
    const { topics } = await admin.fetchTopicMetadata({ topics: ["acl-hidden"] });
    expect(topics[0]!.partitions).toHaveLength(1);
  });

  test("ACL APIs need the cluster: without ALTER CreateAcls is CLUSTER_AUTHORIZATION_FAILED", async () => {
    await admin.deleteAcls({ filters: [{ resourceType: ResourceType.CLUSTER as any, resourcePatternType: PatternType.LITERAL as any, operation: AclOperation.ALTER as any, permissionType: AclPermission.ALLOW as any }] });
    expect(await failure(admin.createAcls({ acl: [entry(ResourceType.TOPIC, "x", AclOperation.READ)] }))).toContain("CLUSTER_AUTHORIZATION_FAILED");
    seedClusterAdmin(server);
  });
});

describe("kafkajs with ACLs: super users and restarts", () => {
  test("a super user passes without any ACL", async () => {
    await using server = await startTestServer({ authorizer: { superUsers: [ANONYMOUS], allowEveryoneIfNoAclFound: false } });
    const kafka = new Kafka({ clientId: "kgate-acl-super", brokers: [server.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 1 } });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: "super-topic", acks: -1, messages: [{ value: "v" }] });
    await producer.disconnect();
    expect(server.broker.topics.get("super-topic")!.partitions[0]!.highWatermark).toBe(1);
  });

  test("ACLs survive a restart with the file log", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "kgate-acls-"));
    const fileConfig = { ...parseConfig(["--listen", "127.0.0.1:0", "--data", dataDir, "--flush", "never"], {})!, authorizer };
    try {
      {
        await using server = await startTestServer(fileConfig);
        seedClusterAdmin(server);
        server.broker.topics.create("kept", 1);
        const admin = new Kafka({ clientId: "acl-restart", brokers: [server.bootstrap], logLevel: logLevel.NOTHING }).admin();
        await admin.connect();
        await admin.createAcls({ acl: [entry(ResourceType.TOPIC, "kept", AclOperation.READ), entry(ResourceType.TOPIC, "kept", AclOperation.WRITE, AclPermission.DENY)] });
        await admin.disconnect();
      }
      await using server = await startTestServer(fileConfig);
      expect(server.broker.authorizer!.acls.size).toBe(4);
      const kafka = new Kafka({ clientId: "acl-restart", brokers: [server.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
      const admin = kafka.admin();
      await admin.connect();
      const described = await admin.describeAcls({ resourceType: ResourceType.TOPIC as any, resourceName: "kept", resourcePatternType: PatternType.LITERAL as any, operation: AclOperation.ANY as any, permissionType: AclPermission.ANY as any });
      expect(described.resources[0]!.acls.map((acl) => `${acl.operation}/${acl.permissionType}`).sort()).toEqual(["3/3", "4/2"]);
      await admin.disconnect();
      const producer = kafka.producer({ retry: { retries: 0 } });
      await producer.connect();
      expect(await failure(producer.send({ topic: "kept", acks: 1, messages: [{ value: "v" }] }))).toContain("TOPIC_AUTHORIZATION_FAILED");
      await producer.disconnect();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
