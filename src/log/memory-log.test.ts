import { describe, expect, test } from "bun:test";
import { MemoryPartitionLog, SlabPool } from "./memory-log.ts";
import { limits } from "../config.ts";
import type { AppendBatchInfo } from "./partition-log.ts";

const HEADER_BYTES = 61;

interface TestBatchOptions {
  recordCount?: number;
  /** Total batch size in bytes (header + filler standing in for records). */
  sizeBytes?: number;
  /** Timestamp of each record, as offset deltas; defaults to 1000 + delta. */
  timestamps?: number[];
  /** Baseoffset the producer put in (the log must overwrite it). */
  producerBaseOffset?: number;
  fill?: number;
}

/**
 * A syntactically valid record batch v2 header followed by filler bytes (not real records, CRC not computed):
 * the log never decodes records, it only trusts AppendBatchInfo.
 */
function makeBatch(options: TestBatchOptions = {}): { batch: Uint8Array; info: AppendBatchInfo } {
  const recordCount = options.recordCount ?? options.timestamps?.length ?? 1;
  const timestamps = options.timestamps ?? Array.from({ length: recordCount }, (_, delta) => 1000 + delta);
  const sizeBytes = options.sizeBytes ?? HEADER_BYTES + 10 * recordCount;
  const batch = new Uint8Array(sizeBytes).fill(options.fill ?? 0xab, HEADER_BYTES);
  const view = new DataView(batch.buffer);
  const maxTimestamp = Math.max(...timestamps);
  view.setBigInt64(0, BigInt(options.producerBaseOffset ?? 0));
  view.setInt32(8, sizeBytes - 12);
  view.setInt32(12, -1); // partitionLeaderEpoch
  view.setInt8(16, 2); // magic
  view.setUint32(17, 0xdeadbeef); // CRC, not checked by the log
  view.setInt16(21, 0); // attributes
  view.setInt32(23, recordCount - 1); // lastOffsetDelta
  view.setBigInt64(27, BigInt(timestamps[0]!));
  view.setBigInt64(35, BigInt(maxTimestamp));
  view.setBigInt64(43, -1n); // producerId
  view.setInt16(51, -1); // producerEpoch
  view.setInt32(53, -1); // baseSequence
  view.setInt32(57, recordCount);
  return {
    batch,
    info: {
      lastOffsetDelta: recordCount - 1,
      maxTimestamp,
      firstTimestamp: timestamps[0]!,
      maxTimestampOffsetDelta: timestamps.indexOf(maxTimestamp),
    },
  };
}

function appendBatch(log: MemoryPartitionLog, options: TestBatchOptions = {}): number {
  const { batch, info } = makeBatch(options);
  return log.append(batch, info).baseOffset;
}

function storedBaseOffset(batch: Uint8Array): number {
  return Number(new DataView(batch.buffer, batch.byteOffset, batch.byteLength).getBigInt64(0));
}

function batchBaseOffsets(batches: Uint8Array[]): number[] {
  return batches.map(storedBaseOffset);
}

/** A pool with its own clock, so tests see exactly which slabs are reused and when. */
function makeTestPool(options: { slabBytes?: number; reuseDelayMs?: number } = {}) {
  const clock = { nowMs: 0 };
  const pool = new SlabPool({
    slabBytes: options.slabBytes ?? 1024,
    reuseDelayMs: options.reuseDelayMs ?? 100,
    pooledBytesMax: 1 << 20,
    nowMs: () => clock.nowMs,
  });
  return { pool, clock };
}

