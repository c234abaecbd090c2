// The cleaning pass of a compacted log (Kafka's LogCleaner.doClean over LogCleanerManager's cleanable range), one for
// the memory and file logs; the rules applied to each batch are in compaction.ts. A log implements CompactableLog:
// where its batches are and how cleaned batches replace them. Its "units" are what it cleans whole: the file log's
// segments; the memory log's batches (it has no segment files, only the active segment's start).
// - The cleanable range: from the first dirty unit up to the active segment, an earlier unit holding records younger
//   than min.compaction.lag.ms, or the retention floor, whichever comes first; due by cleaningDue().
// - Pass 1 maps the dirty units into an OffsetMap, a unit at a time, until the map holds enough keys.
// - Pass 2 sends every batch below the mapped range through cleanBatch, group by group (the log's groups: the file log
//   merges segments that fit one, the memory log has one), into a cleaned output that replaces the group's batches.
// - The event loop runs between steps; a pass gives up when the log closes or drops batches from its start meanwhile.

import { limits } from "../config.ts";
import {
  OffsetMap,
  addToOffsetMap,
  cleanBatch,
  cleaningDue,
  type AbortedCheck,
  type CleanableState,
  type CleanedBatch,
  type CompactionResult,
} from "./compaction.ts";
import type { LogConfigs } from "./log-configs.ts";

/** One pass's pacing: logs count the bytes they go through and let the event loop run once a step's worth is done. */
export class CleaningSteps {
  private bytes = 0;

  /** changed(): the log closed or dropped batches since the pass began: it must give up. */
  constructor(readonly changed: () => boolean) {}

  /** Counts bytes gone through; true once limits.cleanerStepBytes are reached: await yieldToEventLoop(), then ask changed(). */
  count(bytes: number): boolean {
    this.bytes += bytes;
    if (this.bytes < limits.cleanerStepBytes) return false;
    this.bytes = 0;
    return true;
  }
}

/** What a pass does with one stored batch: `ref` locates it for the log (a batch index, a position in a segment). */
export type CleaningVisitor = (batch: Uint8Array, ref: number, unitBaseOffset: number) => void;

/** Units pass 2 rewrites into one output: those starting in [fromOffset, toOffset). */
export interface CleaningGroup {
  fromOffset: number;
  toOffset: number;
  units: number;
  bytes: number;
}

/** Where pass 2 puts a group's cleaned batches until they replace the old ones. */
export interface CleanedOutput {
  /** The batch stays as it is. `ref` is what forEachBatch passed with it. */
  keep(batch: Uint8Array, ref: number): void;
  /** The batch is replaced by a rebuilt one. */
  rewrite(batch: Uint8Array, ref: number, cleaned: Extract<CleanedBatch, { kind: "rewrite" }>): void;
  /** The batch fails its CRC or does not parse, and is left out. */
  leaveOutCorrupt(batch: Uint8Array, ref: number, unitBaseOffset: number): void;
  /** Bytes of the batches kept and rewritten so far. */
  readonly sizeBytes: number;
  /** Replaces the group's batches by the output's; false when the log changed meanwhile (nothing replaced). */
  commit(changed: () => boolean): Promise<boolean>;
  /** Gives up what was not committed (called after every group, committed or not). */
  discard(): void;
}

export interface CompactableLog {
  readonly logStartOffset: number;
  retentionFloor?: (() => number | null) | undefined;
  /** Unit indexes: the first retained one, and the first of the active segment (never cleaned). */
  cleaningBounds(): { first: number; active: number };
  /** The first unit that may hold offsets at or above firstDirtyOffset (everything before it is clean). */
  firstDirtyUnit(firstDirtyOffset: number): number;
  /** The first unit not wholly below `offset` (the retention floor). */
  firstUnitReaching(offset: number): number;
  /** The unit's base offset; for the index after the last unit, the log end offset. */
  unitBaseOffset(index: number): number;
  unitBytes(index: number): number;
  unitMaxTimestamp(index: number): number;
  /**
   * Calls visit for every stored batch of the units starting in [fromOffset, toOffset), in order, letting the event
   * loop run in between (steps). Before each unit after the first, `stopBefore` may end the walk. Returns the base
   * offset of the first unit not walked (toOffset when all were), or null when steps.changed() turned true.
   */
  forEachBatch(fromOffset: number, toOffset: number, visit: CleaningVisitor, steps: CleaningSteps, stopBefore?: () => boolean): Promise<number | null>;
  /** The units below cleanEnd, in the groups pass 2 rewrites (with the configs the pass started with). */
  cleaningGroups(cleanEnd: number, configs: LogConfigs): CleaningGroup[];
  openCleanedOutput(group: CleaningGroup, configs: LogConfigs): CleanedOutput;
  /** A pass completed: everything below firstDirtyOffset is clean (the file log persists it). */
  cleaningCompleted?(firstDirtyOffset: number, deleteHorizonMs: number): void;
}

