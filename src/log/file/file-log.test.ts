import { afterEach, describe, expect, setSystemTime, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, unlinkSync, writeFileSync, appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildRecordBatch, decodeRecords as decodeRecordsRaw, readBaseOffset, validateBatchForAppend } from "../../protocol/records/record-batch.ts";
import { randomUuid } from "../../metadata/uuid.ts";
import { setLogLevel, setLogSink } from "../../util/logger.ts";
import type { FlushPolicy } from "../../config.ts";
import { CLEAN_SHUTDOWN_FILE, FileLogStore } from "./file-log-store.ts";
import type { FilePartitionLog } from "./file-log.ts";
import { waitFor } from "../../../test/helpers/server.ts";

/** Records of a stored batch with their absolute offsets. */
function decodeRecords(batch: Uint8Array) {
  const baseOffset = readBaseOffset(batch);
  return decodeRecordsRaw(batch).map((record) => ({ ...record, offset: baseOffset + record.offsetDelta }));
}

const directories: string[] = [];
const openedStores: FileLogStore[] = [];
afterEach(() => {
  // A store a test left open would keep its retention timer running after its folder is gone (see the last test).
  for (const store of openedStores.splice(0)) store.abandon();
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
  setLogSink((line) => process.stderr.write(line + "\n"));
  setLogLevel("error");
});

function temporaryDirectory(): string {
  const directory = mkdtempSync(join(tmpdir(), "kgate-file-log-"));
  directories.push(directory);
  return directory;
}

/** Captures the log lines the code under test writes. */
function captureLogLines(): string[] {
  const lines: string[] = [];
  setLogLevel("info");
  setLogSink((line) => lines.push(line));
  return lines;
}

interface Opened {
  store: FileLogStore;
  log: FilePartitionLog;
  topicId: Uint8Array;
}

function openLog(
  dataDir: string,
  { configs = new Map<string, string>(), topicId = randomUuid(), flush = { mode: "always" } as FlushPolicy } = {},
): Opened {
  const store = new FileLogStore(dataDir, flush);
  openedStores.push(store);
  const log = store.createLog("orders", 0, { topicId, configs });
  return { store, log, topicId };
}

/** Appends a real batch (valid CRC) of `count` records whose values are `${label}-${i}`. */
function appendRecords(log: FilePartitionLog, label: string, count = 1, timestamp = 1_000): number {
  const batch = buildRecordBatch({
    records: Array.from({ length: count }, (_, i) => ({ value: Buffer.from(`${label}-${i}`), timestamp: timestamp + i })),
  });
  const validated = validateBatchForAppend(batch);
  if (!validated.ok) throw new Error(validated.message);
  return log.append(batch, validated.info).baseOffset;
}

/** Every record value readable from `offset` on, following reads across batches and segments. */
function readValues(log: FilePartitionLog, offset = log.logStartOffset, maxBytes = 1 << 20): { offset: number; value: string }[] {
  const values: { offset: number; value: string }[] = [];
  let next = offset;
  while (next < log.logEndOffset) {
    const read = log.read(next, maxBytes, true);
    if (read.batches.length === 0) break;
    for (const batch of read.batches) {
      for (const record of decodeRecords(batch)) {
        if (record.offset < next) continue;
        values.push({ offset: record.offset, value: Buffer.from(record.value!).toString() });
        next = record.offset + 1;
      }
    }
  }
  return values;
}

function segmentFiles(directory: string, suffix: string): string[] {
  return readdirSync(directory).filter((name) => name.endsWith(suffix)).sort();
}