describe("append", () => {
  test("assigns contiguous offsets and rewrites the stored base offset, leaving the caller's bytes alone", () => {
    const log = new MemoryPartitionLog();
    const first = makeBatch({ recordCount: 3, producerBaseOffset: 77 });
    expect(log.append(first.batch, first.info).baseOffset).toBe(0);
    expect(appendBatch(log, { recordCount: 1, producerBaseOffset: 5 })).toBe(3);
    expect(appendBatch(log, { recordCount: 4 })).toBe(4);
    expect(log.logEndOffset).toBe(8);
    expect(log.highWatermark).toBe(8);
    expect(log.logStartOffset).toBe(0);

    const { batches } = log.read(0, Number.MAX_SAFE_INTEGER, false);
    expect(batchBaseOffsets(batches)).toEqual([0, 3, 4]);
    // Only bytes 0-7 differ from what the producer sent.
    expect(batches[0]!.subarray(8)).toEqual(first.batch.subarray(8));
    expect(storedBaseOffset(first.batch)).toBe(77);
  });

  test("writes both 32-bit halves of offsets above 2^32", () => {
    const log = new MemoryPartitionLog();
    const int32Max = 0x7fff_ffff;
    // Two batches claiming the largest lastOffsetDelta carry the log end to 2^32, a third past it.
    appendWithLastOffsetDelta(log, int32Max);
    appendWithLastOffsetDelta(log, int32Max);
    appendWithLastOffsetDelta(log, 4);
    const base = 2 ** 32 + 5;
    expect(log.logEndOffset).toBe(base);
    expect(appendBatch(log, { recordCount: 2 })).toBe(base);
    const { batches } = log.read(base, 1 << 20, false);
    expect(storedBaseOffset(batches[0]!)).toBe(base);
    expect(Array.from(batches[0]!.subarray(0, 8))).toEqual([0, 0, 0, 1, 0, 0, 0, 5]);
    expect(storedBaseOffset(log.read(2 ** 31, 1 << 20, false).batches[0]!)).toBe(2 ** 31);
  });

  test("copies the batch: mutating the caller's buffer afterwards changes nothing in the log", () => {
    const log = new MemoryPartitionLog();
    const { batch, info } = makeBatch({ recordCount: 2, fill: 0x11 });
    log.append(batch, info);
    batch.fill(0x99);
    const [stored] = log.read(0, 1 << 20, false).batches;
    expect(stored![HEADER_BYTES]).toBe(0x11);
    expect(stored![16]).toBe(2);
    expect(stored!.buffer).not.toBe(batch.buffer);
  });

  test("counts retained bytes", () => {
    const log = new MemoryPartitionLog();
    appendBatch(log, { sizeBytes: 100 });
    appendBatch(log, { sizeBytes: 200 });
    expect(log.sizeBytes).toBe(300);
  });

  test("rejects bytes that are not exactly one batch v2, and appends after close", () => {
    const log = new MemoryPartitionLog();
    const { batch, info } = makeBatch();
    expect(() => log.append(batch.subarray(0, 40), info)).toThrow();
    expect(() => log.append(batch, { ...info, lastOffsetDelta: 3 })).toThrow();
    const wrongMagic = batch.slice();
    wrongMagic[16] = 1;
    expect(() => log.append(wrongMagic, info)).toThrow();
    log.close();
    expect(() => log.append(batch, info)).toThrow();
  });
});

/** A one-record batch whose header claims a large offset span (as compaction leaves behind). */
function appendWithLastOffsetDelta(log: MemoryPartitionLog, lastOffsetDelta: number): void {
  const { batch, info } = makeBatch();
  new DataView(batch.buffer).setInt32(23, lastOffsetDelta);
  log.append(batch, { ...info, lastOffsetDelta });
}

