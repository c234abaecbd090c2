import { afterEach, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Broker } from "../broker.ts";
import { parseConfig } from "../config.ts";
import { buildRecordBatch, validateBatchForAppend } from "../protocol/records/record-batch.ts";
import { setLogLevel } from "../util/logger.ts";
import { TOPIC_CATALOG_FILE } from "./topic-catalog.ts";
import { uuidEquals } from "./uuid.ts";

const directories: string[] = [];
afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

function openBroker(dataDir: string): Broker {
  setLogLevel("error");
  return new Broker(parseConfig(["--data", dataDir, "--listen", "127.0.0.1:0"], {})!);
}

function temporaryDirectory(): string {
  const directory = mkdtempSync(join(tmpdir(), "kgate-catalog-"));
  directories.push(directory);
  return directory;
}

function appendOne(broker: Broker, topic: string, partition: number, value: string): number {
  const batch = buildRecordBatch({ records: [{ value: Buffer.from(value) }] });
  const validated = validateBatchForAppend(batch);
  if (!validated.ok) throw new Error(validated.message);
  return broker.topics.get(topic)!.partitions[partition]!.append(batch, validated.info).baseOffset;
}

test("topics, their ids, partitions, configs and offsets come back after a restart", () => {
  const dataDir = temporaryDirectory();
  const first = openBroker(dataDir);
  const orders = first.topics.create("orders", 2, new Map([["retention.ms", "1000"]])).topic!;
  first.topics.create("gone", 1);
  first.findOrCreateTopic("auto.created", true);
  first.topics.createPartitions("orders", 3);
  first.topics.delete("gone");
  appendOne(first, "orders", 2, "a");
  appendOne(first, "orders", 2, "b");
  first.topics.get("orders")!.partitions[2]!.advanceLogStartOffset(1);
  first.close();

  const second = openBroker(dataDir);
  expect(second.topics.list().map((topic) => topic.name)).toEqual(["orders", "auto.created"]);
  const restored = second.topics.get("orders")!;
  expect(uuidEquals(restored.topicId, orders.topicId)).toBe(true);
  expect(second.topics.getById(orders.topicId)).toBe(restored);
  expect(restored.partitions.length).toBe(3);
  expect(restored.configs.get("retention.ms")).toBe("1000");
  expect(restored.partitions[2]!.logEndOffset).toBe(2);
  expect(restored.partitions[2]!.logStartOffset).toBe(1);
  expect(existsSync(join(dataDir, "gone-0"))).toBe(false);
  // Name rules still hold for restored topics: '.' and '_' collide.
  expect(second.topics.create("auto_created", 1).errorCode).not.toBe(0);
  expect(appendOne(second, "orders", 2, "c")).toBe(2);
  second.close();
});

test("the catalog is written before create returns, and a damaged catalog stops the start", () => {
  const dataDir = temporaryDirectory();
  const broker = openBroker(dataDir);
  broker.topics.create("orders", 1);
  // No close (a crash): the catalog already names the topic.
  broker.logCleaner.stop();
  broker.fileLogs!.abandon();
  const catalog = JSON.parse(readFileSync(join(dataDir, TOPIC_CATALOG_FILE), "utf8"));
  expect(catalog.topics.map((topic: { name: string }) => topic.name)).toEqual(["orders"]);
  const again = openBroker(dataDir);
  expect(again.topics.get("orders")).toBeDefined();
  again.close();

  writeFileSync(join(dataDir, TOPIC_CATALOG_FILE), "{ not json");
  expect(() => openBroker(dataDir)).toThrow();
});
