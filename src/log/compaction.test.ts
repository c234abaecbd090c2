// Compaction rules, run against both logs (memory and file) through the PartitionLog interface.

import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { limits } from "../config.ts";
import { randomUuid } from "../metadata/uuid.ts";
import { Compression, DELETE_HORIZON_BIT, hasValidCrc } from "../protocol/records/record-batch.ts";
import { FileLogStore } from "./file/file-log-store.ts";
import { appendKeyed, readAll, readHeaders, summary } from "./compaction-test-helpers.ts";
import { topicLogConfigs } from "./log-configs.ts";
import { MemoryPartitionLog, SlabPool } from "./memory-log.ts";
import type { PartitionLog } from "./partition-log.ts";

const directories: string[] = [];
const stores: FileLogStore[] = [];
afterAll(() => {
  for (const store of stores) store.close();
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});

/** cleanup.policy=compact, one batch per segment (segment.bytes=1), any dirt triggers a pass. */
function compactedConfigs(extra: Record<string, string> = {}): Map<string, string> {
  return new Map(Object.entries({ "cleanup.policy": "compact", "segment.bytes": "1", "min.cleanable.dirty.ratio": "0.01", ...extra }));
}

const kinds: { name: string; make: (configs: Map<string, string>) => PartitionLog }[] = [
  { name: "memory log", make: (configs) => new MemoryPartitionLog(new SlabPool(), topicLogConfigs(configs)) },
  {
    name: "file log",
    make: (configs) => {
      const directory = mkdtempSync(join(tmpdir(), "kgate-compaction-"));
      directories.push(directory);
      const store = new FileLogStore(directory, { mode: "never" });
      stores.push(store);
      return store.createLog("compacted", 0, { topicId: randomUuid(), configs });
    },
  },
];

/** Sets limits.cleanerStepBytes for one test (small steps: many yields). */
async function withStepBytes<T>(bytes: number, run: () => Promise<T>): Promise<T> {
  const mutable = limits as { cleanerStepBytes: number };
  const before = mutable.cleanerStepBytes;
  mutable.cleanerStepBytes = bytes;
  try {
    return await run();
  } finally {
    mutable.cleanerStepBytes = before;
  }
}

const NOW = 1_000_000;

