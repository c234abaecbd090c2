// A @platformatic/kafka group member in its own process, for tests that kill it with SIGKILL (a member that dies
// silently). Usage: bun group-member.ts BOOTSTRAP GROUP TOPIC. Prints "assigned N" when its assignment changes and
// "P:O" per record received.

import { Consumer, stringDeserializers } from "@platformatic/kafka";

const [bootstrap, groupId, topic] = process.argv.slice(2) as [string, string, string];
const consumer = new Consumer({
  clientId: "kgate-e2e-child",
  groupId,
  bootstrapBrokers: [bootstrap],
  deserializers: stringDeserializers,
  sessionTimeout: 6_000,
  heartbeatInterval: 300,
  maxWaitTime: 200,
});
const stream = await consumer.consume({ topics: [topic], mode: "committed", fallbackMode: "earliest", autocommit: 100 });
stream.on("data", (message) => console.log(`${message.partition}:${message.offset}`));
let last = -1;
setInterval(() => {
  const count = (consumer.assignments ?? []).reduce((sum, assignment) => sum + assignment.partitions.length, 0);
  if (count !== last) console.log(`assigned ${(last = count)}`);
}, 50);
