// The file side of compaction (the rules are in ../compaction.ts): reading segments window by window with the event
// loop free in between, writing a cleaned segment, and the crash-safe swap, Kafka's (LogCleaner.cleanSegments,
// LocalLog.replaceSegments):
//   1. the cleaned batches of segments [B, E) go to `<B>.<E>.cleaned`, which is fdatasynced;
//   2. it is renamed `<B>.<E>.swap` and the folder fsynced: from here the swap is decided;
//   3. the old segments with base offsets in [B, E) are deleted, the folder fsynced;
//   4. the swap file is renamed `<B>.log`, its indexes written, the folder fsynced.
// Recovery (recoverCleanerFiles, before the segments are opened) deletes `.cleaned` files (a pass that did not finish)
// and completes any `.swap` from step 3 on. A kill -9 or power cut at any point leaves the old segments or the new
// one, never a mix. E, the base offset of the first segment after the group, names what the swap replaces.

import { closeSync, existsSync, fdatasync, openSync, readdirSync, renameSync, unlinkSync } from "node:fs";
import { join, resolve } from "node:path";
import { limits } from "../../config.ts";
import { yieldToEventLoop } from "../compaction.ts";
import { RECORD_BATCH_OVERHEAD } from "../../protocol/records/record-batch.ts";
import { fsyncDirectory, recordDurability, writeAll } from "./file-io.ts";
import {
  INDEX_FILE_SUFFIX,
  LOG_FILE_SUFFIX,
  TIME_INDEX_FILE_SUFFIX,
  parseSegmentFileName,
  scanBatches,
  segmentFileName,
  type ScanWindow,
} from "./segment.ts";

const CLEANED_SUFFIX = ".cleaned";
const SWAP_SUFFIX = ".swap";
/** Cleaned batches are buffered up to this many bytes before one write. */
const WRITE_BUFFER_BYTES = 1 << 20;

/** Test seam: called at each step of a swap, so a test can stop the process (or throw) exactly there. */
export type SwapStep = "cleaned-synced" | "swap-renamed" | "old-deleted" | "swap-completed";
let swapStepHook: ((step: SwapStep) => void) | null = null;
export function setSwapStepHook(hook: ((step: SwapStep) => void) | null): void {
  swapStepHook = hook;
}
/**
 * Test seam for real-process crash tests (test/crash/): KGATE_CRASH_AT_SWAP_STEP=<step> makes the process kill
 * itself with SIGKILL when a swap reaches that step.
 */
const crashAtSwapStep = process.env.KGATE_CRASH_AT_SWAP_STEP;
export function reachedSwapStep(step: SwapStep): void {
  swapStepHook?.(step);
  if (crashAtSwapStep === step) process.kill(process.pid, "SIGKILL");
}

function cleanerFileName(baseOffset: number, endOffset: number, suffix: string): string {
  return `${String(baseOffset).padStart(20, "0")}.${String(endOffset).padStart(20, "0")}${suffix}`;
}

function parseCleanerFileName(name: string): { baseOffset: number; endOffset: number; suffix: string } | null {
  const match = /^(\d{20})\.(\d{20})(\.cleaned|\.swap)$/.exec(name);
  if (!match) return null;
  return { baseOffset: Number(match[1]), endOffset: Number(match[2]), suffix: match[3]! };
}

/**
 * Before a partition's segments are opened: removes half-written cleaned segments, completes decided swaps.
 * Returns what it did, for the log.
 */
export function recoverCleanerFiles(directory: string): { discarded: string[]; completed: string[] } {
  const discarded: string[] = [];
  const completed: string[] = [];
  const names = readdirSync(directory);
  for (const name of names) {
    const parsed = parseCleanerFileName(name);
    if (parsed === null) continue;
    if (parsed.suffix === CLEANED_SUFFIX) {
      unlinkSync(join(directory, name));
      discarded.push(name);
      continue;
    }
    for (const other of names) {
      const baseOffset = parseSegmentFileName(other);
      if (baseOffset === null || baseOffset < parsed.baseOffset || baseOffset >= parsed.endOffset) continue;
      for (const suffix of [LOG_FILE_SUFFIX, INDEX_FILE_SUFFIX, TIME_INDEX_FILE_SUFFIX]) {
        try {
          unlinkSync(join(directory, segmentFileName(baseOffset, suffix)));
        } catch {}
      }
    }
    // The new segment's indexes are rebuilt when it opens.
    for (const suffix of [INDEX_FILE_SUFFIX, TIME_INDEX_FILE_SUFFIX]) {
      try {
        unlinkSync(join(directory, segmentFileName(parsed.baseOffset, suffix)));
      } catch {}
    }
    fsyncDirectory(directory);
    const target = join(directory, segmentFileName(parsed.baseOffset, LOG_FILE_SUFFIX));
    renameSync(join(directory, name), target);
    recordDurability("rename", join(directory, name), resolve(target));
    completed.push(name);
  }
  if (discarded.length > 0 || completed.length > 0) fsyncDirectory(directory);
  return { discarded, completed };
}

