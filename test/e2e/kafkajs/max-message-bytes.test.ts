// max.message.bytes per topic through kafkajs: CreateTopics sets it, DescribeConfigs shows it (and the broker default,
// limits.batchBytesMax, on a topic without it), Produce refuses a larger batch with MESSAGE_TOO_LARGE, and
// AlterConfigs raising it lets the same batch in.

import { expect, test } from "bun:test";
import { ConfigResourceTypes, Kafka, logLevel } from "kafkajs";
import { limits } from "../../../src/config.ts";
import { startTestServer } from "../../helpers/server.ts";

test("max.message.bytes: set, described, enforced with MESSAGE_TOO_LARGE, altered", async () => {
  await using server = await startTestServer();
  const kafka = new Kafka({ clientId: "max-message-bytes", brokers: [server.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [
      { topic: "small", numPartitions: 1, configEntries: [{ name: "max.message.bytes", value: "2000" }] },
      { topic: "plain", numPartitions: 1 },
    ],
  });
  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [
      { type: ConfigResourceTypes.TOPIC, name: "small", configNames: ["max.message.bytes"] },
      { type: ConfigResourceTypes.TOPIC, name: "plain", configNames: ["max.message.bytes"] },
    ],
  });
  const entry = (name: string) => described.resources.find((resource) => resource.resourceName === name)!.configEntries[0]!;
  expect(entry("small")).toMatchObject({ configName: "max.message.bytes", configValue: "2000", isDefault: false });
  expect(entry("plain")).toMatchObject({ configName: "max.message.bytes", configValue: String(limits.batchBytesMax), isDefault: true });
  await expect(
    admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: "small", configEntries: [{ name: "max.message.bytes", value: "-1" }] }] }),
  ).rejects.toThrow();

  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: "small", acks: -1, messages: [{ value: Buffer.alloc(1000, 1) }] });
  await expect(producer.send({ topic: "small", acks: -1, messages: [{ value: Buffer.alloc(3000, 1) }] })).rejects.toMatchObject({
    type: "MESSAGE_TOO_LARGE",
  });
  await producer.send({ topic: "plain", acks: -1, messages: [{ value: Buffer.alloc(3000, 1) }] });

  await admin.alterConfigs({
    validateOnly: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: "small", configEntries: [{ name: "max.message.bytes", value: "5000" }] }],
  });
  await producer.send({ topic: "small", acks: -1, messages: [{ value: Buffer.alloc(3000, 1) }] });
  await producer.disconnect();
  await admin.disconnect();
  expect(server.broker.topics.get("small")!.partitions[0]!.logEndOffset).toBe(2);
});