describe("file partition log", () => {
  test("appends assign contiguous offsets and reads return whole batches from the one holding the offset", () => {
    const { store, log } = openLog(temporaryDirectory());
    expect(appendRecords(log, "a", 3)).toBe(0);
    expect(appendRecords(log, "b", 2)).toBe(3);
    expect(appendRecords(log, "c", 1)).toBe(5);
    expect(log.logEndOffset).toBe(6);
    expect(log.highWatermark).toBe(6);

    const fromMiddle = log.read(4, 1 << 20, true);
    expect(fromMiddle.batches.length).toBe(2);
    expect(decodeRecords(fromMiddle.batches[0]!).map((record) => record.offset)).toEqual([3, 4]);
    expect(fromMiddle.bytes).toBe(fromMiddle.batches[0]!.length + fromMiddle.batches[1]!.length);

    // maxBytes below the first batch: nothing unless minOneBatch (KIP-74).
    expect(log.read(0, 10, false).batches.length).toBe(0);
    expect(log.read(0, 10, true).batches.length).toBe(1);
    // Out of range gives nothing (the caller reports OFFSET_OUT_OF_RANGE).
    expect(log.read(6, 1 << 20, true).batches.length).toBe(0);
    expect(readValues(log).map((entry) => entry.value)).toEqual(["a-0", "a-1", "a-2", "b-0", "b-1", "c-0"]);
    store.close();
  });

  test("forEachBatchHeader visits every retained batch from the log start, headers only, whole batch on demand", () => {
    const { store, log } = openLog(temporaryDirectory(), { configs: new Map([["segment.bytes", "300"]]) });
    for (let i = 0; i < 10; i++) appendRecords(log, `r${i}`, 2);
    const large = "x".repeat(20_000); // larger than the scan window: its body is skipped, not read
    appendRecords(log, large, 1);
    log.advanceLogStartOffset(5); // inside the batch [4, 5]: that batch is still visited
    const visited: { baseOffset: number; headerBytes: number; values: string[] }[] = [];
    log.forEachBatchHeader((header, wholeBatch) => {
      const baseOffset = readBaseOffset(header);
      const values = baseOffset % 4 === 0 ? decodeRecords(wholeBatch()!).map((record) => Buffer.from(record.value!).toString()) : [];
      visited.push({ baseOffset, headerBytes: header.length, values });
    });
    expect(visited.map((entry) => entry.baseOffset)).toEqual([4, 6, 8, 10, 12, 14, 16, 18, 20]);
    expect(visited.every((entry) => entry.headerBytes === 61)).toBe(true);
    expect(visited[0]!.values).toEqual(["r2-0", "r2-1"]);
    expect(visited[visited.length - 1]!.values).toEqual([`${large}-0`]);
    store.close();
  });

  test("the active segment rolls at segment.bytes and reads cross segments", () => {
    const dataDir = temporaryDirectory();
    const { store, log } = openLog(dataDir, { configs: new Map([["segment.bytes", "300"]]) });
    for (let i = 0; i < 20; i++) appendRecords(log, `r${i}`, 2);
    const directory = join(dataDir, "orders-0");
    const logs = segmentFiles(directory, ".log");
    expect(logs.length).toBeGreaterThan(3);
    for (const name of logs) expect(statSync(join(directory, name)).size).toBeLessThanOrEqual(300);
    // Segment files are named by their base offset.
    expect(logs[0]).toBe("00000000000000000000.log");
    expect(Number(logs[1]!.slice(0, 20))).toBeGreaterThan(0);
    const values = readValues(log);
    expect(values.length).toBe(40);
    expect(values.map((entry) => entry.offset)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    store.close();
  });

  test("a sparse index is written every index.interval.bytes and every offset is found through it", () => {
    const dataDir = temporaryDirectory();
    const { store, log, topicId } = openLog(dataDir, { configs: new Map([["index.interval.bytes", "200"]]) });
    for (let i = 0; i < 50; i++) appendRecords(log, `r${i}`, 3);
    store.close();
    const indexBytes = statSync(join(dataDir, "orders-0", "00000000000000000000.index")).size;
    expect(indexBytes).toBeGreaterThan(8 * 10);
    expect(indexBytes % 8).toBe(0);
    expect(statSync(join(dataDir, "orders-0", "00000000000000000000.timeindex")).size).toBe((indexBytes / 8) * 12);

    const reopened = openLog(dataDir, { configs: new Map([["index.interval.bytes", "200"]]), topicId });
    for (let offset = 0; offset < 150; offset += 7) {
      const read = reopened.log.read(offset, 1, true);
      const offsets = decodeRecords(read.batches[0]!).map((record) => record.offset);
      expect(offsets).toContain(offset);
    }
    reopened.store.close();
  });

  test("restart after a clean shutdown keeps offsets, data, timestamps and the log start offset", () => {
    const dataDir = temporaryDirectory();
    const configs = new Map([["segment.bytes", "400"]]);
    const first = openLog(dataDir, { configs });
    for (let i = 0; i < 10; i++) appendRecords(first.log, `r${i}`, 2, 10_000 + i * 10);
    first.log.advanceLogStartOffset(5);
    first.store.close();
    expect(existsSync(join(dataDir, CLEAN_SHUTDOWN_FILE))).toBe(true);

    const second = openLog(dataDir, { configs, topicId: first.topicId });
    expect(existsSync(join(dataDir, CLEAN_SHUTDOWN_FILE))).toBe(false);
    expect(second.store.recovering).toBe(false);
    expect(second.log.logEndOffset).toBe(20);
    expect(second.log.logStartOffset).toBe(5);
    expect(readValues(second.log)[0]).toEqual({ offset: 5, value: "r2-1" });
    expect(second.log.maxTimestampOffset()).toEqual({ offset: 19, timestamp: 10_091 });
    const byTime = second.log.batchForTimestamp(10_050);
    expect(decodeRecords(byTime!).map((record) => record.timestamp)).toEqual([10_050, 10_051]);
    expect(appendRecords(second.log, "after", 1)).toBe(20);
    second.store.close();
  });

  test("the active segment rolls once it is segment.ms old", () => {
    // segment.ms runs on Date.now(), frozen here: a loaded machine's stalls cannot roll early nor make the wait short.
    const startMs = Date.UTC(2026, 0, 1);
    setSystemTime(new Date(startMs));
    try {
      const dataDir = temporaryDirectory();
      const { store, log } = openLog(dataDir, { configs: new Map([["segment.ms", "500"]]) });
      appendRecords(log, "a");
      setSystemTime(new Date(startMs + 499));
      appendRecords(log, "b");
      expect(segmentFiles(join(dataDir, "orders-0"), ".log").length).toBe(1);
      setSystemTime(new Date(startMs + 500));
      appendRecords(log, "c");
      expect(segmentFiles(join(dataDir, "orders-0"), ".log")).toEqual(["00000000000000000000.log", "00000000000000000002.log"]);
      expect(readValues(log).map((entry) => entry.value)).toEqual(["a-0", "b-0", "c-0"]);
      store.close();
    } finally {
      setSystemTime();
    }
  });

  test("DeleteRecords past whole segments deletes them", () => {
    const dataDir = temporaryDirectory();
    const { store, log } = openLog(dataDir, { configs: new Map([["segment.bytes", "300"]]) });
    for (let i = 0; i < 20; i++) appendRecords(log, `r${i}`, 2);
    const before = segmentFiles(join(dataDir, "orders-0"), ".log").length;
    log.advanceLogStartOffset(30);
    const after = segmentFiles(join(dataDir, "orders-0"), ".log");
    expect(after.length).toBeLessThan(before);
    expect(Number(after[0]!.slice(0, 20))).toBeLessThanOrEqual(30);
    expect(log.read(10, 1 << 20, true).batches.length).toBe(0);
    expect(readValues(log)[0]!.offset).toBe(30);
    store.close();
  });

  test("a torn tail is cut and logged after an unclean shutdown; appends continue from the cut", () => {
    const dataDir = temporaryDirectory();
    const first = openLog(dataDir);
    for (let i = 0; i < 5; i++) appendRecords(first.log, `r${i}`, 2);
    // kill -9: no close(), no marker. Then half a batch lands at the end.
    first.store.abandon();
    const segmentPath = join(dataDir, "orders-0", "00000000000000000000.log");
    const whole = readFileSync(segmentPath);
    const lastBatchLength = whole.length / 5;
    appendFileSync(segmentPath, whole.subarray(0, lastBatchLength - 7));

    const lines = captureLogLines();
    const second = openLog(dataDir, { topicId: first.topicId });
    expect(second.store.recovering).toBe(true);
    expect(second.log.logEndOffset).toBe(10);
    expect(statSync(segmentPath).size).toBe(whole.length);
    const warning = lines.find((line) => line.includes("cut a torn or corrupt tail"));
    expect(warning).toContain("offset=10");
    expect(warning).toContain(`bytesDropped=${lastBatchLength - 7}`);
    expect(appendRecords(second.log, "next", 1)).toBe(10);
    expect(readValues(second.log).map((entry) => entry.value).slice(-2)).toEqual(["r4-1", "next-0"]);
    second.store.close();
  });

  test("a growing segment gets disk blocks ahead of its end, released when it rolls or closes; a kill -9 with them reopens whole", () => {
    const dataDir = temporaryDirectory();
    const first = openLog(dataDir, { configs: new Map([["segment.bytes", String(4 << 20)]]) });
    const value = "x".repeat(60_000);
    const appendBig = (log: FilePartitionLog, label: string) => {
      const batch = buildRecordBatch({ records: Array.from({ length: 4 }, (_, i) => ({ value: Buffer.from(`${label}-${i}:${value}`), timestamp: 1_000 })) });
      const validated = validateBatchForAppend(batch);
      if (!validated.ok) throw new Error(validated.message);
      return log.append(batch, validated.info).baseOffset;
    };
    const segmentPath = join(dataDir, "orders-0", "00000000000000000000.log");
    const allocated = (path: string) => statSync(path).blocks * 512;
    let mostAhead = 0;
    for (let i = 0; i < 10; i++) {
      appendBig(first.log, `a${i}`); // ~2.4 MB in all: past the 1 MiB where preallocation starts
      mostAhead = Math.max(mostAhead, allocated(segmentPath) - statSync(segmentPath).size);
    }
    expect(mostAhead).toBeGreaterThan(128 * 1024);
    const size = statSync(segmentPath).size;
    // kill -9 with blocks allocated past the end: the file's size is the data's, recovery sees nothing extra.
    first.store.abandon();
    const second = openLog(dataDir, { topicId: first.topicId, configs: new Map([["segment.bytes", String(4 << 20)]]) });
    expect(second.log.logEndOffset).toBe(40);
    expect(statSync(segmentPath).size).toBe(size);
    for (let i = 10; i < 20; i++) appendBig(second.log, `a${i}`); // rolls at 4 MiB
    const segments = readdirSync(join(dataDir, "orders-0")).filter((name) => name.endsWith(".log")).sort();
    expect(segments.length).toBe(2);
    // The rolled segment holds no more blocks than its data needs (up to the filesystem's block rounding).
    expect(allocated(segmentPath)).toBeLessThan(statSync(segmentPath).size + 64 * 1024);
    second.store.close();
    const active = join(dataDir, "orders-0", segments[1]!);
    expect(allocated(active)).toBeLessThan(statSync(active).size + 64 * 1024);
    const third = openLog(dataDir, { topicId: first.topicId });
    expect(readValues(third.log).length).toBe(80);
    expect(readValues(third.log).map((entry) => entry.value.slice(0, 6))).toContain("a19-3:");
    third.store.close();
  });

  test("a corrupt last batch (bad CRC) is cut as the tail", () => {
    const dataDir = temporaryDirectory();
    const first = openLog(dataDir);
    for (let i = 0; i < 3; i++) appendRecords(first.log, `r${i}`, 1);
    first.store.abandon();
    const segmentPath = join(dataDir, "orders-0", "00000000000000000000.log");
    const bytes = readFileSync(segmentPath);
    bytes[bytes.length - 2] ^= 0xff;
    writeFileSync(segmentPath, bytes);
    captureLogLines();
    const second = openLog(dataDir, { topicId: first.topicId });
    expect(second.log.logEndOffset).toBe(2);
    expect(readValues(second.log).map((entry) => entry.value)).toEqual(["r0-0", "r1-0"]);
    second.store.close();
  });

  test("a corrupt batch in the middle is reported with its position and never served", () => {
    const dataDir = temporaryDirectory();
    const first = openLog(dataDir);
    for (let i = 0; i < 3; i++) appendRecords(first.log, `r${i}`, 2);
    first.store.abandon();
    const segmentPath = join(dataDir, "orders-0", "00000000000000000000.log");
    const bytes = readFileSync(segmentPath);
    const batchLength = bytes.length / 3;
    bytes[batchLength + batchLength - 3] ^= 0x55; // inside the second batch's records
    writeFileSync(segmentPath, bytes);

    const lines = captureLogLines();
    const second = openLog(dataDir, { topicId: first.topicId });
    const report = lines.find((line) => line.includes("corrupt batch in the middle"));
    expect(report).toContain(`position=${batchLength}`);
    expect(second.log.logEndOffset).toBe(6);
    expect(readValues(second.log).map((entry) => entry.offset)).toEqual([0, 1, 4, 5]);
    // Fetching inside the corrupt batch skips to the next sound one.
    const read = second.log.read(2, 1 << 20, true);
    expect(decodeRecords(read.batches[0]!)[0]!.offset).toBe(4);
    second.store.close();
  });

  test("a batch corrupted after start-up fails its CRC on read and is left out", () => {
    const dataDir = temporaryDirectory();
    const { store, log } = openLog(dataDir);
    for (let i = 0; i < 3; i++) appendRecords(log, `r${i}`, 1);
    const segmentPath = join(dataDir, "orders-0", "00000000000000000000.log");
    const bytes = readFileSync(segmentPath);
    bytes[bytes.length / 3 + 70] ^= 0x01;
    writeFileSync(segmentPath, bytes);
    const lines = captureLogLines();
    expect(readValues(log).map((entry) => entry.offset)).toEqual([0, 2]);
    expect(lines.some((line) => line.includes("corrupt batch in a segment file"))).toBe(true);
    store.close();
  });

  test("a missing or damaged index is rebuilt on start", () => {
    const dataDir = temporaryDirectory();
    const configs = new Map([["index.interval.bytes", "100"]]);
    const first = openLog(dataDir, { configs });
    for (let i = 0; i < 30; i++) appendRecords(first.log, `r${i}`, 1);
    first.store.close();
    const indexPath = join(dataDir, "orders-0", "00000000000000000000.index");
    const indexBytes = readFileSync(indexPath);
    unlinkSync(indexPath);

    const lines = captureLogLines();
    const second = openLog(dataDir, { configs, topicId: first.topicId });
    expect(lines.some((line) => line.includes("rebuilt a missing or damaged index"))).toBe(true);
    expect(readFileSync(indexPath)).toEqual(indexBytes);
    expect(decodeRecords(second.log.read(17, 1, true).batches[0]!)[0]!.offset).toBe(17);
    second.store.close();

    // Damaged: an entry pointing past the end of the data.
    const damaged = readFileSync(indexPath);
    damaged.writeInt32BE(1 << 30, damaged.length - 4);
    writeFileSync(indexPath, damaged);
    const third = openLog(dataDir, { configs, topicId: first.topicId });
    expect(readFileSync(indexPath)).toEqual(indexBytes);
    expect(third.log.logEndOffset).toBe(30);
    third.store.close();
  });

  test("after an unclean shutdown every segment is checked and the index rebuilt", () => {
    const dataDir = temporaryDirectory();
    const configs = new Map([["segment.bytes", "500"], ["index.interval.bytes", "100"]]);
    const first = openLog(dataDir, { configs });
    for (let i = 0; i < 30; i++) appendRecords(first.log, `r${i}`, 1);
    // No close: the marker is missing. Truncate an index to garbage length to show it is not trusted.
    first.store.abandon();
    truncateSync(join(dataDir, "orders-0", "00000000000000000000.index"), 3);
    const second = openLog(dataDir, { configs, topicId: first.topicId });
    expect(second.store.recovering).toBe(true);
    expect(second.log.logEndOffset).toBe(30);
    expect(readValues(second.log).length).toBe(30);
    expect(statSync(join(dataDir, "orders-0", "00000000000000000000.index")).size % 8).toBe(0);
    second.store.close();
  });

  test("sync: acks=-1 waits for one shared fdatasync with --flush always; nothing to wait for otherwise", async () => {
    const dataDir = temporaryDirectory();
    const { store, log } = openLog(dataDir);
    const other = store.createLog("orders", 1, { topicId: randomUuid(), configs: new Map() });
    expect(log.sync()).toBeNull();
    appendRecords(log, "a");
    appendRecords(other, "b");
    const first = log.sync();
    const second = other.sync();
    expect(first).toBeInstanceOf(Promise);
    expect(second).toBeInstanceOf(Promise);
    await Promise.all([first, second]);
    expect(log.sync()).toBeNull();
    store.close();

    const never = openLog(temporaryDirectory(), { flush: { mode: "never" } });
    appendRecords(never.log, "c");
    expect(never.log.sync()).toBeNull();
    never.store.close();

    // interval: answers at once; a background round syncs (and clears the log's unsynced flag).
    const interval = openLog(temporaryDirectory(), { flush: { mode: "interval", intervalMs: 5 } });
    appendRecords(interval.log, "d");
    expect(interval.log.sync()).toBeNull();
    expect(interval.log.unsynced).toBe(true);
    // The round's fsync takes what the disk takes: wait for it rather than for a fixed time.
    await waitFor(() => !interval.log.unsynced, { timeoutMs: 10_000, intervalMs: 5 });
    interval.store.close();
  });

  test("sync: a round of a few new bytes fdatasyncs on the event loop, a large one on the thread pool", async () => {
    const { store, log } = openLog(temporaryDirectory());
    const settledWithinOneTurn = async (): Promise<boolean> => {
      let settled = false;
      void log.sync()!.then(() => (settled = true));
      // The round runs in this turn's check phase (setImmediate); a pooled fdatasync can only call back in a later
      // poll phase, so only an inline sync has settled when the next immediate runs.
      await new Promise((resolve) => setImmediate(resolve));
      return settled;
    };
    appendRecords(log, "small");
    expect(await settledWithinOneTurn()).toBe(true);
    expect(log.unsyncedBytes).toBe(0);
    // Past syncInlineBytesMax (64 KiB): the pool.
    const large = "x".repeat(1024);
    for (let i = 0; i < 80; i++) appendRecords(log, large);
    expect(log.unsyncedBytes).toBeGreaterThan(64 * 1024);
    expect(await settledWithinOneTurn()).toBe(false);
    await log.sync();
    store.close();
  });

  test("retention.bytes drops the oldest segments, never the active one, and moves the log start", () => {
    const dataDir = temporaryDirectory();
    const configs = new Map([["segment.bytes", "300"], ["retention.bytes", "600"], ["retention.ms", "-1"]]);
    const { store, log, topicId } = openLog(dataDir, { configs });
    for (let i = 0; i < 20; i++) appendRecords(log, `r${i}`, 2);
    const segmentsBefore = segmentFiles(join(dataDir, "orders-0"), ".log").length;
    expect(log.applyRetention(Date.now())).toBeGreaterThan(0);
    const kept = segmentFiles(join(dataDir, "orders-0"), ".log");
    expect(kept.length).toBeLessThan(segmentsBefore);
    // Kafka's rule: a segment goes only if what remains still holds retention.bytes.
    expect(log.sizeBytes).toBeGreaterThanOrEqual(600);
    expect(log.sizeBytes).toBeLessThan(600 + 300);
    expect(log.logStartOffset).toBe(Number(kept[0]!.slice(0, 20)));
    expect(log.logEndOffset).toBe(40);
    const start = log.logStartOffset;
    store.close();
    const reopened = openLog(dataDir, { configs, topicId });
    expect(reopened.log.logStartOffset).toBe(start);
    expect(readValues(reopened.log)[0]!.offset).toBe(start);
    reopened.store.close();
  });

  test("retention.ms drops segments whose newest record is older; cleanup.policy=compact keeps everything", () => {
    const dataDir = temporaryDirectory();
    const configs = new Map([["segment.bytes", "300"], ["retention.ms", "60000"]]);
    const { store, log } = openLog(dataDir, { configs });
    const now = 10_000_000;
    for (let i = 0; i < 10; i++) appendRecords(log, `old${i}`, 2, now - 120_000);
    const firstFresh = log.logEndOffset;
    for (let i = 0; i < 10; i++) appendRecords(log, `new${i}`, 2, now);
    configs.set("cleanup.policy", "compact");
    expect(log.applyRetention(now)).toBe(0);
    configs.set("cleanup.policy", "compact,delete");
    expect(log.applyRetention(now)).toBeGreaterThan(0);
    expect(log.logStartOffset).toBeLessThanOrEqual(firstFresh);
    expect(readValues(log).filter((entry) => entry.value.startsWith("new")).length).toBe(20);
    expect(log.read(0, 1 << 20, true).batches.length).toBe(0);
    store.close();
  });

  test("a folder that lost its partition.metadata keeps its data", () => {
    const dataDir = temporaryDirectory();
    const first = openLog(dataDir);
    appendRecords(first.log, "kept", 2);
    first.store.close();
    unlinkSync(join(dataDir, "orders-0", "partition.metadata"));
    captureLogLines();
    const second = openLog(dataDir);
    expect(readValues(second.log).map((entry) => entry.value)).toEqual(["kept-0", "kept-1"]);
    second.store.close();
  });

  test("a folder left by a deleted topic of the same name is replaced, not reused", () => {
    const dataDir = temporaryDirectory();
    const first = openLog(dataDir);
    appendRecords(first.log, "old", 3);
    first.store.close();
    const second = openLog(dataDir); // a new topic id
    expect(second.log.logEndOffset).toBe(0);
    expect(readValues(second.log)).toEqual([]);
    second.log.delete!();
    expect(existsSync(join(dataDir, "orders-0"))).toBe(false);
    second.store.close();
  });

  test("a store left open keeps running retention after its folder is gone; abandon() and close() stop it", async () => {
    // Regression: the kill -9 tests above left their first store open, and afterEach deleted the folder under it: its
    // 30 s retention timer then logged "retention failed … ENOENT" in whatever test file ran later in the same
    // process. They now abandon() it (what a kill -9 leaves, timers included), and afterEach abandons any store a
    // test forgets. Here with a 5 ms timer: first the symptom, then the cure.
    const lines = captureLogLines();
    for (const stop of ["abandon", "close"] as const) {
      const dataDir = temporaryDirectory();
      const store = new FileLogStore(dataDir, { mode: "always" }, { retentionCheckIntervalMs: 5 });
      openedStores.push(store);
      const log = store.createLog("orders", 0, { topicId: randomUuid(), configs: new Map([["retention.ms", "1"], ["segment.bytes", "1"]]) });
      appendRecords(log, "old", 1, 1);
      appendRecords(log, "old", 1, 2);
      // The 5 ms timer runs when the event loop lets it: wait for its effect.
      await waitFor(() => log.logStartOffset === 1, { timeoutMs: 10_000, intervalMs: 5 });
      if (stop === "abandon") {
        // Left open while its folder goes: the timer fails on the missing files.
        appendRecords(log, "old", 1, 3);
        rmSync(dataDir, { recursive: true, force: true });
        await waitFor(() => lines.some((line) => line.includes("retention failed") && line.includes("ENOENT")), { timeoutMs: 10_000, intervalMs: 5 });
      }
      store[stop]();
      rmSync(dataDir, { recursive: true, force: true });
      lines.length = 0;
      await Bun.sleep(30);
      expect(lines.filter((line) => line.includes("retention failed"))).toEqual([]);
    }
  });
});
