// A @platformatic/kafka member of a KIP-848 group (groupProtocol 'consumer') in its own process, for tests that kill
// it with SIGKILL: it never sends its leave heartbeat. Usage: bun consumer-protocol-member.ts BOOTSTRAP GROUP TOPIC.
// Prints "assigned N" when its assignment changes and "P:O" per record received.

import { Consumer, stringDeserializers } from "@platformatic/kafka";

const [bootstrap, groupId, topic] = process.argv.slice(2) as [string, string, string];
const consumer = new Consumer({
  clientId: "kgate-e2e-kip848-child",
  groupId,
  groupProtocol: "consumer",
  bootstrapBrokers: [bootstrap],
  deserializers: stringDeserializers,
  maxWaitTime: 100,
});
const stream = await consumer.consume({ topics: [topic], mode: "committed", fallbackMode: "earliest", autocommit: 100 });
stream.on("data", (message) => console.log(`${message.partition}:${message.offset}`));
let last = -1;
setInterval(() => {
  const count = (consumer.assignments ?? []).reduce((sum, assignment) => sum + assignment.partitions.length, 0);
  if (count !== last) console.log(`assigned ${(last = count)}`);
}, 20);
