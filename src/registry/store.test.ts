// The store's persistence in `_schemas`: replay rebuilds the same state, and compaction (the log keeps every record
// until the store rewrites its live state) drops dead records without losing state or letting ids be reused.

import { expect, test } from "bun:test";
import { limits } from "../config.ts";
import { MemoryPartitionLog } from "../log/memory-log.ts";
import { TopicStore } from "../metadata/topic-store.ts";
import { SCHEMAS_TOPIC, SchemaStore } from "./store.ts";

test("compaction keeps the live state and the id counter; a new store replays the same state", async () => {
  const topics = new TopicStore(() => new MemoryPartitionLog());
  const store = new SchemaStore(topics);
  const first = await store.register("kept", "AVRO", '"string"', []);
  const doomed = await store.register("doomed", "AVRO", '"long"', []);
  await store.softDeleteSubject("doomed");
  await store.hardDeleteSubject("doomed");
  await store.register("soft", "AVRO", '"int"', []);
  await store.softDeleteSubject("soft");
  await store.setMode("frozen", "READONLY", false);
  // Churn: one live key rewritten many times.
  for (let i = 0; i < limits.schemasCompactionRecordsMin; i++) await store.setCompatibility("kept", i % 2 === 0 ? "FULL" : "NONE");
  const schemasLog = topics.get(SCHEMAS_TOPIC)!.partitions[0]!;
  expect(schemasLog.logStartOffset).toBeGreaterThan(0);
  expect(schemasLog.logEndOffset - schemasLog.logStartOffset).toBeLessThan(100);

  const reloaded = new SchemaStore(topics);
  reloaded.load();
  expect(reloaded.versions("kept", false).map((version) => version.id)).toEqual([first.id]);
  expect(reloaded.subjectNames(true)).toEqual(["kept", "soft"]);
  expect(reloaded.subjectNames(false)).toEqual(["kept"]);
  expect(reloaded.subjectCompatibility("kept")).toBe(store.subjectCompatibility("kept")!);
  expect(reloaded.subjectMode("frozen")).toBe("READONLY");
  // The hard-deleted schema's id is gone, but it is not handed out again.
  const next = await reloaded.register("new", "AVRO", '"boolean"', []);
  expect(next.id).toBeGreaterThan(Math.max(first.id, doomed.id) + 1);
});

test("normalize configs replay, with and without a level, and through compaction", async () => {
  const topics = new TopicStore(() => new MemoryPartitionLog());
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
  for (let i = 0; i < limits.schemasCompactionRecordsMin; i++) await reloaded.setConfig("churn", { normalize: i % 2 === 0 });
  expect(topics.get(SCHEMAS_TOPIC)!.partitions[0]!.logStartOffset).toBeGreaterThan(0);
  const compacted = new SchemaStore(topics);
  compacted.load();
  check(compacted);
});
