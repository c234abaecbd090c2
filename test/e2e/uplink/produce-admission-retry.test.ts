// The uplink's `reject` policy refuses Produce to a forwarded topic whose unforwarded bytes reached their cap, with
// UNFORWARDED_BYTES_FULL_ERROR and a throttle time. That must make every real client back off and retry, never fail
// the send: a refusal it treated as permanent would lose the application's records at the edge. Here kgate (file log)
// refuses each topic's first attempts for about a second, then admits them; every client of the interop matrix sends
// a handful of records with its ordinary retry settings, and each send must succeed with every record stored exactly
// once, after refusals that really happened. Controls show the test would see a failure: codes the evidence says a
// client does not retry (src/log/produce-admission.ts) fail its send. A client that is not installed is reported as
// skipped (console line), and fails the test under CI.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { Producer, stringSerializers } from "@platformatic/kafka";
import { readAll } from "../../../src/log/compaction-test-helpers.ts";
import { ErrorCode } from "../../../src/protocol/error-codes.ts";
import { UNFORWARDED_BYTES_FULL_ERROR, type ProduceAdmission } from "../../../src/log/produce-admission.ts";
import { startTestServer, type TestServer } from "../../helpers/server.ts";

/** Each topic is refused at least this long after its first attempt… */
const REFUSE_MS = 1_000;
/** …and at least this many times. */
const REFUSALS_MIN = 2;
/** What a refusal asks (the connection is muted this long after it; clients that read it wait too). */
const THROTTLE_MS = 200;
const COUNT = 5;
const CI = Boolean(process.env.CI);
const PYTHON = "/usr/bin/python3";
const KCAT = Bun.which("kcat");
const GO = Bun.which("go");
const GOPATH = "/usr/share/gocode";

interface Hold {
  firstAttemptAtMs: number;
  refusals: number;
}
const holds = new Map<string, Hold>();

/**
 * Refuses topics named `held-…` until REFUSE_MS passed and REFUSALS_MIN refusals were given, then admits them; refuses
 * `refused-<code>-…` always, with that code (the controls).
 */
const admission: ProduceAdmission = (topic) => {
  const refusedWith = /^refused-(\d+)-/.exec(topic);
  if (refusedWith) return { errorCode: Number(refusedWith[1]), throttleTimeMs: THROTTLE_MS, message: `${topic}: refused (test control)` };
  if (!topic.startsWith("held-")) return null;
  const nowMs = performance.now();
  let hold = holds.get(topic);
  if (!hold) holds.set(topic, (hold = { firstAttemptAtMs: nowMs, refusals: 0 }));
  if (hold.refusals >= REFUSALS_MIN && nowMs - hold.firstAttemptAtMs >= REFUSE_MS) return null;
  hold.refusals++;
  return { errorCode: UNFORWARDED_BYTES_FULL_ERROR, throttleTimeMs: THROTTLE_MS, message: `${topic}: unforwarded bytes at their cap (test)` };
};

let server: TestServer;
let dataDir: string;
let goFolder: string | null = null;
let goProducer: string | null = null;
let goBuildError: string | null = null;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "kgate-admission-retry-"));
  server = await startTestServer({ dataDir });
  if (server.broker.fileLogs === null) throw new Error("expected the file log");
  server.broker.produceAdmission = admission;
  if (GO === null || !existsSync(join(GOPATH, "src/github.com/Shopify/sarama")) || !existsSync(join(GOPATH, "src/github.com/segmentio/kafka-go"))) return;
  goFolder = mkdtempSync(join(tmpdir(), "kgate-admission-go-"));
  const binary = join(goFolder, "go-producer");
  const build = Bun.spawn([GO, "build", "-o", binary, "."], {
    cwd: join(import.meta.dir, "go-producer"),
    env: { ...process.env, GOPATH, GO111MODULE: "off", GOFLAGS: "", GOCACHE: join(tmpdir(), "kgate-admission-gocache") },
    stdout: "pipe",
    stderr: "pipe",
  });
  if ((await build.exited) === 0) goProducer = binary;
  else goBuildError = await new Response(build.stderr).text();
}, 180_000);
afterAll(async () => {
  await server?.[Symbol.asyncDispose]();
  rmSync(dataDir, { recursive: true, force: true });
  if (goFolder !== null) rmSync(goFolder, { recursive: true, force: true });
});

/** Whether to go on: a missing client fails under CI, and is reported as skipped elsewhere. */
function installed(client: string, present: boolean, why: string): boolean {
  if (present) return true;
  if (CI) throw new Error(`${client} is missing under CI (${why}); run bash interop/install.sh`);
  console.log(`SKIPPED ${client}: ${why} (bash interop/install.sh installs it)`);
  return false;
}

function pythonHas(module: string): boolean {
  return existsSync(PYTHON) && Bun.spawnSync([PYTHON, "-c", `import ${module}`]).exitCode === 0;
}

