// CreatePartitions, DescribeConfigs, AlterConfigs and IncrementalAlterConfigs through kafkajs's admin client and raw
// frames, on the file log: changes are answered only once persisted, so they are all there after a restart.

import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigResourceTypes, Kafka, logLevel } from "kafkajs";
import { parseConfig } from "../config.ts";
import { ErrorCode } from "../protocol/error-codes.ts";
import { RawClient } from "../../test/helpers/raw-client.ts";
import { startTestServer } from "../../test/helpers/server.ts";

const dataDir = mkdtempSync(join(tmpdir(), "kgate-topic-admin-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

function fileConfig() {
  return parseConfig(["--data", dataDir, "--listen", "127.0.0.1:0"], {})!;
}

test("partitions and topic configs change over the protocol and survive a restart", async () => {
  {
    await using server = await startTestServer(fileConfig());
    const kafka = new Kafka({ brokers: [server.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: "admin", numPartitions: 1, configEntries: [{ name: "retention.ms", value: "1000" }] }] });

    await admin.createPartitions({ topicPartitions: [{ topic: "admin", count: 3 }] });
    await expect(admin.createPartitions({ topicPartitions: [{ topic: "admin", count: 2 }] })).rejects.toThrow();
    expect((await admin.fetchTopicMetadata({ topics: ["admin"] })).topics[0]!.partitions.length).toBe(3);

    await admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: "admin", configEntries: [{ name: "segment.bytes", value: "1000" }] }],
    });
    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: "admin", configNames: ["segment.bytes", "retention.ms", "no.such.config"] }],
    });
    const entries = Object.fromEntries(described.resources[0]!.configEntries.map((entry) => [entry.configName, entry]));
    expect(entries["segment.bytes"]).toMatchObject({ configValue: "1000", isDefault: false });
    // Non-incremental AlterConfigs replaced the whole set: retention.ms is back to its default.
    expect(entries["retention.ms"]).toMatchObject({ configValue: "604800000", isDefault: true });
    expect(entries["no.such.config"]).toBeUndefined();
    await expect(
      admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: "admin", configEntries: [{ name: "segment.bytes", value: "lots" }] }] }),
    ).rejects.toThrow();

    const client = await RawClient.connect(server.port);
    const incremental = await client.call(44, 1, {
      resources: [
        {
          resourceType: 2,
          resourceName: "admin",
          configs: [
            { name: "cleanup.policy", configOperation: 2, value: "compact" },
            { name: "retention.bytes", configOperation: 0, value: "5000" },
          ],
        },
        { resourceType: 2, resourceName: "missing", configs: [] },
        { resourceType: 2, resourceName: "admin", configs: [{ name: "segment.ms", configOperation: 2, value: "1" }] },
      ],
      validateOnly: false,
    });
    expect(incremental.responses.map((response: { errorCode: number }) => response.errorCode)).toEqual([
      ErrorCode.NONE,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      ErrorCode.INVALID_CONFIG,
    ]);
    const withSynonyms = await client.call(32, 4, {
      resources: [{ resourceType: 2, resourceName: "admin", configurationKeys: ["cleanup.policy"] }],
      includeSynonyms: true,
      includeDocumentation: false,
    });
    expect(withSynonyms.results[0].configs[0]).toMatchObject({ value: "delete,compact", configSource: 1, configType: 7 });
    expect(withSynonyms.results[0].configs[0].synonyms.map((synonym: { source: number }) => synonym.source)).toEqual([1, 5]);

    // The new segment.bytes reaches the log: 3 produces of ~600 bytes roll segments.
    const producer = kafka.producer();
    await producer.connect();
    for (let i = 0; i < 3; i++) await producer.send({ topic: "admin", acks: -1, messages: [{ partition: 0, key: `k${i}`, value: Buffer.alloc(600, 1) }] });
    await producer.disconnect();
    expect(readdirSync(join(dataDir, "admin-0")).filter((name) => name.endsWith(".log")).length).toBeGreaterThan(1);
    client.close();
    await admin.disconnect();
  }
  {
    await using server = await startTestServer(fileConfig());
    const topic = server.broker.topics.get("admin")!;
    expect(topic.partitions.length).toBe(3);
    expect(Object.fromEntries(topic.configs)).toEqual({ "segment.bytes": "1000", "cleanup.policy": "delete,compact", "retention.bytes": "5000" });
    expect(topic.partitions[0]!.logEndOffset).toBe(3);
  }
});
