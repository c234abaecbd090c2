// The library entry (src/kgate.ts) with real clients: defaults, helpers, isolation, stop() with clients still
// connected, option errors, and every fault the injector offers, each asserted on what the client saw and on what
// the log holds.

import { afterEach, describe, expect, test } from "bun:test";
import { Kafka, logLevel, type Consumer, type Producer } from "kafkajs";
import { options as flagOptions } from "./config.ts";
import { ErrorCode, KGATE_OPTION_NAMES, KgateOptionError, startKgate, type Kgate } from "./kgate.ts";

const started: Kgate[] = [];
const clients: { disconnect(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.allSettled(clients.splice(0).map((client) => client.disconnect()));
  await Promise.all(started.splice(0).map((kgate) => kgate.stop()));
});

async function gateway(options: Parameters<typeof startKgate>[0] = {}): Promise<Kgate> {
  const kgate = await startKgate(options);
  started.push(kgate);
  return kgate;
}

function kafkaOf(kgate: Kgate, clientId: string, extra: object = {}): Kafka {
  return new Kafka({ clientId, brokers: [kgate.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 8, initialRetryTime: 50, maxRetryTime: 500 }, ...extra });
}

async function producerOf(kgate: Kgate, options: Parameters<Kafka["producer"]>[0] = {}): Promise<Producer> {
  const producer = kafkaOf(kgate, "lib-producer").producer({ allowAutoTopicCreation: false, ...options });
  await producer.connect();
  clients.push(producer);
  return producer;
}

/** Consumes `count` records of topic in a group and returns their values in the order seen. */
async function consume(kgate: Kgate, groupId: string, topic: string, count: number, onConsumer?: (consumer: Consumer) => void): Promise<string[]> {
  const consumer = kafkaOf(kgate, "lib-consumer").consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 500, maxWaitTimeInMs: 100, retry: { retries: 8, initialRetryTime: 50, maxRetryTime: 500 } });
  clients.push(consumer);
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const values: string[] = [];
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  await consumer.run({
    eachMessage: async ({ message }) => {
      values.push(message.value!.toString());
      if (values.length >= count) done();
    },
  });
  onConsumer?.(consumer);
  await Promise.race([finished, Bun.sleep(30_000).then(() => Promise.reject(new Error(`consumed ${values.length} of ${count}`)))]);
  return values;
}

