// The retention floor (PartitionLog.retentionFloor: an uplink's hold on the records it has not forwarded yet) and
// bytesFrom, on both logs. Retention (the file log's; the memory log has none) and compaction keep every offset at or
// above the floor; DeleteRecords (advanceLogStartOffset) does not ask. bytesFrom counts whole batches from an offset.

import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUuid } from "../metadata/uuid.ts";
import { setLogLevel, setLogSink } from "../util/logger.ts";
import { appendKeyed, readAll, readHeaders, summary } from "./compaction-test-helpers.ts";
import { FileLogStore } from "./file/file-log-store.ts";
import type { FilePartitionLog } from "./file/file-log.ts";
import { topicLogConfigs } from "./log-configs.ts";
import { MemoryPartitionLog, SlabPool } from "./memory-log.ts";
import type { PartitionLog } from "./partition-log.ts";

const directories: string[] = [];
const stores: FileLogStore[] = [];
afterAll(() => {
  for (const store of stores) store.close();
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});
afterEach(() => {
  setLogSink((line) => process.stderr.write(line + "\n"));
  setLogLevel("error");
});

function fileLog(configs: Map<string, string>): FilePartitionLog {
  const directory = mkdtempSync(join(tmpdir(), "kgate-retention-floor-"));
  directories.push(directory);
  const store = new FileLogStore(directory, { mode: "never" });
  stores.push(store);
  return store.createLog("forwarded", 0, { topicId: randomUuid(), configs });
}

const kinds: { name: string; make: (configs: Map<string, string>) => PartitionLog }[] = [
  { name: "memory log", make: (configs) => new MemoryPartitionLog(new SlabPool(), topicLogConfigs(configs)) },
  { name: "file log", make: fileLog },
];

/** Base offsets of the file log's segments, from the folder. */
function segmentBaseOffsets(log: FilePartitionLog): number[] {
  return readdirSync(log.directory)
    .filter((name) => name.endsWith(".log"))
    .map((name) => Number(name.slice(0, 20)))
    .sort((left, right) => left - right);
}

/** What bytesFrom must say, from the stored batches themselves. */
function exactBytesFrom(log: PartitionLog, offset: number): number {
  if (offset <= log.logStartOffset) return log.sizeBytes;
  let bytes = 0;
  for (const header of readHeaders(log)) if (header.baseOffset + header.lastOffsetDelta >= offset) bytes += header.batchLength + 12;
  return bytes;
}

/** Appends `count` batches of `recordsEach` records; returns each batch's base offset. */
function fill(log: PartitionLog, count: number, recordsEach = 1): number[] {
  const bases: number[] = [];
  for (let batch = 0; batch < count; batch++) {
    bases.push(appendKeyed(log, Array.from({ length: recordsEach }, (_, record) => ({ key: `k${batch}`, value: `v${batch}.${record}` }))));
  }
  return bases;
}

const NOW = 1_000_000;

describe("retention floor: file log retention", () => {
  test("a segment goes only when every offset in it is below the floor; null lets retention go on", () => {
    // retention.bytes=0: every segment but the active one is due.
    const log = fileLog(new Map([["segment.bytes", "300"], ["retention.bytes", "0"], ["retention.ms", "-1"]]));
    fill(log, 20, 2);
    const bases = segmentBaseOffsets(log);
    expect(bases.length).toBeGreaterThan(4);
    // Inside segment 2: it holds unforwarded offsets, so it stays, and with it everything after.
    let floor: number | null = bases[2]! + 1;
    log.retentionFloor = () => floor;
    expect(log.applyRetention(NOW)).toBe(2);
    expect(log.logStartOffset).toBe(bases[2]!);
    expect(log.applyRetention(NOW)).toBe(0);
    // At segment 3's base offset: segment 2 (all below it) may go, segment 3 not.
    floor = bases[3]!;
    expect(log.applyRetention(NOW)).toBe(1);
    expect(log.logStartOffset).toBe(bases[3]!);
    // Every record at or above the floor is still there.
    expect(readAll(log).map((record) => record.offset)).toEqual(Array.from({ length: 40 - bases[3]! }, (_, index) => bases[3]! + index));
    floor = null;
    expect(log.applyRetention(NOW)).toBe(bases.length - 4);
    expect(log.logStartOffset).toBe(bases.at(-1)!);
  });

  test("retention held back logs once at debug, not at every run; again after it was released", () => {
    const lines: string[] = [];
    setLogLevel("debug");
    setLogSink((line) => lines.push(line));
    const log = fileLog(new Map([["segment.bytes", "1"], ["retention.bytes", "0"], ["retention.ms", "-1"]]));
    fill(log, 10);
    let floor: number | null = 4;
    log.retentionFloor = () => floor;
    const held = () => lines.filter((line) => line.includes("retention held back")).length;
    expect(log.applyRetention(NOW)).toBe(4);
    expect(held()).toBe(1);
    for (let run = 0; run < 5; run++) expect(log.applyRetention(NOW)).toBe(0);
    expect(held()).toBe(1);
    floor = null;
    expect(log.applyRetention(NOW)).toBe(5);
    expect(held()).toBe(1);
    fill(log, 3);
    floor = 10;
    expect(log.applyRetention(NOW)).toBe(1);
    expect(held()).toBe(2);
  });

  test("a floor at or below the log start keeps everything", () => {
    const log = fileLog(new Map([["segment.bytes", "1"], ["retention.ms", "1"]]));
    fill(log, 5);
    log.retentionFloor = () => 0;
    expect(log.applyRetention(NOW)).toBe(0);
    expect(log.logStartOffset).toBe(0);
    log.retentionFloor = undefined;
    expect(log.applyRetention(NOW)).toBe(4);
  });
});