describe("read", () => {
  // Five batches of 100 bytes holding offsets [0,1] [2,3] [4,5] [6,7] [8,9].
  function fiveBatchLog(): MemoryPartitionLog {
    const log = new MemoryPartitionLog();
    for (let count = 0; count < 5; count++) appendBatch(log, { recordCount: 2, sizeBytes: 100 });
    return log;
  }

  test("fills up to maxBytes with whole batches", () => {
    const log = fiveBatchLog();
    expect(batchBaseOffsets(log.read(0, 300, false).batches)).toEqual([0, 2, 4]);
    expect(batchBaseOffsets(log.read(0, 399, false).batches)).toEqual([0, 2, 4]);
    const all = log.read(0, 10_000, false);
    expect(batchBaseOffsets(all.batches)).toEqual([0, 2, 4, 6, 8]);
    expect(all.bytes).toBe(500);
  });

  test("returns the first batch alone past maxBytes only with minOneBatch (KIP-74)", () => {
    const log = fiveBatchLog();
    expect(log.read(0, 99, false)).toEqual({ batches: [], bytes: 0 });
    const first = log.read(0, 99, true);
    expect(batchBaseOffsets(first.batches)).toEqual([0]);
    expect(first.bytes).toBe(100);
    expect(batchBaseOffsets(log.read(0, 0, true).batches)).toEqual([0]);
  });

  test("a fetch in the middle of a batch returns that batch whole", () => {
    const log = fiveBatchLog();
    expect(batchBaseOffsets(log.read(5, 200, false).batches)).toEqual([4, 6]);
    expect(batchBaseOffsets(log.read(9, 200, false).batches)).toEqual([8]);
  });

  test("fetchOffset at or past the log end, or before the log start, gives nothing", () => {
    const log = fiveBatchLog();
    expect(log.read(10, 1000, true)).toEqual({ batches: [], bytes: 0 });
    expect(log.read(11, 1000, true).batches).toEqual([]);
    expect(log.read(-1, 1000, true).batches).toEqual([]);
    expect(log.read(Number.NaN, 1000, true).batches).toEqual([]);
    expect(log.read(2 ** 62, 1000, true).batches).toEqual([]);
    expect(new MemoryPartitionLog().read(0, 1000, true).batches).toEqual([]);
  });

  test("reads after advanceLogStartOffset", () => {
    const log = fiveBatchLog();
    log.advanceLogStartOffset(3);
    expect(log.logStartOffset).toBe(3);
    expect(log.sizeBytes).toBe(400); // [0,1] dropped, [2,3] kept whole
    expect(log.read(2, 1000, false).batches).toEqual([]); // below the log start: caller's OFFSET_OUT_OF_RANGE
    expect(batchBaseOffsets(log.read(3, 1000, false).batches)).toEqual([2, 4, 6, 8]);

    log.advanceLogStartOffset(8);
    expect(log.sizeBytes).toBe(100);
    expect(batchBaseOffsets(log.read(8, 1000, false).batches)).toEqual([8]);

    log.advanceLogStartOffset(4); // never backwards
    expect(log.logStartOffset).toBe(8);
    log.advanceLogStartOffset(1_000); // clamped to the log end
    expect(log.logStartOffset).toBe(10);
    expect(log.sizeBytes).toBe(0);
    expect(log.read(10, 1000, true).batches).toEqual([]);
    expect(appendBatch(log, { recordCount: 1 })).toBe(10);
    expect(batchBaseOffsets(log.read(10, 1000, false).batches)).toEqual([10]);
  });

  test("the index keeps working while it compacts and grows over thousands of batches", () => {
    const log = new MemoryPartitionLog();
    let expectedBase = 0;
    for (let round = 0; round < 40; round++) {
      for (let count = 0; count < 100; count++) {
        expect(appendBatch(log, { recordCount: 3 })).toBe(expectedBase);
        expectedBase += 3;
      }
      log.advanceLogStartOffset(log.logEndOffset - 150 - round); // keep ~50 batches
    }
    const fetchOffset = log.logEndOffset - 7;
    const [batch] = log.read(fetchOffset, 1000, false).batches;
    expect(storedBaseOffset(batch!)).toBe(fetchOffset - ((fetchOffset - 0) % 3));
    const everything = log.read(log.logStartOffset, 1 << 20, false).batches;
    expect(storedBaseOffset(everything[0]!)).toBeLessThanOrEqual(log.logStartOffset);
    expect(storedBaseOffset(everything.at(-1)!)).toBe(log.logEndOffset - 3);
  });
});