/**
 * Calls visit for every whole batch of [0, size) of a segment file, in order, reading limits.cleanerStepBytes at a
 * time (scanBatches, into a buffer of its own: the shared one may be used meanwhile) and yielding to the event loop
 * between reads. Positions in `skip` (batches known corrupt) are left out. Returns false when `stop()` turned true
 * after a yield (the caller abandons the pass). Throws when the bytes do not frame as batches (the file changed
 * under us): nothing may be dropped on a guess.
 */
export async function forEachStoredBatch(
  fd: number,
  size: number,
  skip: ReadonlySet<number> | null,
  visit: (batch: Uint8Array, position: number) => void,
  stop: () => boolean,
): Promise<boolean> {
  const window: ScanWindow = { bytes: new Uint8Array(Math.min(limits.cleanerStepBytes, Math.max(size, RECORD_BATCH_OVERHEAD))), start: 0, length: 0 };
  const visitWhole = (bytes: Uint8Array, at: number, position: number, length: number) => {
    if (!skip?.has(position)) visit(bytes.subarray(at, at + length), position);
  };
  let position = 0;
  while (position < size) {
    const ended = scanBatches(fd, position, size, visitWhole, {
      whole: true,
      checkMagic: false,
      windowBytes: limits.cleanerStepBytes,
      window,
      stopBeforeNextRead: true,
    });
    if (ended.problem !== null) throw new Error(`segment bytes at ${ended.position} do not frame as a batch (${ended.problem})`);
    position = ended.position;
    await yieldToEventLoop();
    if (stop()) return false;
  }
  return true;
}

/** What Segment.adoptCleaned needs to know about a cleaned segment without reading it again. */
export interface CleanedSegmentSummary {
  sizeBytes: number;
  /** Last offset + 1 of its last batch; its base offset when empty. */
  nextOffset: number;
  maxTimestamp: number;
  /** Sparse index entries: relative offset, position, max timestamp of the batches before it. */
  indexEntries: { relativeOffset: number; position: number; maxTimestampBefore: number }[];
}

/** Writes one cleaned segment `<B>.<E>.cleaned`, building its index on the way. */
export class CleanedSegmentWriter {
  readonly path: string;
  private fd: number;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private bytesSinceIndexEntry = 0;
  readonly summary: CleanedSegmentSummary;

  constructor(
    readonly directory: string,
    readonly baseOffset: number,
    readonly endOffset: number,
    private readonly indexIntervalBytes: number,
  ) {
    this.path = join(directory, cleanerFileName(baseOffset, endOffset, CLEANED_SUFFIX));
    this.fd = openSync(this.path, "w");
    recordDurability("create", this.path);
    this.summary = { sizeBytes: 0, nextOffset: baseOffset, maxTimestamp: Number.NEGATIVE_INFINITY, indexEntries: [] };
  }

  /** Appends a batch (copied: the caller's buffer is reused). */
  append(batch: Uint8Array, baseOffset: number, lastOffset: number, maxTimestamp: number): void {
    const summary = this.summary;
    if (summary.sizeBytes > 0 && this.bytesSinceIndexEntry >= this.indexIntervalBytes) {
      summary.indexEntries.push({ relativeOffset: baseOffset - this.baseOffset, position: summary.sizeBytes, maxTimestampBefore: summary.maxTimestamp });
      this.bytesSinceIndexEntry = 0;
    }
    this.pending.push(batch.slice());
    this.pendingBytes += batch.length;
    summary.sizeBytes += batch.length;
    summary.nextOffset = lastOffset + 1;
    if (maxTimestamp > summary.maxTimestamp) summary.maxTimestamp = maxTimestamp;
    this.bytesSinceIndexEntry += batch.length;
    if (this.pendingBytes >= WRITE_BUFFER_BYTES) this.flush();
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    writeAll(this.fd, this.pending);
    this.pending = [];
    this.pendingBytes = 0;
  }

  /** Writes what is buffered and fdatasyncs the file (off the event loop). */
  async finish(): Promise<void> {
    this.flush();
    const fd = this.fd;
    await new Promise<void>((resolvePromise, reject) => fdatasync(fd, (error) => (error ? reject(error) : resolvePromise())));
    recordDurability("sync", this.path, this.summary.sizeBytes);
    reachedSwapStep("cleaned-synced");
  }

  /** Closes the file (it stays, for the swap). */
  close(): void {
    if (this.fd < 0) return;
    closeSync(this.fd);
    this.fd = -1;
  }

  /** Abandons the output: closes and removes it. */
  discard(): void {
    this.close();
    try {
      if (existsSync(this.path)) unlinkSync(this.path);
    } catch {}
  }

  /** Step 2: renames the synced output to `.swap` and makes that durable; returns the swap file's path. */
  commitToSwap(): string {
    this.close();
    const swapPath = join(this.directory, cleanerFileName(this.baseOffset, this.endOffset, SWAP_SUFFIX));
    renameSync(this.path, swapPath);
    recordDurability("rename", this.path, resolve(swapPath));
    fsyncDirectory(this.directory);
    reachedSwapStep("swap-renamed");
    return swapPath;
  }
}
