// A kafkajs group member in its own process, for tests that kill it with SIGKILL (a member that dies silently).
// Usage: bun group-member.ts BOOTSTRAP GROUP TOPIC. Prints "ready", then "P:O" per record after it is processed.

import { Kafka, logLevel } from "kafkajs";

const [bootstrap, groupId, topic] = process.argv.slice(2) as [string, string, string];
const kafka = new Kafka({ clientId: "kgate-e2e-child", brokers: [bootstrap], logLevel: logLevel.NOTHING });
const consumer = kafka.consumer({ groupId, sessionTimeout: 6_000, heartbeatInterval: 300, maxWaitTimeInMs: 200, retry: { retries: 10 } });
await consumer.connect();
await consumer.subscribe({ topic, fromBeginning: true });
consumer.on(consumer.events.GROUP_JOIN, () => console.log("joined"));
await consumer.run({
  eachMessage: async ({ partition, message }) => {
    console.log(`${partition}:${message.offset}`);
  },
});
console.log("ready");