for (const kind of kinds) {
  describe(`compaction: ${kind.name}`, () => {
    test("keeps the latest record of each key at its original offset; never touches the active segment", async () => {
      const log = kind.make(compactedConfigs());
      appendKeyed(log, [{ key: "a", value: "1" }]);
      appendKeyed(log, [{ key: "b", value: "1" }]);
      appendKeyed(log, [{ key: "a", value: "2" }]);
      appendKeyed(log, [
        { key: "c", value: "1" },
        { key: "a", value: "3" },
        { key: "b", value: "2" },
      ]);
      appendKeyed(log, [{ key: "a", value: "4" }]); // the active segment
      expect(log.compactionDue!(NOW)).toBe(true);
      const result = await log.compact!(NOW);
      expect(result.cleaned).toBe(true);
      expect(result.cleanedUpTo).toBe(6);
      // a=3 stays: its newer value is in the active segment, which the cleaner does not read.
      expect(summary(readAll(log))).toEqual(["3 c=1", "4 a=3", "5 b=2", "6 a=4"]);
      expect([log.logStartOffset, log.logEndOffset]).toEqual([0, 7]);

      appendKeyed(log, [{ key: "x", value: "1" }]); // rolls: a=4 is now cleanable
      expect(log.compactionDue!(NOW)).toBe(true);
      expect((await log.compact!(NOW)).cleaned).toBe(true);
      expect(summary(readAll(log))).toEqual(["3 c=1", "5 b=2", "6 a=4", "7 x=1"]);
      // The rebuilt batch keeps its base offset and last offset delta (the log end and producer state rely on it).
      const rebuilt = readHeaders(log)[0]!;
      expect(rebuilt).toMatchObject({ baseOffset: 3, lastOffsetDelta: 2, recordCount: 2 });
      const first = log.read(3, 1 << 20, true);
      expect(hasValidCrc(first.batches[0]!)).toBe(true);
      first.release?.();
      // Reading from an offset compaction removed starts at the next surviving record.
      expect(readAll(log).find((record) => record.offset >= 4)!.offset).toBe(5);
      expect(log.compactionDue!(NOW)).toBe(false);
    });

    test("tombstones stay delete.retention.ms after the pass that first saw them, then go", async () => {
      const log = kind.make(compactedConfigs({ "delete.retention.ms": "1000" }));
      appendKeyed(log, [{ key: "a", value: "1", timestamp: 500 }]);
      appendKeyed(log, [{ key: "a", value: null, timestamp: 600 }]);
      appendKeyed(log, [{ key: "z", value: "1" }]);
      expect((await log.compact!(NOW)).cleaned).toBe(true);
      const records = readAll(log);
      expect(summary(records)).toEqual(["1 a=null", "2 z=1"]);
      // Stamped with the horizon (KIP-534), record timestamps unchanged.
      expect(records[0]!.timestamp).toBe(600);
      const header = readHeaders(log)[0]!;
      expect(header.attributes & DELETE_HORIZON_BIT).toBe(DELETE_HORIZON_BIT);
      expect(header.baseTimestamp).toBe(NOW + 1000);

      expect(log.compactionDue!(NOW + 999)).toBe(false);
      expect(log.compactionDue!(NOW + 1000)).toBe(true);
      expect((await log.compact!(NOW + 1000)).cleaned).toBe(true);
      expect(summary(readAll(log))).toEqual(["2 z=1"]);
      expect(log.logEndOffset).toBe(3);
      expect(log.compactionDue!(NOW + 5000)).toBe(false);
    });

    test("min.compaction.lag.ms keeps recent segments out of the pass", async () => {
      const log = kind.make(compactedConfigs({ "min.compaction.lag.ms": "10000" }));
      appendKeyed(log, [{ key: "a", value: "1", timestamp: NOW - 50_000 }]);
      appendKeyed(log, [{ key: "a", value: "2", timestamp: NOW - 40_000 }]);
      appendKeyed(log, [{ key: "a", value: "3", timestamp: NOW - 5_000 }]);
      appendKeyed(log, [{ key: "z", value: "1", timestamp: NOW - 1_000 }]);
      expect((await log.compact!(NOW)).cleaned).toBe(true);
      expect(summary(readAll(log))).toEqual(["1 a=2", "2 a=3", "3 z=1"]);
      // Later, once the lag has passed, a=2 goes too.
      appendKeyed(log, [{ key: "y", value: "1", timestamp: NOW }]);
      expect((await log.compact!(NOW + 60_000)).cleaned).toBe(true);
      expect(summary(readAll(log))).toEqual(["2 a=3", "3 z=1", "4 y=1"]);
    });

    test("a compressed batch is rebuilt in its codec; records without a key are dropped", async () => {
      const log = kind.make(compactedConfigs());
      appendKeyed(
        log,
        [
          { key: "k1", value: "1" },
          { key: null, value: "keyless" },
          { key: "k2", value: "1" },
        ],
        { compression: Compression.gzip },
      );
      appendKeyed(log, [{ key: "k1", value: "2" }]);
      appendKeyed(log, [{ key: "z", value: "1" }]);
      await log.compact!(NOW);
      expect(summary(readAll(log))).toEqual(["2 k2=1", "3 k1=2", "4 z=1"]);
      expect(readHeaders(log)[0]).toMatchObject({ baseOffset: 0, lastOffsetDelta: 2, recordCount: 1, compression: Compression.gzip });
    });

    test("an emptied batch stays as a header only while it is its producer's last", async () => {
      const log = kind.make(compactedConfigs());
      appendKeyed(log, [{ key: "p", value: "1" }], { producerId: 7, baseSequence: 0 });
      appendKeyed(log, [{ key: "p", value: "2" }]);
      appendKeyed(log, [{ key: "z", value: "1" }]);
      await log.compact!(NOW);
      expect(readHeaders(log)[0]).toMatchObject({ baseOffset: 0, lastOffsetDelta: 0, recordCount: 0, producerId: 7, baseSequence: 0 });
      expect(summary(readAll(log))).toEqual(["1 p=2", "2 z=1"]);

      appendKeyed(log, [{ key: "q", value: "1" }], { producerId: 7, baseSequence: 1 });
      appendKeyed(log, [{ key: "y", value: "1" }]);
      await log.compact!(NOW);
      expect(readHeaders(log).map((header) => header.baseOffset)).toEqual([1, 2, 3, 4]);
    });

    test("records of an aborted transaction are never a key's latest value and are removed", async () => {
      const log = kind.make(compactedConfigs());
      appendKeyed(log, [{ key: "k", value: "committed" }]);
      appendKeyed(log, [{ key: "k", value: "aborted" }, { key: "j", value: "aborted" }], { producerId: 9, baseSequence: 0, transactional: true });
      appendKeyed(log, [{ key: "z", value: "1" }]);
      appendKeyed(log, [{ key: "y", value: "1" }]);
      await log.compact!(NOW, (producerId, offset) => producerId === 9 && offset === 1);
      expect(summary(readAll(log))).toEqual(["0 k=committed", "3 z=1", "4 y=1"]);
      // The emptied aborted batch stays as a header: it is producer 9's last (its sequence state lives there).
      expect(readHeaders(log)[1]).toMatchObject({ baseOffset: 1, recordCount: 0, producerId: 9 });
    });

    test("min.cleanable.dirty.ratio decides when a pass is due; other policies never are", async () => {
      const log = kind.make(compactedConfigs({ "min.cleanable.dirty.ratio": "0.6" }));
      for (let round = 0; round < 4; round++) appendKeyed(log, [{ key: `k${round}`, value: "x".repeat(100) }]);
      appendKeyed(log, [{ key: "z", value: "1" }]);
      expect(log.compactionDue!(NOW)).toBe(true);
      await log.compact!(NOW);
      // 4 clean segments, then 1 dirty of the same size: 20% dirty.
      appendKeyed(log, [{ key: "k0", value: "y".repeat(100) }]);
      appendKeyed(log, [{ key: "w", value: "1" }]);
      expect(log.compactionDue!(NOW)).toBe(false);
      const plain = kind.make(new Map([["segment.bytes", "1"]]));
      appendKeyed(plain, [{ key: "a", value: "1" }]);
      appendKeyed(plain, [{ key: "a", value: "2" }]);
      expect(plain.compactionDue!(NOW)).toBe(false);
      expect((await plain.compact!(NOW)).cleaned).toBe(false);
    });

    test("max.compaction.lag.ms makes a pass due whatever the dirty ratio", async () => {
      const log = kind.make(compactedConfigs({ "min.cleanable.dirty.ratio": "0.9", "max.compaction.lag.ms": "10000" }));
      for (let round = 0; round < 4; round++) appendKeyed(log, [{ key: `k${round}`, value: "x".repeat(100), timestamp: NOW }]);
      appendKeyed(log, [{ key: "z", value: "1", timestamp: NOW }]);
      await log.compact!(NOW);
      appendKeyed(log, [{ key: "k0", value: "y", timestamp: NOW - 5_000 }]);
      appendKeyed(log, [{ key: "w", value: "1", timestamp: NOW }]);
      expect(log.compactionDue!(NOW)).toBe(false);
      expect(log.compactionDue!(NOW + 5_001)).toBe(true);
      expect((await log.compact!(NOW + 5_001)).cleaned).toBe(true);
      expect(summary(readAll(log)).filter((line) => line.includes(" k0="))).toEqual(["5 k0=y"]);
    });

    test("reads and appends between the pass's steps see valid data, old or cleaned", async () => {
      const log = kind.make(compactedConfigs());
      const written = new Map<number, string>();
      let value = 0;
      const write = (key: string) => {
        const record = { key, value: `v${value++}` };
        const offset = appendKeyed(log, [record]);
        written.set(offset, `${record.key}=${record.value}`);
      };
      for (let index = 0; index < 200; index++) write(`k${index % 10}`);
      await withStepBytes(300, async () => {
        const pass = log.compact!(NOW);
        let settled = false;
        void pass.then(() => (settled = true));
        let reads = 0;
        while (!settled) {
          const records = readAll(log);
          let previous = -1;
          for (const record of records) {
            expect(record.offset).toBeGreaterThan(previous);
            expect(written.get(record.offset)).toBe(`${record.key}=${record.value}`);
            previous = record.offset;
          }
          // Every key's latest value is always there.
          for (let key = 0; key < 10; key++) expect(records.some((record) => record.key === `k${key}`)).toBe(true);
          write(`k${reads % 10}`);
          reads++;
          await new Promise((resolve) => setImmediate(resolve));
        }
        expect(reads).toBeGreaterThan(3);
        expect((await pass).cleaned).toBe(true);
      });
      const records = readAll(log);
      for (const record of records) expect(written.get(record.offset)).toBe(`${record.key}=${record.value}`);
      expect(records.length).toBeLessThan(written.size);
    }, 60_000);

    test("a pass gives up when the log start moves under it, leaving the data as it was", async () => {
      const log = kind.make(compactedConfigs());
      for (let index = 0; index < 60; index++) appendKeyed(log, [{ key: `k${index % 3}`, value: `v${index}` }]);
      const before = summary(readAll(log));
      await withStepBytes(200, async () => {
        const pass = log.compact!(NOW);
        await new Promise((resolve) => setImmediate(resolve));
        log.advanceLogStartOffset(10);
        expect((await pass).cleaned).toBe(false);
      });
      expect(summary(readAll(log))).toEqual(before.slice(10));
      expect((await log.compact!(NOW)).cleaned).toBe(true);
      // k2=v56 stays: its newer value is in the active segment.
      expect(summary(readAll(log))).toEqual(["56 k2=v56", "57 k0=v57", "58 k1=v58", "59 k2=v59"]);
    });
  });
}

test("a compacted topic's active segment rolls by max.compaction.lag.ms when that is sooner than segment.ms", () => {
  expect(topicLogConfigs(new Map([["cleanup.policy", "compact"], ["max.compaction.lag.ms", "5000"]]))().segmentMs).toBe(5000);
  expect(topicLogConfigs(new Map([["max.compaction.lag.ms", "5000"]]))().segmentMs).toBe(604_800_000);
});
