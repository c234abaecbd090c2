// Schema registry figures, against a kgate child process (`bun src/main.ts --memory`):
// 1. lookups by id over HTTP (GET /schemas/ids/{id}, 64 requests in flight) per second;
// 2. registrations over HTTP (distinct Avro schemas, new subjects, 16 in flight) per second;
// 3. the compatibility check of a 200-field Avro record against 50 versions at FULL_TRANSITIVE (in-process, ms);
// 4. Produce v9 throughput of 1 KiB Avro records (Confluent envelope, 1000 per batch, 8 requests in flight) to a
//    topic with value validation (strict: every record decoded) against one without.
// `bun bench/registry.ts [seconds per HTTP figure, default 3] [produce requests per round, default 100]`

import avro from "avsc";
import { Kafka, logLevel } from "kafkajs";
import { buildRecordBatch } from "../src/protocol/records/record-batch.ts";
import { checkCompatibility, parseSchema } from "../src/registry/compatibility/index.ts";
import { startGatewayProcess } from "../test/helpers/gateway-process.ts";
import { requestFrame } from "../test/helpers/raw-client.ts";
import { connectPipelined } from "./pipelined-client.ts";

const SECONDS = Number(process.argv[2] ?? 3);
const PRODUCE_REQUESTS = Number(process.argv[3] ?? 100);

function freePort(): number {
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  return port;
}

const registryPort = freePort();
await using gateway = await startGatewayProcess([process.execPath, "src/main.ts", "--memory", "--registry-listen", `127.0.0.1:${registryPort}`]);
const base = `http://127.0.0.1:${registryPort}`;
const headers = { "content-type": "application/vnd.schemaregistry.v1+json" };