/** A log's compaction state and its cleaning pass (PartitionLog.compactionDue and compact). */
export class LogCompaction {
  /** Everything below it has been cleaned; a unit boundary. */
  private firstDirtyOffset: number;
  /** The earliest delete horizon of a tombstone still kept, -1 when none. */
  private deleteHorizonMs: number;
  private running = false;
  private closed = false;
  /** Bumped whenever the log drops batches from its start or closes: a pass running across it gives up. */
  private generation = 0;

  constructor(
    private readonly log: CompactableLog,
    private readonly configs: () => LogConfigs,
    checkpoint: { firstDirtyOffset: number; deleteHorizonMs: number } = { firstDirtyOffset: 0, deleteHorizonMs: -1 },
  ) {
    this.firstDirtyOffset = checkpoint.firstDirtyOffset;
    this.deleteHorizonMs = checkpoint.deleteHorizonMs;
  }

  /** The log dropped batches from its start: a running pass gives up. */
  invalidate(): void {
    this.generation++;
  }

  /** The log closed: no pass runs any more, a running one gives up. */
  close(): void {
    this.closed = true;
    this.generation++;
  }

  /** Whether a pass is due (cleanup.policy=compact, and cleaningDue over the cleanable range). */
  due(nowMs: number): boolean {
    const configs = this.configs();
    if (!configs.compactPolicy || this.closed || this.running) return false;
    const range = this.cleanableRange(nowMs, configs);
    // No unit to clean (only the active segment, or the retention floor holds them all): a pass would do nothing.
    return range.endIndex > range.firstIndex && cleaningDue(range, configs, this.deleteHorizonMs, nowMs);
  }

  async run(nowMs: number, isAborted?: AbortedCheck): Promise<CompactionResult> {
    const configs = this.configs();
    const idle: CompactionResult = { cleaned: false, bytesBefore: 0, bytesAfter: 0, cleanedUpTo: this.firstDirtyOffset };
    if (!configs.compactPolicy || this.closed || this.running) return idle;
    const range = this.cleanableRange(nowMs, configs);
    if (range.endIndex <= range.firstIndex) return idle;
    this.running = true;
    try {
      return (await this.pass(nowMs, configs, range, isAborted)) ?? idle;
    } catch (error) {
      // close() pulls the file log's output from under a pass (its fdatasync may then fail): that is no failure.
      if (this.closed) return idle;
      throw error;
    } finally {
      this.running = false;
    }
  }

