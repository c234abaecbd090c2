// Replay (replay.ts) on the file log: every batch from the log start to the end, in order, and every read given back.
//
// The bug: the offsets store (__consumer_offsets) and the schema registry (_schemas) replayed their topics with
// read() and never called release(). The file log reads into leased slabs of a shared pool (read-buffers.ts): a
// lease never ended keeps its slab out of the pool for good (left to the GC), so each start-up replay cost one
// fresh slab per read step, and the reads after it started on fresh memory. The store's count of open leases must
// be back at zero after every replay.

import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OffsetStore } from "../groups/offset-store.ts";
import { randomUuid } from "../metadata/uuid.ts";
import { TopicStore } from "../metadata/topic-store.ts";
import { SchemaStore } from "../registry/store.ts";
import { appendKeyed } from "./compaction-test-helpers.ts";
import { FileLogStore } from "./file/file-log-store.ts";
import { replayBatches, replayKeyedRecords } from "./replay.ts";

const directories: string[] = [];
const stores: FileLogStore[] = [];
afterAll(() => {
  for (const store of stores) store.close();
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});

function fileLogStore(): FileLogStore {
  const directory = mkdtempSync(join(tmpdir(), "kgate-replay-"));
  directories.push(directory);
  const store = new FileLogStore(directory, { mode: "never" });
  stores.push(store);
  return store;
}

/** 3 MiB in 48 batches of 64 KiB values: several 1 MiB read steps. */
function filledLog(store: FileLogStore) {
  const log = store.createLog("replayed", 0, { topicId: randomUuid(), configs: new Map() });
  const value = "v".repeat(64 * 1024);
  for (let i = 0; i < 48; i++) appendKeyed(log, [{ key: `k${i}`, value }, { key: null, value: "unkeyed" }], i % 3 === 0 ? { producerId: 5, baseSequence: i * 2 } : {});
  return log;
}

test("replayBatches visits every batch in offset order and releases every read", () => {
  const store = fileLogStore();
  const log = filledLog(store);
  const baseOffsets: number[] = [];
  replayBatches(log, (batch, header) => {
    expect(batch.length).toBe(header.batchLength + 12);
    baseOffsets.push(header.baseOffset);
  });
  expect(baseOffsets).toEqual(Array.from({ length: 48 }, (_, i) => i * 2));
  expect(store.readBuffers.leasedCount).toBe(0);
});

test("replayBatches with a header filter reads only the wanted batches, and releases them", () => {
  const store = fileLogStore();
  const log = filledLog(store);
  const producerBatches: number[] = [];
  replayBatches(
    log,
    (_batch, header) => producerBatches.push(header.baseOffset),
    (header) => header.producerId >= 0,
  );
  expect(producerBatches).toEqual(Array.from({ length: 16 }, (_, i) => i * 6));
  expect(store.readBuffers.leasedCount).toBe(0);
});

test("replayKeyedRecords visits the keyed records only, from the log start; reads released even when visit throws", () => {
  const store = fileLogStore();
  const log = filledLog(store);
  log.advanceLogStartOffset(10);
  const keys: string[] = [];
  replayKeyedRecords(log, (key) => keys.push(new TextDecoder().decode(key)));
  expect(keys).toEqual(Array.from({ length: 43 }, (_, i) => `k${i + 5}`));
  expect(store.readBuffers.leasedCount).toBe(0);

  expect(() =>
    replayKeyedRecords(log, () => {
      throw new Error("bad record");
    }),
  ).toThrow("bad record");
  expect(store.readBuffers.leasedCount).toBe(0);
});

test("the offsets store and the schema registry give back their reads when they load (they leaked them)", async () => {
  const store = fileLogStore();
  const topics = new TopicStore(store.createLog);
  const offsets = new OffsetStore(topics);
  const metadata = "m".repeat(16 * 1024);
  for (let i = 0; i < 200; i++) offsets.commit(`group-${i}`, [{ topic: "orders", partition: 0, value: { offset: i, leaderEpoch: -1, metadata, commitTimestamp: 1 } }]);
  const schemas = new SchemaStore(topics);
  for (let i = 0; i < 300; i++) await schemas.setCompatibility(`subject-${i}`, "FULL");
  expect(store.readBuffers.leasedCount).toBe(0);

  const reloadedOffsets = new OffsetStore(topics);
  reloadedOffsets.load();
  expect(reloadedOffsets.get("group-199", "orders", 0)?.offset).toBe(199);
  expect(store.readBuffers.leasedCount).toBe(0);

  const reloadedSchemas = new SchemaStore(topics);
  reloadedSchemas.load();
  expect(reloadedSchemas.subjectCompatibility("subject-299")).toBe("FULL");
  expect(store.readBuffers.leasedCount).toBe(0);
});