for (const kind of kinds) {
  describe(`retention floor: ${kind.name}`, () => {
    test("DeleteRecords (advanceLogStartOffset) is not held by the floor", () => {
      const log = kind.make(new Map([["segment.bytes", "1"]]));
      fill(log, 8);
      log.retentionFloor = () => 2;
      log.advanceLogStartOffset(6);
      expect(log.logStartOffset).toBe(6);
      expect(readAll(log).map((record) => record.offset)).toEqual([6, 7]);
    });

    test("compaction cleans only below the floor, with the keys found below it", async () => {
      const log = kind.make(new Map([["cleanup.policy", "compact"], ["segment.bytes", "1"], ["min.cleanable.dirty.ratio", "0.01"], ["index.interval.bytes", "1"]]));
      appendKeyed(log, [{ key: "a", value: "1" }]);
      appendKeyed(log, [{ key: "b", value: "1" }]);
      appendKeyed(log, [{ key: "a", value: "2" }]);
      appendKeyed(log, [{ key: "b", value: "2" }]);
      appendKeyed(log, [{ key: "a", value: "3" }]);
      appendKeyed(log, [{ key: "z", value: "1" }]); // the active segment
      let floor: number | null = 3;
      log.retentionFloor = () => floor;
      expect(log.compactionDue!(NOW)).toBe(true);
      const held = await log.compact!(NOW);
      expect(held).toMatchObject({ cleaned: true, cleanedUpTo: 3 });
      // a=1 goes (a=2 is below the floor too); b=1 stays: its newer value is at the floor, not yet forwarded.
      expect(summary(readAll(log))).toEqual(["1 b=1", "2 a=2", "3 b=2", "4 a=3", "5 z=1"]);
      expect(log.bytesFrom(3)).toBe(exactBytesFrom(log, 3));
      // The dirty part lies at or above the floor: not due; a pass run anyway goes over the clean part only.
      expect(log.compactionDue!(NOW)).toBe(false);
      expect(await log.compact!(NOW)).toMatchObject({ cleanedUpTo: 3 });
      expect(summary(readAll(log))).toEqual(["1 b=1", "2 a=2", "3 b=2", "4 a=3", "5 z=1"]);
      // A floor below the clean part (a new uplink starting from the beginning) stops passes altogether: a pass
      // rewrites every segment before its end.
      floor = 1;
      expect(log.compactionDue!(NOW)).toBe(false);
      expect((await log.compact!(NOW)).cleaned).toBe(false);
      expect(summary(readAll(log))).toEqual(["1 b=1", "2 a=2", "3 b=2", "4 a=3", "5 z=1"]);
      floor = null;
      expect(log.compactionDue!(NOW)).toBe(true);
      expect((await log.compact!(NOW)).cleaned).toBe(true);
      expect(summary(readAll(log))).toEqual(["3 b=2", "4 a=3", "5 z=1"]);
      for (const offset of [0, 1, 3, 4, 5, 6]) expect({ offset, bytes: log.bytesFrom(offset) }).toEqual({ offset, bytes: exactBytesFrom(log, offset) });
    });

    test("bytesFrom: whole batches from the offset on; the log start and past the end", () => {
      // index.interval.bytes=1: the file log's index has every batch, so its count is exact too.
      const log = kind.make(new Map([["segment.bytes", "400"], ["index.interval.bytes", "1"]]));
      expect(log.bytesFrom(0)).toBe(0);
      const bases = fill(log, 12, 3);
      const end = log.logEndOffset;
      expect(end).toBe(36);
      expect(log.bytesFrom(0)).toBe(log.sizeBytes);
      expect(log.bytesFrom(-5)).toBe(log.sizeBytes);
      expect(log.bytesFrom(end)).toBe(0);
      expect(log.bytesFrom(end + 100)).toBe(0);
      // Inside a batch: that batch counts whole.
      expect(log.bytesFrom(bases[5]! + 1)).toBe(log.bytesFrom(bases[5]!));
      expect(log.bytesFrom(bases[5]! + 2)).toBe(log.bytesFrom(bases[5]!));
      expect(log.bytesFrom(bases[5]! + 3)).toBeLessThan(log.bytesFrom(bases[5]!));
      for (let offset = 0; offset <= end; offset++) expect({ offset, bytes: log.bytesFrom(offset) }).toEqual({ offset, bytes: exactBytesFrom(log, offset) });
      // After the start moves (DeleteRecords inside a batch, then past whole batches).
      log.advanceLogStartOffset(bases[3]! + 1);
      expect(log.bytesFrom(0)).toBe(log.sizeBytes);
      expect(log.bytesFrom(log.logStartOffset)).toBe(log.sizeBytes);
      for (let offset = log.logStartOffset + 1; offset <= end; offset++) expect({ offset, bytes: log.bytesFrom(offset) }).toEqual({ offset, bytes: exactBytesFrom(log, offset) });
    });
  });
}