describe("timestamps", () => {
  test("batchForTimestamp finds the first batch reaching the timestamp, with non-monotonic batch maxima", () => {
    const log = new MemoryPartitionLog();
    appendBatch(log, { timestamps: [100, 110] }); // offsets 0-1, max 110
    appendBatch(log, { timestamps: [500, 300] }); // offsets 2-3, max 500
    appendBatch(log, { timestamps: [200, 210] }); // offsets 4-5, max 210 (out of order)
    appendBatch(log, { timestamps: [600] }); // offset 6

    const baseFor = (timestamp: number) => {
      const batch = log.batchForTimestamp(timestamp);
      return batch === null ? null : storedBaseOffset(batch);
    };
    expect(baseFor(0)).toBe(0);
    expect(baseFor(110)).toBe(0);
    expect(baseFor(111)).toBe(2);
    expect(baseFor(205)).toBe(2); // batch 2 holds 500 ≥ 205 at an earlier offset than batch 4
    expect(baseFor(500)).toBe(2);
    expect(baseFor(501)).toBe(6);
    expect(baseFor(601)).toBeNull();
    expect(new MemoryPartitionLog().batchForTimestamp(0)).toBeNull();
  });

  test("maxTimestampOffset names the record with the largest timestamp, the first one on ties", () => {
    const log = new MemoryPartitionLog();
    expect(log.maxTimestampOffset()).toBeNull();
    appendBatch(log, { timestamps: [100, 900, 900] }); // offsets 0-2: max at offset 1
    appendBatch(log, { timestamps: [300] });
    appendBatch(log, { timestamps: [900, 200] }); // ties with batch 0: not chosen
    expect(log.maxTimestampOffset()).toEqual({ offset: 1, timestamp: 900 });
    appendBatch(log, { timestamps: [5, 950, 7] }); // offsets 6-8
    expect(log.maxTimestampOffset()).toEqual({ offset: 7, timestamp: 950 });
  });

  test("timestamp lookups forget dropped batches", () => {
    const log = new MemoryPartitionLog();
    appendBatch(log, { timestamps: [900] }); // offset 0, the max
    appendBatch(log, { timestamps: [100] }); // offset 1
    appendBatch(log, { timestamps: [400] }); // offset 2
    appendBatch(log, { timestamps: [300] }); // offset 3
    expect(storedBaseOffset(log.batchForTimestamp(350)!)).toBe(0);
    log.advanceLogStartOffset(1);
    expect(storedBaseOffset(log.batchForTimestamp(350)!)).toBe(2);
    expect(log.batchForTimestamp(401)).toBeNull();
    expect(log.maxTimestampOffset()).toEqual({ offset: 2, timestamp: 400 });
    log.advanceLogStartOffset(3);
    expect(log.maxTimestampOffset()).toEqual({ offset: 3, timestamp: 300 });
    log.advanceLogStartOffset(4);
    expect(log.maxTimestampOffset()).toBeNull();
    expect(log.batchForTimestamp(0)).toBeNull();
  });
});

