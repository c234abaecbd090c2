// @platformatic/kafka's admin client against kgate's DescribeClientQuotas, AlterClientQuotas and DescribeLogDirs:
// a real client's encoding of these requests, and its reading of our answers.

import { expect, test } from "bun:test";
import { resolve } from "node:path";
import { Admin, Producer, stringSerializers } from "@platformatic/kafka";
import { bothStores, startTestServer } from "../../helpers/server.ts";

// On both logs: the log dir and the partition sizes come from the store.
test.each(bothStores)("%s log: platformatic alters and describes client quotas and reads partition sizes from DescribeLogDirs", async (store) => {
  await using server = await startTestServer({ store });
  const bootstrapBrokers = [server.bootstrap];
  const admin = new Admin({ clientId: "quota-admin", bootstrapBrokers });
  const producer = new Producer({ clientId: "sizer", bootstrapBrokers, serializers: stringSerializers });
  try {
    const altered = await admin.alterClientQuotas({
      entries: [
        { entities: [{ entityType: "client-id", entityName: "app" }], ops: [{ key: "producer_byte_rate", value: 1_048_576, remove: false }] },
        { entities: [{ entityType: "user", entityName: null }], ops: [{ key: "consumer_byte_rate", value: 2_097_152, remove: false }] },
      ],
    });
    expect(altered.map((entry) => entry.errorCode)).toEqual([0, 0]);
    const described = await admin.describeClientQuotas({ components: [{ entityType: "client-id", matchType: 0, match: "app" }] });
    expect(described).toEqual([{ entity: [{ entityType: "client-id", entityName: "app" }], values: [{ key: "producer_byte_rate", value: 1_048_576 }] }]);
    const users = await admin.describeClientQuotas({ components: [{ entityType: "user", matchType: 1 }] as never, strict: true });
    expect(users).toEqual([{ entity: [{ entityType: "user", entityName: null }], values: [{ key: "consumer_byte_rate", value: 2_097_152 }] }]);

    await admin.createTopics({ topics: ["sized"], partitions: 2, replicas: 1 });
    await producer.send({ messages: Array.from({ length: 10 }, (_, i) => ({ topic: "sized", partition: 1, value: `value-${i}` })) });
    const logDirs = await admin.describeLogDirs({ topics: [{ name: "sized", partitions: [0, 1] }] });
    expect(logDirs).toHaveLength(1);
    const dir = logDirs[0]!.results[0]!;
    expect(dir.logDir).toBe(server.dataDir === null ? "memory" : resolve(server.dataDir));
    const partitions = dir.topics.find((topic) => topic.name === "sized")!.partitions;
    const sizes = Object.fromEntries(partitions.map((partition) => [partition.partitionIndex, Number(partition.partitionSize)]));
    expect(sizes).toEqual({ 0: 0, 1: server.broker.topics.get("sized")!.partitions[1]!.sizeBytes });
    expect(sizes[1]).toBeGreaterThan(0);
  } finally {
    await producer.close();
    await admin.close();
  }
}, 30_000);