/** A fresh refused topic (one partition). */
function heldTopic(client: string): string {
  const topic = `held-${client}`;
  server.broker.topics.create(topic, 1);
  return topic;
}

/** The send succeeded after real refusals, and the partition holds each record once, in order. */
function expectStoredOnce(client: string, topic: string, startedAtMs: number): void {
  const hold = holds.get(topic);
  expect(hold?.refusals ?? 0).toBeGreaterThanOrEqual(REFUSALS_MIN);
  const log = server.broker.topics.get(topic)!.partitions[0]!;
  expect(readAll(log).map((record) => record.value)).toEqual(Array.from({ length: COUNT }, (_, i) => `${topic} ${i}`));
  expect(log.logEndOffset).toBe(COUNT);
  console.log(`${client}: delivered after ${hold!.refusals} refusals, ${Math.round(performance.now() - startedAtMs)} ms`);
}

async function run(command: string[], timeoutMs: number, stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = Bun.spawn(command, { stdin: stdin === undefined ? "ignore" : new TextEncoder().encode(stdin), stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => child.kill(9), timeoutMs);
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** Runs a client that prints {"delivered", "errors"} as its last line. */
async function runScript(command: string[]): Promise<{ delivered: number; errors: string[] }> {
  const { code, stdout, stderr } = await run(command, 90_000);
  const last = stdout.trim().split("\n").at(-1) ?? "";
  if (code !== 0 || !last.startsWith("{")) throw new Error(`${command.join(" ")} exited ${code}: ${stdout}\n${stderr.slice(-2000)}`);
  return JSON.parse(last);
}

async function expectScriptDelivered(command: string[]): Promise<void> {
  expect(await runScript(command)).toEqual({ delivered: COUNT, errors: [] });
}

/** A control topic every produce to which is refused with `errorCode`. */
function refusedTopic(errorCode: number, client: string): string {
  const topic = `refused-${errorCode}-${client}`;
  server.broker.topics.create(topic, 1);
  return topic;
}

function expectNothingStored(topic: string): void {
  expect(server.broker.topics.get(topic)!.partitions[0]!.logEndOffset).toBe(0);
}

for (const idempotent of [false, true]) {
  const name = `kafkajs${idempotent ? " idempotent" : ""}`;
  test(`${name}: retries the refusal (retriable NOT_ENOUGH_REPLICAS) and stores each record once`, async () => {
    const topic = heldTopic(idempotent ? "kafkajs-idempotent" : "kafkajs");
    const kafka = new Kafka({ clientId: "admission-retry", brokers: [server.bootstrap], logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ idempotent, maxInFlightRequests: idempotent ? 1 : undefined });
    await producer.connect();
    const startedAtMs = performance.now();
    try {
      // Default retry: 5 retries from 300 ms, doubling.
      await producer.send({ topic, acks: -1, messages: Array.from({ length: COUNT }, (_, i) => ({ partition: 0, value: `${topic} ${i}` })) });
    } finally {
      await producer.disconnect();
    }
    expectStoredOnce(name, topic, startedAtMs);
  }, 60_000);
}

for (const idempotent of [false, true]) {
  const name = `@platformatic/kafka${idempotent ? " idempotent" : ""}`;
  test(`${name}: retries the refusal (canRetry) and stores each record once`, async () => {
    const topic = heldTopic(idempotent ? "platformatic-idempotent" : "platformatic");
    // Default retry: 3 retries, 1 s apart (idempotent: unlimited).
    const producer = new Producer({ clientId: "admission-retry", bootstrapBrokers: [server.bootstrap], serializers: stringSerializers, idempotent });
    const startedAtMs = performance.now();
    try {
      await producer.send({ acks: -1, messages: Array.from({ length: COUNT }, (_, i) => ({ topic, partition: 0, value: `${topic} ${i}` })) });
    } finally {
      await producer.close();
    }
    expectStoredOnce(name, topic, startedAtMs);
  }, 60_000);
}

for (const idempotent of [false, true]) {
  const name = `librdkafka (confluent-kafka-python)${idempotent ? " idempotent" : ""}`;
  test(`${name}: retries the refusal (RETRY, not persisted) and stores each record once`, async () => {
    if (!installed(name, pythonHas("confluent_kafka"), `${PYTHON} cannot import confluent_kafka (Debian python3-confluent-kafka)`)) return;
    const topic = heldTopic(idempotent ? "librdkafka-idempotent" : "librdkafka");
    const startedAtMs = performance.now();
    await expectScriptDelivered([PYTHON, join(import.meta.dir, "produce_retry.py"), "confluent", server.bootstrap, topic, String(COUNT), ...(idempotent ? ["idempotent"] : [])]);
    expectStoredOnce(name, topic, startedAtMs);
  }, 120_000);
}

test("librdkafka (kcat): retries the refusal and exits 0 with each record stored once", async () => {
  if (!installed("kcat", KCAT !== null, "kcat is not on PATH (Debian kcat)")) return;
  const topic = heldTopic("kcat");
  const startedAtMs = performance.now();
  const lines = Array.from({ length: COUNT }, (_, i) => `${topic} ${i}`).join("\n") + "\n";
  const { code, stderr } = await run([KCAT!, "-P", "-b", server.bootstrap, "-t", topic, "-p", "0"], 90_000, lines);
  expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
  expectStoredOnce("kcat", topic, startedAtMs);
}, 120_000);

test("kafka-python: retries the refusal (retriable NotEnoughReplicasError, with retries > 0) and stores each record once", async () => {
  if (!installed("kafka-python", pythonHas("kafka"), `${PYTHON} cannot import kafka (Debian python3-kafka)`)) return;
  const topic = heldTopic("kafka-python");
  const startedAtMs = performance.now();
  await expectScriptDelivered([PYTHON, join(import.meta.dir, "produce_retry.py"), "kafka-python", server.bootstrap, topic, String(COUNT)]);
  expectStoredOnce("kafka-python", topic, startedAtMs);
}, 120_000);

for (const library of ["sarama", "kafka-go"] as const) {
  const name = library === "sarama" ? "Sarama 1.22" : "kafka-go 0.2.1";
  test(`${name}: retries the refusal and stores each record once`, async () => {
    if (goBuildError !== null) throw new Error(`go build of test/e2e/uplink/go-producer failed: ${goBuildError}`);
    if (!installed(name, goProducer !== null, `Go or ${GOPATH}/src/github.com/{Shopify/sarama,segmentio/kafka-go} missing (Debian golang-go, golang-github-shopify-sarama-dev, golang-github-segmentio-kafka-go-dev)`)) return;
    const topic = heldTopic(library);
    const startedAtMs = performance.now();
    await expectScriptDelivered([goProducer!, library, server.bootstrap, topic, String(COUNT)]);
    expectStoredOnce(name, topic, startedAtMs);
  }, 120_000);
}

// Controls: the codes rejected in src/log/produce-admission.ts, failing a send the way the evidence says.

test("control: kafkajs fails the send on THROTTLING_QUOTA_EXCEEDED (89), a code it does not know (not retriable)", async () => {
  const topic = refusedTopic(ErrorCode.THROTTLING_QUOTA_EXCEEDED, "kafkajs");
  const kafka = new Kafka({ clientId: "admission-control", brokers: [server.bootstrap], logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  try {
    await expect(producer.send({ topic, acks: -1, messages: [{ partition: 0, value: "x" }] })).rejects.toMatchObject({ type: "KAFKAJS_UNKNOWN_ERROR_CODE", retriable: false });
  } finally {
    await producer.disconnect();
  }
  expectNothingStored(topic);
}, 60_000);

test("control: kcat (librdkafka) exits 1 on THROTTLING_QUOTA_EXCEEDED (89), which it treats as permanent", async () => {
  if (!installed("kcat", KCAT !== null, "kcat is not on PATH (Debian kcat)")) return;
  const topic = refusedTopic(ErrorCode.THROTTLING_QUOTA_EXCEEDED, "kcat");
  const { code, stderr } = await run([KCAT!, "-P", "-b", server.bootstrap, "-t", topic, "-p", "0"], 60_000, "x\n");
  expect(code).toBe(1);
  expect(stderr).toContain("Delivery failed");
  expectNothingStored(topic);
}, 120_000);

test("control: kafka-python fails the send on KAFKA_STORAGE_ERROR (56), a code it does not know (not retriable)", async () => {
  if (!installed("kafka-python", pythonHas("kafka"), `${PYTHON} cannot import kafka (Debian python3-kafka)`)) return;
  const topic = refusedTopic(ErrorCode.KAFKA_STORAGE_ERROR, "kafka-python");
  const result = await runScript([PYTHON, join(import.meta.dir, "produce_retry.py"), "kafka-python", server.bootstrap, topic, String(COUNT)]);
  expect(result.delivered).toBe(0);
  expect(result.errors.length).toBe(COUNT);
  expectNothingStored(topic);
}, 120_000);

test("control: Sarama 1.22 fails the send on KAFKA_STORAGE_ERROR (56), outside its retriable list", async () => {
  if (goBuildError !== null) throw new Error(`go build of test/e2e/uplink/go-producer failed: ${goBuildError}`);
  if (!installed("Sarama 1.22", goProducer !== null, `Go or ${GOPATH}/src/github.com/Shopify/sarama missing`)) return;
  const topic = refusedTopic(ErrorCode.KAFKA_STORAGE_ERROR, "sarama");
  const result = await runScript([goProducer!, "sarama", server.bootstrap, topic, String(COUNT)]);
  expect(result.delivered).toBe(0);
  expect(result.errors).toEqual(Array.from({ length: COUNT }, () => "kafka server: Disk error when trying to access log file on the disk."));
  expectNothingStored(topic);
}, 120_000);
