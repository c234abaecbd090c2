// Keeps garbage from piling up between the collector's own full collections. Buffers that live across a young
// (eden) collection, such as socket chunks holding part of a frame or read slabs leased to a Fetch, are only
// reclaimed by a full one, and under load the collector lets the heap reach several times its live size first:
// 230+ MiB of resident memory with 30 MiB live, measured with 8 producers and 3 consumers on the 2-core VM. The
// valve asks for a full collection (~1–5 ms) once the heap has grown by heapGrowthBytesMax since the last one. When
// a collection frees little (the heap grows with live data: the memory log retaining records), the next one waits
// for twice the growth, up to 16x: collecting live data only costs time and page faults.

import { fullGC, heapSize } from "bun:jsc";
import { log } from "./logger.ts";

/** The allowance doubles at most to this multiple of growthBytesMax. */
const GROWTH_BACKOFF_MAX = 16;

export class HeapValve {
  /**
   * Heap size after the last full collection we asked for. bun:jsc's heapSize is the marked size as of the last
   * collection plus the buffers' memory reported since: new buffers show at once, new plain objects at the next GC.
   */
  private liveBytes: number;
  private lastCollectedAt = Number.NEGATIVE_INFINITY;
  /** Growth allowed before the next collection: growthBytesMax, doubled after each collection that freed little. */
  private allowanceBytes: number;
  /** Forced collections, and their time in total (metrics). */
  collections = 0;
  collectionSeconds = 0;

  constructor(
    readonly growthBytesMax: number,
    /** Fewest milliseconds between two forced collections, so a live heap past the limit is not collected in a loop. */
    readonly intervalMinMs = 50,
    /** Tests give their own heap measure and collector. */
    private readonly measure: () => number = heapSize,
    private readonly collect: () => void = fullGC,
  ) {
    this.allowanceBytes = growthBytesMax;
    this.liveBytes = measure();
  }

  /** Cheap (a heap-size read): call often, from the paths that allocate. */
  check(): void {
    const before = this.measure();
    if (before - this.liveBytes < this.allowanceBytes) return;
    const now = performance.now();
    if (now - this.lastCollectedAt < this.intervalMinMs) return;
    // bun:jsc's fullGC collects without Bun.gc(true)'s extra step of giving freed pages back to the system, which
    // would fault them in again at the next allocations (~12 µs per 4 KiB here).
    this.collect();
    const finishedAt = performance.now();
    this.lastCollectedAt = finishedAt;
    this.liveBytes = this.measure();
    const freed = before - this.liveBytes;
    this.allowanceBytes = freed < this.allowanceBytes / 2 ? Math.min(this.allowanceBytes * 2, this.growthBytesMax * GROWTH_BACKOFF_MAX) : this.growthBytesMax;
    this.collections++;
    this.collectionSeconds += (finishedAt - now) / 1000;
    log.debug("full collection asked for", { ms: Number((finishedAt - now).toFixed(2)), liveBytes: this.liveBytes });
  }
}