describe("bytesFrom: file log", () => {
  test("at segment boundaries: that segment and every later one; after retention the same", () => {
    const log = fileLog(new Map([["segment.bytes", "300"], ["retention.bytes", "0"], ["retention.ms", "-1"], ["index.interval.bytes", "1"]]));
    fill(log, 20, 2);
    const bases = segmentBaseOffsets(log);
    expect(bases.length).toBeGreaterThan(3);
    for (const base of bases.slice(1)) expect({ base, bytes: log.bytesFrom(base) }).toEqual({ base, bytes: exactBytesFrom(log, base) });
    // The last batch before a boundary adds exactly its own bytes.
    expect(log.bytesFrom(bases[2]! - 1) - log.bytesFrom(bases[2]!)).toBe(exactBytesFrom(log, bases[2]! - 1) - exactBytesFrom(log, bases[2]!));
    log.retentionFloor = () => bases[2]!;
    expect(log.applyRetention(NOW)).toBe(2);
    expect(log.bytesFrom(0)).toBe(log.sizeBytes);
    expect(log.bytesFrom(bases[2]!)).toBe(log.sizeBytes);
    for (let offset = bases[2]! + 1; offset <= log.logEndOffset; offset++) expect({ offset, bytes: log.bytesFrom(offset) }).toEqual({ offset, bytes: exactBytesFrom(log, offset) });
  });

  test("with the default sparse index it over-counts by less than index.interval.bytes, never under-counts", () => {
    const log = fileLog(new Map([["segment.bytes", String(16 * 1024)]]));
    fill(log, 400, 2);
    expect(segmentBaseOffsets(log).length).toBeGreaterThan(1);
    let overCounted = 0;
    for (let offset = 1; offset <= log.logEndOffset; offset += 7) {
      const over = log.bytesFrom(offset) - exactBytesFrom(log, offset);
      expect({ offset, over: over >= 0 && over < 4096 }).toEqual({ offset, over: true });
      if (over > 0) overCounted++;
    }
    expect(overCounted).toBeGreaterThan(0);
  });
});

describe("bytesFrom: memory log", () => {
  test("stays exact while its index arrays grow and compact in place", () => {
    const log = new MemoryPartitionLog(new SlabPool(), topicLogConfigs(new Map()));
    fill(log, 300, 2);
    for (let start = 50; start <= 500; start += 150) {
      log.advanceLogStartOffset(start);
      fill(log, 100, 2);
      for (let offset = start; offset <= log.logEndOffset; offset += 37) expect({ offset, bytes: log.bytesFrom(offset) }).toEqual({ offset, bytes: exactBytesFrom(log, offset) });
    }
  });
});