async function register(subject: string, schema: string): Promise<number> {
  const response = await fetch(`${base}/subjects/${subject}/versions`, { method: "POST", headers, body: JSON.stringify({ schema }) });
  if (!response.ok) throw new Error(`register ${subject}: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { id: number }).id;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Runs `task` with `inFlight` concurrent loops for `seconds`; returns completions per second. */
async function rate(seconds: number, inFlight: number, task: (n: number) => Promise<void>): Promise<number> {
  const deadline = performance.now() + seconds * 1000;
  let done = 0;
  const startedMs = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < deadline) await task(done++);
    }),
  );
  return done / ((performance.now() - startedMs) / 1000);
}

// 1. Lookups by id.
const ids = await Promise.all(Array.from({ length: 100 }, (_, i) => register(`lookup-${i}`, JSON.stringify({ type: "record", name: `L${i}`, fields: [{ name: "f", type: "string" }] }))));
const lookups = await rate(SECONDS, 64, async (n) => {
  const response = await fetch(`${base}/schemas/ids/${ids[n % ids.length]}`);
  if (!response.ok) throw new Error(`lookup: ${response.status}`);
  await response.arrayBuffer();
});

// 2. Registrations.
const registrations = await rate(SECONDS, 16, async (n) => {
  await register(`reg-${n}`, JSON.stringify({ type: "record", name: `R${n}`, fields: [{ name: "f", type: "long" }] }));
});

// 3. Compatibility: version k has fields 0..149+k, every field after the first 150 with a default.
const field = (i: number) => (i < 150 ? { name: `f${i}`, type: ["int", "long", "string", "double"][i % 4] } : { name: `f${i}`, type: "string", default: "" });
const version = (count: number) => JSON.stringify({ type: "record", name: "Wide", namespace: "kgate.bench", fields: Array.from({ length: count }, (_, i) => field(i)) });
const previous = Array.from({ length: 50 }, (_, k) => parseSchema("AVRO", version(150 + k)));
const candidate = parseSchema("AVRO", version(200));
const checkMs: number[] = [];
for (let run = 0; run < 20; run++) {
  const startedMs = performance.now();
  if (checkCompatibility("FULL_TRANSITIVE", candidate, previous).length !== 0) throw new Error("the bench schemas should be compatible");
  checkMs.push(performance.now() - startedMs);
}

// 4. Produce with validation on and off.
const valueSchema = {
  type: "record",
  name: "Event",
  namespace: "kgate.bench",
  fields: [{ name: "id", type: "long" }, { name: "user", type: "string" }, ...Array.from({ length: 12 }, (_, i) => ({ name: `attribute${i}`, type: "string" }))],
};
// Registered under the validated topic's subject: validation checks TopicNameStrategy's <topic>-value.
const valueId = await register("validated-value", JSON.stringify(valueSchema));
const eventType = avro.Type.forSchema(valueSchema as avro.Schema);
const encoder = new TextEncoder();
const records = Array.from({ length: 1000 }, (_, i) => {
  const event: Record<string, unknown> = { id: i, user: `user-${i % 97}` };
  for (let a = 0; a < 12; a++) event[`attribute${a}`] = `value-${(i * 31 + a) % 1013}`.padEnd(76, "x");
  const payload = eventType.toBuffer(event);
  const value = new Uint8Array(5 + payload.length);
  new DataView(value.buffer).setInt32(1, valueId);
  value.set(payload, 5);
  return { key: encoder.encode(`key-${i}`), value, timestamp: Date.now() };
});
const recordBytes = records.reduce((sum, record) => sum + record.value.length, 0) / records.length;
const batch = buildRecordBatch({ records });

const kafka = new Kafka({ clientId: "bench-registry", brokers: [`127.0.0.1:${gateway.port}`], logLevel: logLevel.NOTHING });
const admin = kafka.admin();
await admin.connect();
await admin.createTopics({
  topics: [
    { topic: "plain" },
    { topic: "validated", configEntries: [{ name: "confluent.value.schema.validation", value: "true" }, { name: "kgate.schema.validation.strict", value: "true" }] },
  ],
});
await admin.disconnect();

const client = await connectPipelined(gateway.port);
async function nextResponse(): Promise<void> {
  if (!(await client.nextResponse())) throw new Error("no response");
}
let correlationId = 1;
async function produceRound(topic: string): Promise<number> {
  const body = { acks: 1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }] };
  const startedMs = performance.now();
  let sent = 0;
  let received = 0;
  while (received < PRODUCE_REQUESTS) {
    while (sent < PRODUCE_REQUESTS && sent - received < 8) {
      client.write(requestFrame(0, 9, correlationId++, body));
      sent++;
    }
    await nextResponse();
    received++;
  }
  return (PRODUCE_REQUESTS * records.length) / ((performance.now() - startedMs) / 1000);
}
await produceRound("plain");
await produceRound("validated");
const plainRates: number[] = [];
const validatedRates: number[] = [];
for (let round = 0; round < 5; round++) {
  plainRates.push(await produceRound("plain"));
  validatedRates.push(await produceRound("validated"));
}
client.close();
const validatedOffsets = await (async () => {
  const checkAdmin = kafka.admin();
  await checkAdmin.connect();
  const offsets = await checkAdmin.fetchTopicOffsets("validated");
  await checkAdmin.disconnect();
  return offsets[0]!.high;
})();

console.log(`Bun ${Bun.version}; kgate child process, registry on 127.0.0.1:${registryPort}`);
console.log(`lookups by id (GET /schemas/ids/{id}, 64 in flight): ${lookups.toFixed(0)}/s`);
console.log(`registrations (new Avro schema, new subject, 16 in flight): ${registrations.toFixed(0)}/s`);
console.log(`compatibility, 200-field Avro record vs 50 versions, FULL_TRANSITIVE: ${median(checkMs).toFixed(2)} ms (median of 20)`);
const plain = median(plainRates);
const validated = median(validatedRates);
console.log(
  `produce, ${records.length} Avro records of ${recordBytes.toFixed(0)} B per batch, 8 in flight: validation off ${plain.toFixed(0)} records/s, ` +
    `strict validation on ${validated.toFixed(0)} records/s (${((validated / plain) * 100).toFixed(0)}%); ${validatedOffsets} records stored in the validated topic`,
);