describe("startKgate", () => {
  test("defaults: in memory, 127.0.0.1 on an ephemeral port, no registry; produce, read back, consume with commits", async () => {
    const kgate = await gateway();
    expect(kgate.bootstrap).toBe(`127.0.0.1:${kgate.port}`);
    expect(kgate.port).toBeGreaterThan(0);
    expect(kgate.registryUrl).toBeNull();
    expect(kgate.broker.fileLogs).toBeNull();

    kgate.createTopic("orders", { partitions: 2, configs: { "retention.ms": "60000" } });
    expect(kgate.topics()).toEqual(["orders"]);
    const producer = await producerOf(kgate);
    await producer.send({ topic: "orders", messages: [0, 1, 2].map((i) => ({ partition: 0, key: `k${i}`, value: `v${i}`, headers: { source: "test" } })) });
    await producer.send({ topic: "orders", messages: [{ partition: 1, key: null, value: "other" }] });

    expect(kgate.offsets("orders")).toEqual([
      { partition: 0, logStartOffset: 0, endOffset: 3 },
      { partition: 1, logStartOffset: 0, endOffset: 1 },
    ]);
    const records = kgate.records("orders", { partition: 0 });
    expect(records.map((r) => [r.offset, new TextDecoder().decode(r.key!), r.decodedValue.value, r.headerTexts.source])).toEqual([
      [0, "k0", "v0", "test"],
      [1, "k1", "v1", "test"],
      [2, "k2", "v2", "test"],
    ]);
    expect(kgate.records("orders", { partition: 0, fromOffset: 1, limit: 1 }).map((r) => r.offset)).toEqual([1]);

    const values = await consume(kgate, "lib-group", "orders", 4);
    expect(values.sort()).toEqual(["other", "v0", "v1", "v2"]);
    await kgate.waitForGroup("lib-group", "Stable");
    await kgate.waitForCommit("lib-group", "orders", 0, 3);
    await kgate.waitForCommit("lib-group", "orders", 1, 1);
    expect(kgate.committedOffsets("lib-group")).toEqual({ "orders/0": 3, "orders/1": 1 });
  }, 40_000);

  test("the registry when asked: records decoded through their envelope", async () => {
    const kgate = await gateway({ registryListen: true });
    expect(kgate.registryUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const registered = await fetch(`${kgate.registryUrl}/subjects/readings-value/versions`, {
      method: "POST",
      headers: { "content-type": "application/vnd.schemaregistry.v1+json" },
      body: JSON.stringify({ schemaType: "JSON", schema: JSON.stringify({ type: "object", properties: { celsius: { type: "number" } } }) }),
    });
    const { id } = (await registered.json()) as { id: number };
    const payload = new TextEncoder().encode(JSON.stringify({ celsius: 21.5 }));
    const envelope = new Uint8Array(5 + payload.length);
    new DataView(envelope.buffer).setInt32(1, id);
    envelope.set(payload, 5);
    const producer = await producerOf(kgate, { allowAutoTopicCreation: true });
    await producer.send({ topic: "readings", messages: [{ value: Buffer.from(envelope) }, { value: "plain text" }] });
    const [decoded, plain] = kgate.records("readings");
    expect(decoded!.decodedValue).toEqual({ schemaId: id, value: { celsius: 21.5 }, encoding: "schema" });
    expect(plain!.decodedValue).toEqual({ schemaId: null, value: "plain text", encoding: "text" });
  });

  test("two gateways in one process keep their own topics", async () => {
    const [first, second] = await Promise.all([gateway(), gateway()]);
    first.createTopic("only-first");
    second.createTopic("only-second", { partitions: 3 });
    expect(first.topics()).toEqual(["only-first"]);
    expect(second.topics()).toEqual(["only-second"]);
    const admin = kafkaOf(second, "lib-admin").admin();
    clients.push(admin);
    await admin.connect();
    expect(await admin.listTopics()).toEqual(["only-second"]);
  });

  test("stop() frees the port while a client still holds connections, and can be called twice", async () => {
    const kgate = await startKgate();
    const producer = await producerOf(kgate, { allowAutoTopicCreation: true });
    await producer.send({ topic: "held", messages: [{ value: "x" }] });
    const port = kgate.port;
    await kgate.stop();
    await kgate.stop();
    // The port can be bound again at once: nothing of the gateway holds it.
    const again = await startKgate({ listen: `127.0.0.1:${port}` });
    expect(again.port).toBe(port);
    await again.stop();
  });

  test("await using stops it at the end of the block", async () => {
    let port = 0;
    {
      await using kgate = await startKgate();
      port = kgate.port;
    }
    const probe = Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } });
    probe.stop(true);
  });

  test("bad options: a KgateOptionError naming the option", async () => {
    const failure = async (options: object) => {
      try {
        await startKgate(options as never);
      } catch (error) {
        return error as KgateOptionError;
      }
      throw new Error("started");
    };
    const unknown = await failure({ lisen: "127.0.0.1:0" });
    expect(unknown).toBeInstanceOf(KgateOptionError);
    expect(unknown.option).toBe("lisen");
    expect(unknown.message).toContain('did you mean "listen"');
    const badAddress = await failure({ listen: "nowhere" });
    expect(badAddress.option).toBe("listen");
    expect(badAddress.message).toContain("listen wants HOST:PORT");
    expect((await failure({ defaultPartitions: 0 })).option).toBe("defaultPartitions");
    expect((await failure({ autoCreateTopics: "maybe" })).option).toBe("autoCreateTopics");
    expect((await failure({ flush: "sometimes", data: "/tmp/unused" })).option).toBe("flush");
    expect((await failure({ memory: true, data: "/tmp/unused" })).message).toContain("memory and data exclude each other");
    expect((await failure({ connectionsMax: { many: true } })).option).toBe("connectionsMax");
  });

  test("the option names are the command line's flags in camelCase", () => {
    const flags = flagOptions.filter((option) => option.flag !== "--help" && option.flag !== "--version").map((option) => option.flag.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()));
    expect(Object.keys(KGATE_OPTION_NAMES).sort()).toEqual(flags.sort());
  });
});

