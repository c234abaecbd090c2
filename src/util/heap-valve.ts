// Keeps garbage from piling up between the collector's own full collections. Buffers that live across a young
// (eden) collection, such as socket chunks holding part of a frame or read slabs leased to a Fetch, are only
// reclaimed by a full one, and under load the collector lets the heap reach several times its live size first:
// 230+ MiB of resident memory with 30 MiB live, measured with 8 producers and 3 consumers on the 2-core VM. The
// valve asks for a full collection (~1–5 ms) once the heap has grown by heapGrowthBytesMax since the last one.

import { heapSize } from "bun:jsc";
import { log } from "./logger.ts";

export class HeapValve {
  /** Heap size (JS objects and the buffers they own, bun:jsc heapSize) after the last full collection we asked for. */
  private liveBytes = heapSize();
  private lastCollectedAt = Number.NEGATIVE_INFINITY;
  /** Forced collections, and their time in total (metrics). */
  collections = 0;
  collectionSeconds = 0;

  constructor(
    readonly growthBytesMax: number,
    /** Fewest milliseconds between two forced collections, so a live heap past the limit is not collected in a loop. */
    readonly intervalMinMs = 50,
  ) {}

  /** Cheap (a heap-size read): call often, from the paths that allocate. */
  check(): void {
    if (heapSize() - this.liveBytes < this.growthBytesMax) return;
    const now = performance.now();
    if (now - this.lastCollectedAt < this.intervalMinMs) return;
    Bun.gc(true);
    const finishedAt = performance.now();
    this.lastCollectedAt = finishedAt;
    this.liveBytes = heapSize();
    this.collections++;
    this.collectionSeconds += (finishedAt - now) / 1000;
    log.debug("full collection asked for", { ms: Number((finishedAt - now).toFixed(2)), liveBytes: this.liveBytes });
  }
}
