// Creates topics with kafkajs' admin client (CreateTopics), so that benchmark
// phases do not time topic auto-creation.
//
//   bun bench/admin.ts HOST:PORT topic[:partitions] ...
//
// Prints one JSON line {"ok":true,"created":[...]} or {"ok":false,"error":"..."};
// exit code 0 when every topic exists afterwards (created now or before).

import { Kafka, logLevel } from "kafkajs";

const [broker, ...specs] = process.argv.slice(2);
if (!broker || specs.length === 0) {
  console.error("usage: bun bench/admin.ts HOST:PORT topic[:partitions] ...");
  process.exit(2);
}

const topics = specs.map((spec) => {
  const [topic, parts] = spec.split(":");
  return { topic: topic!, numPartitions: Math.max(1, Number(parts ?? 1) || 1), replicationFactor: 1 };
});

const kafka = new Kafka({
  clientId: "kgate-bench-admin",
  brokers: [broker],
  logLevel: logLevel.NOTHING,
  connectionTimeout: 5_000,
  requestTimeout: 10_000,
  retry: { retries: 2, initialRetryTime: 200 },
});
const admin = kafka.admin();

const hardTimeout = setTimeout(() => {
  console.log(JSON.stringify({ ok: false, error: "timed out after 20 s" }));
  process.exit(1);
}, 20_000);

try {
  await admin.connect();
  const created = await admin.createTopics({ topics, waitForLeaders: true, timeout: 10_000 });
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((t) => !existing.has(t.topic)).map((t) => t.topic);
  await admin.disconnect();
  clearTimeout(hardTimeout);
  if (missing.length > 0) {
    console.log(JSON.stringify({ ok: false, created, error: `missing after CreateTopics: ${missing.join(",")}` }));
    process.exit(1);
  }
  console.log(JSON.stringify({ ok: true, created }));
  process.exit(0);
} catch (err) {
  clearTimeout(hardTimeout);
  console.log(JSON.stringify({ ok: false, error: String((err as Error)?.message ?? err) }));
  process.exit(1);
}
