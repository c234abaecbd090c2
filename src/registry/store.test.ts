// The store's persistence in `_schemas`: replay rebuilds the same state, and the log cleaner's compaction of the topic
// (one record per key, tombstones removed after delete.retention.ms) drops dead records without losing state or
// letting ids be reused.

import { expect, test } from "bun:test";
import { limits } from "../config.ts";
import { readAll } from "../log/compaction-test-helpers.ts";
import { topicLogConfigs } from "../log/log-configs.ts";
import { MemoryPartitionLog } from "../log/memory-log.ts";
import { TopicStore } from "../metadata/topic-store.ts";
import { SCHEMAS_TOPIC, SchemaStore } from "./store.ts";

function topicStore(): TopicStore {
  return new TopicStore((_topic, _partition, context) => new MemoryPartitionLog(undefined, topicLogConfigs(context.configs)));
}

/** Shrinks `_schemas`' segments (so that churn rolls some) and lets tombstones go at the first cleaning. */
function cleanableSoon(topics: TopicStore): void {
  const configs = topics.get(SCHEMAS_TOPIC)!.configs;
  expect(configs.get("cleanup.policy")).toBe("compact");
  expect(Number(configs.get("segment.bytes"))).toBe(limits.internalTopicSegmentBytes);
  topics.alterConfigs(SCHEMAS_TOPIC, new Map([...configs, ["segment.bytes", String(8 * 1024)], ["delete.retention.ms", "0"]]));
}

/** Two cleaning passes, as the broker's cleaner would run them: the second drops the tombstones the first kept. */
async function clean(topics: TopicStore): Promise<void> {
  const log = topics.get(SCHEMAS_TOPIC)!.partitions[0]!;
  expect((await log.compact!(Date.now())).cleaned).toBe(true);
  await log.compact!(Date.now() + 1);
}

test("compaction keeps the live state and the id counter; a new store replays the same state", async () => {
  const topics = topicStore();
  const store = new SchemaStore(topics);
  const first = await store.register("kept", "AVRO", '"string"', []);
  cleanableSoon(topics);
  const soft = await store.register("soft", "AVRO", '"int"', []);
  await store.softDeleteSubject("soft");
  // The largest id, then hard-deleted: once its tombstone is cleaned away, only the NOOP record remembers it.
  const doomed = await store.register("doomed", "AVRO", '"long"', []);
  expect(doomed.id).toBeGreaterThan(soft.id);
  await store.softDeleteSubject("doomed");
  await store.hardDeleteSubject("doomed");
  await store.setMode("frozen", "READONLY", false);
  // Churn: one live key rewritten many times.
  for (let i = 0; i < 2_000; i++) await store.setCompatibility("kept", i % 2 === 0 ? "FULL" : "NONE");
  const schemasLog = topics.get(SCHEMAS_TOPIC)!.partitions[0]!;
  expect(readAll(schemasLog).length).toBeGreaterThan(2_000);
  await clean(topics);
  const left = readAll(schemasLog);
  // The doomed subject's tombstones are gone with the records they deleted.
  expect(left.some((record) => record.key?.includes('"doomed"'))).toBe(false);
  expect(left.length).toBeLessThan(200); // the live keys, plus the active segment's records

  const reloaded = new SchemaStore(topics);
  reloaded.load();
  expect(reloaded.versions("kept", false).map((version) => version.id)).toEqual([first.id]);
  expect(reloaded.subjectNames(true)).toEqual(["kept", "soft"]);
  expect(reloaded.subjectNames(false)).toEqual(["kept"]);
  expect(reloaded.subjectCompatibility("kept")).toBe(store.subjectCompatibility("kept")!);
  expect(reloaded.subjectMode("frozen")).toBe("READONLY");
  // The hard-deleted schema's id is gone, but it is not handed out again.
  const next = await reloaded.register("new", "AVRO", '"boolean"', []);
  expect(next.id).toBeGreaterThan(doomed.id);
});

test("normalize configs replay, with and without a level, and through compaction", async () => {
  const topics = topicStore();
  const store = new SchemaStore(topics);
  await store.setConfig("only-normalize", { normalize: true });
  await store.setConfig("both", { compatibilityLevel: "FULL", normalize: true });
  await store.setConfig(null, { normalize: false });
  await store.setCompatibility("both", "NONE"); // keeps normalize
  const check = (replayed: SchemaStore) => {
    expect(replayed.subjectNormalize("only-normalize")).toBe(true);
    expect(replayed.subjectCompatibility("only-normalize")).toBeUndefined();
    expect(replayed.subjectNormalize("both")).toBe(true);
    expect(replayed.subjectCompatibility("both")).toBe("NONE");
    expect(replayed.globalNormalizeValue).toBe(false);
    expect(replayed.effectiveNormalize("elsewhere")).toBe(false);
  };
  const reloaded = new SchemaStore(topics);
  reloaded.load();
  check(reloaded);
  cleanableSoon(topics);
  for (let i = 0; i < 2_000; i++) await reloaded.setConfig("churn", { normalize: i % 2 === 0 });
  await clean(topics);
  expect(readAll(topics.get(SCHEMAS_TOPIC)!.partitions[0]!).length).toBeLessThan(200);
  const compacted = new SchemaStore(topics);
  compacted.load();
  check(compacted);
});