  /** One pass; null when abandoned. */
  private async pass(
    nowMs: number,
    configs: LogConfigs,
    range: { firstIndex: number; dirtyIndex: number; endIndex: number },
    isAborted?: AbortedCheck,
  ): Promise<CompactionResult | null> {
    const log = this.log;
    const generation = this.generation;
    const steps = new CleaningSteps(() => this.closed || this.generation !== generation);

    // Pass 1: the offset map over the dirty units, stopping at a unit boundary once it holds enough keys.
    const map = new OffsetMap(isAborted);
    map.fromOffset = Math.max(this.firstDirtyOffset, log.logStartOffset);
    const cleanEnd = await log.forEachBatch(
      log.unitBaseOffset(range.dirtyIndex),
      log.unitBaseOffset(range.endIndex),
      (batch) => addToOffsetMap(map, batch),
      steps,
      () => map.size >= limits.cleanerOffsetMapKeysMax,
    );
    if (cleanEnd === null || steps.changed()) return null;

    // Pass 2: every unit below cleanEnd, group by group, cleaned into an output that replaces the group.
    let bytesBefore = 0;
    let bytesAfter = 0;
    let horizonMs = -1;
    const options = { map, nowMs, deleteRetentionMs: configs.deleteRetentionMs };
    for (const group of log.cleaningGroups(cleanEnd, configs)) {
      const output = log.openCleanedOutput(group, configs);
      try {
        let unchanged = group.units === 1;
        bytesBefore += group.bytes;
        const reached = await log.forEachBatch(
          group.fromOffset,
          group.toOffset,
          (batch, ref, unitBaseOffset) => {
            const outcome = cleanBatch(batch, options);
            if (outcome.kind !== "keep") unchanged = false;
            if (outcome.kind === "keep") output.keep(batch, ref);
            else if (outcome.kind === "rewrite") output.rewrite(batch, ref, outcome);
            else if (outcome.kind === "corrupt") output.leaveOutCorrupt(batch, ref, unitBaseOffset);
            if ((outcome.kind === "keep" || outcome.kind === "rewrite") && outcome.deleteHorizonMs >= 0) {
              horizonMs = horizonMs < 0 ? outcome.deleteHorizonMs : Math.min(horizonMs, outcome.deleteHorizonMs);
            }
          },
          steps,
        );
        if (reached === null || steps.changed()) return null;
        // A single unit that lost nothing stays as it is.
        if (!unchanged && !(await output.commit(steps.changed))) return null;
        bytesAfter += output.sizeBytes;
      } finally {
        output.discard();
      }
    }
    this.firstDirtyOffset = cleanEnd;
    this.deleteHorizonMs = horizonMs;
    log.cleaningCompleted?.(cleanEnd, horizonMs);
    return { cleaned: true, bytesBefore, bytesAfter, cleanedUpTo: cleanEnd };
  }

  /**
   * Unit indexes: the first retained, the first dirty and the first uncleanable one (the active segment's first, or an
   * earlier one holding records younger than min.compaction.lag.ms, or the first the retention floor reaches), with
   * the bytes before and between them (Kafka's LogCleanerManager.cleanableOffsets and its dirty ratio).
   */
  private cleanableRange(nowMs: number, configs: LogConfigs): CleanableState & { firstIndex: number; dirtyIndex: number; endIndex: number } {
    const log = this.log;
    const { first, active } = log.cleaningBounds();
    const dirtyIndex = log.firstDirtyUnit(this.firstDirtyOffset);
    let endIndex = Math.max(dirtyIndex, active);
    if (configs.minCompactionLagMs > 0) {
      for (let index = dirtyIndex; index < endIndex; index++) {
        if (log.unitMaxTimestamp(index) > nowMs - configs.minCompactionLagMs) {
          endIndex = index;
          break;
        }
      }
    }
    // The retention floor: only units wholly below it are cleaned. A pass rewrites every unit before its end, so when
    // the floor lies below the dirty ones there is nothing to do.
    const floor = log.retentionFloor?.() ?? null;
    if (floor !== null) {
      const belowFloor = log.firstUnitReaching(floor);
      if (belowFloor < dirtyIndex) {
        return { firstIndex: first, dirtyIndex: first, endIndex: first, cleanBytes: 0, dirtyBytes: 0, oldestDirtyTimestamp: Number.POSITIVE_INFINITY };
      }
      endIndex = Math.min(endIndex, belowFloor);
    }
    let cleanBytes = 0;
    for (let index = first; index < dirtyIndex; index++) cleanBytes += log.unitBytes(index);
    let dirtyBytes = 0;
    let oldestDirtyTimestamp = Number.POSITIVE_INFINITY;
    for (let index = dirtyIndex; index < endIndex; index++) {
      dirtyBytes += log.unitBytes(index);
      const timestamp = log.unitMaxTimestamp(index);
      if (timestamp > 0 && timestamp < oldestDirtyTimestamp) oldestDirtyTimestamp = timestamp;
    }
    return { firstIndex: first, dirtyIndex, endIndex, cleanBytes, dirtyBytes, oldestDirtyTimestamp };
  }
}
