// Authentication, authorization and quotas together, as an operator sets them up: SCRAM users on a SASL listener
// next to a PLAINTEXT one, `--authorizer acl` with `admin` as the super user. kafkajs as admin writes ACLs over the
// protocol (CreateAcls) and a produce quota for alice (AlterClientQuotas); alice then may produce to and consume
// "orders" only, her Produce answers carry throttle time, bob (authenticated, no ACLs) and anonymous PLAINTEXT
// clients are refused, and an idempotent transactional producer needs WRITE on its transactional id.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { Kafka, logLevel, type Admin } from "kafkajs";
import { Admin as PlatformaticAdmin } from "@platformatic/kafka";
import { parseConfig } from "../../../src/config.ts";
import { AclOperation, AclPermission, PatternType, ResourceType } from "../../../src/security/acl.ts";
import { startTestServer, type TestServer } from "../../helpers/server.ts";

let server: TestServer;
const ports: Record<string, number> = {};

beforeAll(async () => {
  const config = parseConfig([
    "--memory",
    "--listeners", "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
    "--sasl-users-bootstrap", "admin:admin-secret,alice:alice-secret,bob:bob-secret",
    "--authorizer", "acl",
    "--super-users", "User:admin",
  ], {})!;
  server = await startTestServer({ security: config.security, authorizer: config.authorizer, quotaWindow: { windowMs: 200, windowCount: 5 } });
  server.broker.groups.settings.initialRebalanceDelayMs = 0;
  for (const listener of server.listeners) ports[listener.name] = listener.port;
});
afterAll(async () => {
  await server?.[Symbol.asyncDispose]();
});

function client(user: string | null, clientId = `kafkajs-${user ?? "anonymous"}`): Kafka {
  const port = user === null ? ports.PLAINTEXT : ports.SASL_PLAINTEXT;
  return new Kafka({
    clientId,
    brokers: [`127.0.0.1:${port}`],
    ...(user === null ? {} : { sasl: { mechanism: "scram-sha-256" as const, username: user, password: `${user}-secret` } }),
    logLevel: logLevel.NOTHING,
    retry: { retries: 1, initialRetryTime: 50 },
  });
}

function acl(resourceType: number, resourceName: string, operation: number, principal = "User:alice"): any {
  return { resourceType, resourceName, resourcePatternType: PatternType.LITERAL, principal, host: "*", operation, permissionType: AclPermission.ALLOW };
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return JSON.stringify(error, Object.getOwnPropertyNames(error)) + String(error);
  }
  throw new Error("expected a refusal");
}

test("a SASL super user writes ACLs and quotas; alice gets what they grant, bob and anonymous nothing", async () => {
  const admin: Admin = client("admin").admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: "orders" }, { topic: "secrets" }] });
  await admin.createAcls({
    acl: [
      acl(ResourceType.TOPIC, "orders", AclOperation.WRITE),
      acl(ResourceType.TOPIC, "orders", AclOperation.READ),
      acl(ResourceType.GROUP, "alice-group", AclOperation.READ),
      acl(ResourceType.TRANSACTIONAL_ID, "alice-tx", AclOperation.WRITE),
    ],
  });
  // kafkajs has no quota API: @platformatic/kafka's admin sets it, as the same super user.
  const quotaAdmin = new PlatformaticAdmin({
    clientId: "platformatic-admin",
    bootstrapBrokers: [`127.0.0.1:${ports.SASL_PLAINTEXT}`],
    sasl: { mechanism: "SCRAM-SHA-512", username: "admin", password: "admin-secret" },
  });
  const quotas = await quotaAdmin.alterClientQuotas({
    entries: [{ entities: [{ entityType: "user", entityName: "alice" }], ops: [{ key: "producer_byte_rate", value: 20_000, remove: false }] }],
  });
  expect(quotas.map((entry) => entry.errorCode)).toEqual([0]);
  await quotaAdmin.close();

  // alice: produce (transactional, so InitProducerId needs WRITE on alice-tx) and consume on orders.
  const alice = client("alice");
  const producer = alice.producer({ transactionalId: "alice-tx", maxInFlightRequests: 1, idempotent: true });
  await producer.connect();
  const transaction = await producer.transaction();
  await transaction.send({ topic: "orders", messages: Array.from({ length: 20 }, (_, i) => ({ value: "x".repeat(1_000) + i })) });
  await transaction.commit();
  expect(await refusal(producer.send({ topic: "secrets", messages: [{ value: "no" }] }))).toMatch(/TOPIC_AUTHORIZATION_FAILED|Not authorized to access topics/);
  await producer.disconnect();
  const wrongTx = alice.producer({ transactionalId: "bob-tx", maxInFlightRequests: 1, idempotent: true });
  expect(await refusal(wrongTx.connect().then(() => wrongTx.transaction()))).toMatch(/TRANSACTIONAL_ID_AUTHORIZATION_FAILED|Transactional Id authorization failed|Failed to find group coordinator/i);
  // kafkajs words FindCoordinator's TRANSACTIONAL_ID_AUTHORIZATION_FAILED as a coordinator lookup failure: the denial
  // itself is in the broker's counter.
  expect(server.broker.metrics.registry.render()).toMatch(/kgate_authorization_denials_total\{[^}]*resource_type="TRANSACTIONAL_ID"[^}]*\} [1-9]/);
  await wrongTx.disconnect().catch(() => {});

  const consumer = alice.consumer({ groupId: "alice-group", maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic: "orders", fromBeginning: true });
  let consumed = 0;
  await consumer.run({ eachMessage: async () => void consumed++ });
  const deadline = Date.now() + 30_000;
  while (consumed < 20 && Date.now() < deadline) await Bun.sleep(50);
  await consumer.disconnect();
  expect(consumed).toBe(20);

  // alice's 20 KB/s produce quota: her Produce answers got throttled (she sent ~20 KB in one go).
  const scrape = server.broker.metrics.registry.render();
  expect(scrape).toMatch(/kgate_quota_throttled_responses_total\{kind="produce"\} [1-9]/);

  // bob authenticated but has no ACLs; anonymous PLAINTEXT neither.
  for (const who of ["bob", null]) {
    const other = client(who).producer();
    await other.connect();
    expect(await refusal(other.send({ topic: "orders", messages: [{ value: "no" }] }))).toMatch(/TOPIC_AUTHORIZATION_FAILED|Not authorized to access topics/);
    await other.disconnect();
  }
  // Only the super user may manage ACLs.
  const bobAdmin = client("bob").admin();
  await bobAdmin.connect();
  expect(await refusal(bobAdmin.createAcls({ acl: [acl(ResourceType.TOPIC, "secrets", AclOperation.READ, "User:bob")] }))).toMatch(/CLUSTER_AUTHORIZATION_FAILED|Cluster authorization failed/i);
  await bobAdmin.disconnect();
  await admin.disconnect();
}, 60_000);