describe("slabs", () => {
  test("the default slab is 1 MiB", () => {
    expect(new SlabPool().slabBytes).toBe(limits.logSlabBytes);
  });

  test("many small appends share slabs and cross slab boundaries intact", () => {
    const { pool } = makeTestPool({ slabBytes: 1024 });
    const log = new MemoryPartitionLog(pool);
    const batchCount = 200;
    for (let index = 0; index < batchCount; index++) {
      // 61..160 bytes, each filled with its own byte so a misplaced copy shows.
      appendBatch(log, { sizeBytes: HEADER_BYTES + (index % 100), fill: index & 0xff });
    }
    const { batches, bytes } = log.read(0, 1 << 30, false);
    expect(batches.length).toBe(batchCount);
    expect(bytes).toBe(log.sizeBytes);
    const buffers = new Set(batches.map((batch) => batch.buffer));
    expect(buffers.size).toBeGreaterThan(1);
    expect(buffers.size).toBeLessThan(batchCount / 4);
    batches.forEach((batch, index) => {
      expect(batch.length).toBe(HEADER_BYTES + (index % 100));
      expect(storedBaseOffset(batch)).toBe(index);
      expect(batch.subarray(HEADER_BYTES).every((byte) => byte === (index & 0xff))).toBe(true);
      expect(batch.byteOffset + batch.length).toBeLessThanOrEqual(1024);
    });
  });

  test("a batch larger than a slab gets its own buffer, between slab batches", () => {
    const { pool } = makeTestPool({ slabBytes: 1024 });
    const log = new MemoryPartitionLog(pool);
    appendBatch(log, { sizeBytes: 100, fill: 1 });
    appendBatch(log, { sizeBytes: 5000, recordCount: 4, fill: 2 });
    appendBatch(log, { sizeBytes: 100, fill: 3 });
    const { batches } = log.read(0, 1 << 20, false);
    expect(batchBaseOffsets(batches)).toEqual([0, 1, 5]);
    expect(batches[1]!.length).toBe(5000);
    expect(batches[1]!.buffer.byteLength).toBe(5000);
    expect(batches[1]!.subarray(HEADER_BYTES).every((byte) => byte === 2)).toBe(true);
    expect(batches[0]!.buffer).toBe(batches[2]!.buffer); // the slab stayed current
    expect(batches[2]![HEADER_BYTES]).toBe(3);
  });

  test("a batch of exactly one slab fits a fresh slab", () => {
    const { pool } = makeTestPool({ slabBytes: 1024 });
    const log = new MemoryPartitionLog(pool);
    appendBatch(log, { sizeBytes: 70 });
    appendBatch(log, { sizeBytes: 1024 });
    const { batches } = log.read(1, 1 << 20, false);
    expect(batches[0]!.byteOffset).toBe(0);
    expect(batches[0]!.buffer.byteLength).toBe(1024);
  });

  test("a slab goes back to the pool once no batch uses it, and is reused only after the delay", () => {
    const { pool, clock } = makeTestPool({ slabBytes: 1024, reuseDelayMs: 100 });
    const log = new MemoryPartitionLog(pool);
    appendBatch(log, { sizeBytes: 600 }); // slab A
    appendBatch(log, { sizeBytes: 600 }); // slab B
    const slabA = log.read(0, 1 << 20, false).batches[0]!.buffer;
    const heldView = log.read(0, 1 << 20, false).batches[0]!;
    const heldCopy = heldView.slice();

    log.advanceLogStartOffset(1);
    expect(pool.pooledSlabCount).toBe(1);
    appendBatch(log, { sizeBytes: 600, fill: 0x55 }); // slab C: A is still in its delay
    const slabC = log.read(2, 1 << 20, false).batches[0]!.buffer;
    expect(slabC).not.toBe(slabA);
    expect(heldView).toEqual(heldCopy); // a view a slow reader still holds is intact

    clock.nowMs = 100;
    appendBatch(log, { sizeBytes: 600 }); // next slab: A, now past its delay
    expect(log.read(3, 1 << 20, false).batches[0]!.buffer).toBe(slabA);
    expect(pool.pooledSlabCount).toBe(0);
  });

  test("the current slab is kept while it has room, even with all its batches dropped", () => {
    const { pool } = makeTestPool({ slabBytes: 1024 });
    const log = new MemoryPartitionLog(pool);
    appendBatch(log, { sizeBytes: 100 });
    log.advanceLogStartOffset(1);
    expect(pool.pooledSlabCount).toBe(0);
    appendBatch(log, { sizeBytes: 100 });
    const [batch] = log.read(1, 1000, false).batches;
    expect(batch!.byteOffset).toBe(100);
  });

  test("close releases every slab and leaves an empty log", () => {
    const { pool } = makeTestPool({ slabBytes: 1024 });
    const log = new MemoryPartitionLog(pool);
    for (let index = 0; index < 10; index++) appendBatch(log, { sizeBytes: 300 });
    appendBatch(log, { sizeBytes: 4000 }); // dedicated buffer: left to the GC
    log.close();
    expect(pool.pooledSlabCount).toBe(4); // 3 batches per slab: 4 slabs
    expect(log.sizeBytes).toBe(0);
    expect(log.read(0, 1 << 20, true).batches).toEqual([]);
    expect(log.maxTimestampOffset()).toBeNull();
    log.close();
    expect(pool.pooledSlabCount).toBe(4);
  });

  test("prewarmed slabs are ready at once; the pool caps what it keeps", () => {
    const clock = { nowMs: 0 };
    const pool = new SlabPool({ slabBytes: 1024, pooledBytesMax: 3 * 1024, reuseDelayMs: 100, nowMs: () => clock.nowMs });
    pool.prewarm(5);
    expect(pool.pooledSlabCount).toBe(3);
    const slab = pool.acquire();
    expect(slab.length).toBe(1024);
    expect(pool.pooledSlabCount).toBe(2);
    const kept = new Uint8Array(1024);
    pool.release(kept);
    for (let count = 0; count < 3; count++) pool.release(new Uint8Array(1024));
    expect(pool.pooledSlabCount).toBe(3);
    // The oldest slabs are kept (they leave their delay first): the two prewarmed ones, then `kept`.
    pool.acquire();
    pool.acquire();
    expect(pool.acquire()).not.toBe(kept); // still in its reuse delay
    clock.nowMs = 100;
    expect(pool.acquire()).toBe(kept);
  });
});