describe("faults", () => {
  test("failNext Produce with NOT_LEADER_OR_FOLLOWER on one partition: an idempotent kafkajs producer retries, each record is stored once", async () => {
    const kgate = await gateway();
    kgate.createTopic("retried", { partitions: 2 });
    const fault = kgate.faults.failNext("Produce", { errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, topic: "retried", partition: 1, count: 2 });
    // kafkajs retries the whole request: the partition that succeeded is sent again, which only the idempotent
    // producer's sequence numbers turn into one copy (without them partition 0 would hold "b" three times).
    const producer = await producerOf(kgate, { idempotent: true, maxInFlightRequests: 1 });
    const [answer] = await producer.send({ topic: "retried", acks: -1, messages: [{ partition: 1, value: "a" }, { partition: 0, value: "b" }] }).then((results) => results.filter((r) => r.partition === 1));
    expect(fault.hits).toBe(2);
    expect(fault.active).toBe(false);
    expect(answer!.errorCode).toBe(0);
    expect(kgate.records("retried", { partition: 1 }).map((r) => r.decodedValue.value)).toEqual(["a"]);
    expect(kgate.records("retried", { partition: 0 }).map((r) => r.decodedValue.value)).toEqual(["b"]);
  }, 30_000);

  test("a refused request does nothing, and an error the client does not retry reaches it", async () => {
    const kgate = await gateway();
    kgate.createTopic("refused");
    kgate.faults.failNext("Produce", { errorCode: ErrorCode.INVALID_RECORD, count: 1 });
    const producer = await producerOf(kgate);
    await expect(producer.send({ topic: "refused", acks: -1, messages: [{ value: "x" }] })).rejects.toThrow();
    expect(kgate.offsets("refused")[0]!.endOffset).toBe(0);
  }, 30_000);

  test("closeAfter Fetch and delay: the consumer reconnects and reads everything", async () => {
    const kgate = await gateway();
    kgate.createTopic("flaky");
    const producer = await producerOf(kgate);
    await producer.send({ topic: "flaky", messages: Array.from({ length: 20 }, (_, i) => ({ value: `m${i}` })) });
    const closed = kgate.faults.closeAfter("Fetch", { count: 2, answer: false });
    const delayed = kgate.faults.delay("Fetch", 300, { count: 1 });
    const values = await consume(kgate, "flaky-group", "flaky", 20);
    expect(closed.hits).toBe(2);
    expect(delayed.hits).toBe(1);
    expect(new Set(values)).toEqual(new Set(Array.from({ length: 20 }, (_, i) => `m${i}`)));
    expect(kgate.broker.metrics.connectionsClosed).toBeDefined();
  }, 40_000);

  test("moveCoordinator during a group: the consumer finds it again and its commits land", async () => {
    const kgate = await gateway();
    kgate.createTopic("moving");
    const producer = await producerOf(kgate);
    await producer.send({ topic: "moving", messages: Array.from({ length: 10 }, (_, i) => ({ value: `a${i}` })) });
    let moved: ReturnType<Kgate["faults"]["moveCoordinator"]> | null = null;
    const first = await consume(kgate, "moving-group", "moving", 10, () => {
      moved = kgate.faults.moveCoordinator({ forMs: 1_500 });
    });
    expect(first).toHaveLength(10);
    await producer.send({ topic: "moving", messages: Array.from({ length: 10 }, (_, i) => ({ value: `b${i}` })) });
    await kgate.waitForCommit("moving-group", "moving", 0, 20, { timeoutMs: 20_000 });
    expect(moved!.hits).toBeGreaterThan(0);
    expect(moved!.active).toBe(false);
  }, 40_000);

  test("loseLeader: Metadata shows no leader and Produce is refused until it is back; kafkajs waits it out", async () => {
    const kgate = await gateway();
    kgate.createTopic("leaderless");
    const producer = await producerOf(kgate);
    await producer.send({ topic: "leaderless", messages: [{ value: "before" }] });
    const lost = kgate.faults.loseLeader("leaderless", 0, { forMs: 800 });
    const startedAt = performance.now();
    await producer.send({ topic: "leaderless", acks: -1, messages: [{ value: "during" }] });
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(700);
    expect(lost.hits).toBeGreaterThan(0);
    expect(kgate.records("leaderless").map((r) => r.decodedValue.value)).toEqual(["before", "during"]);
  }, 30_000);

  test("rejectAuthentication: the next SASL authentication fails and closes; the one after succeeds", async () => {
    const kgate = await gateway({ listeners: "SASL_PLAINTEXT://127.0.0.1:0", saslMechanisms: "PLAIN", saslUsersBootstrap: { alice: "secret" } });
    const rejected = kgate.faults.rejectAuthentication({ count: 1 });
    const kafka = () => kafkaOf(kgate, "lib-sasl", { sasl: { mechanism: "plain", username: "alice", password: "secret" }, retry: { retries: 0 } });
    const refusedAdmin = kafka().admin();
    await expect(refusedAdmin.connect()).rejects.toThrow(/SASL|auth/i);
    expect(rejected.hits).toBe(2);
    const admin = kafka().admin();
    clients.push(admin);
    await admin.connect();
    expect(await admin.listTopics()).toEqual([]);
  }, 30_000);

  test("unsupported or inconsistent fault options are refused at once", async () => {
    const kgate = await gateway();
    expect(() => kgate.faults.failNext("DescribeAcls", { errorCode: 1 })).toThrow(/not supported/);
    expect(() => kgate.faults.failNext("Heartbeat", { errorCode: 1, topic: "x" })).toThrow(/no topics/);
    expect(() => kgate.faults.failNext("Produce", { errorCode: 1, partition: 0 })).toThrow(/partition needs topic/);
    expect(() => kgate.faults.delay("NoSuchApi", 10)).toThrow(/unknown API/);
    const handle = kgate.faults.delay("Metadata", 10, { count: Infinity });
    handle.undo();
    expect(handle.active).toBe(false);
  });
});
