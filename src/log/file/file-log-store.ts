// The data folder: one FilePartitionLog per `<topic>-<partition>` folder, the clean-shutdown marker, the read
// buffers all logs share, and durability. With `--flush always`, sync() promises resolve after an fdatasync of
// every log appended to; all promises asked for during one event-loop turn share one round (group commit), and
// appends arriving while a round's fdatasyncs run wait for the next round. A round of few new bytes syncs on the
// event loop (the thread pool's hop costs as much as such a sync), a larger one on the thread pool. `interval=MS`
// runs a round every MS ms and answers at once; `never` leaves it to the page cache (rolled segments and clean shutdown still sync).

import { existsSync, fdatasync, fdatasyncSync, mkdirSync, readdirSync, unlinkSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { limits, type FlushPolicy } from "../../config.ts";
import type { PartitionLogContext } from "../../metadata/topic-store.ts";
import { topicLogConfigs } from "../log-configs.ts";
import { uuidToString } from "../../metadata/uuid.ts";
import { log } from "../../util/logger.ts";
import { SlabPool } from "../memory-log.ts";
import { fsyncDirectory, recordDurability, writeFileAtomic } from "./file-io.ts";
import { FilePartitionLog } from "./file-log.ts";
import { ReadBuffers } from "./read-buffers.ts";
import { DataDirLock, LOCK_FILE } from "./data-dir-lock.ts";

/** Kafka's `.kafka_cleanshutdown`: present only while nothing is open; its absence at start means recover. */
export const CLEAN_SHUTDOWN_FILE = ".kgate_cleanshutdown";
/** Weight of the newest fdatasync in the moving average that decides whether rounds sync inline. */
const SYNC_DURATION_SMOOTHING = 0.2;

interface SyncWaiter {
  resolve: () => void;
  reject: (error: Error) => void;
}

export class FileLogStore {
  readonly readBuffers = new ReadBuffers(
    new SlabPool({ slabBytes: limits.readSlabBytes, pooledBytesMax: limits.readSlabPoolBytesMax, reuseDelayMs: limits.readSlabReuseDelayMs }),
  );
  /** True when the previous run did not shut down cleanly: every segment is scanned and checked on open. */
  readonly recovering: boolean;
  private readonly logs = new Set<FilePartitionLog>();
  private readonly dirty = new Set<FilePartitionLog>();
  private nextRoundWaiters: SyncWaiter[] = [];
  private runningRoundWaiters: SyncWaiter[] = [];
  private runningRoundLogs = new Set<FilePartitionLog>();
  private roundScheduled = false;
  private roundRunning = false;
  private readonly intervalTimer: ReturnType<typeof setInterval> | null = null;
  private readonly retentionTimer: ReturnType<typeof setInterval>;
  private closed = false;
  /** Moving average of fdatasync durations (ms): inline syncs only while it stays short (syncInlineDurationMaxMs). */
  private recentSyncMs = 0;
  /** Told how long each fdatasync of a round took, in seconds (the fsync latency metric). */
  syncObserver: ((seconds: number) => void) | null = null;
  private readonly lock: DataDirLock;
  /** Each partition's last bytes kept in the page cache; older durable pages are dropped (page-cache.ts); -1: all kept. */
  readonly pageCacheWindowBytes: number;

  constructor(
    readonly dataDir: string,
    readonly flush: FlushPolicy,
    {
      retentionCheckIntervalMs = limits.retentionCheckIntervalMs,
      pageCacheWindowBytes = limits.pageCacheWindowBytes,
    }: { retentionCheckIntervalMs?: number; pageCacheWindowBytes?: number } = {},
  ) {
    this.pageCacheWindowBytes = pageCacheWindowBytes;
    const exists = existsSync(dataDir);
    const isNew = !exists || readdirSync(dataDir).filter((name) => name !== LOCK_FILE).length === 0;
    if (!exists) {
      mkdirSync(dataDir, { recursive: true });
      recordDurability("create", dataDir);
      fsyncDirectory(dirname(resolve(dataDir)));
    }
    // Before anything is read or changed: a second process must not touch the first one's files (not even the marker).
    this.lock = DataDirLock.acquire(dataDir);
    const marker = join(dataDir, CLEAN_SHUTDOWN_FILE);
    const clean = existsSync(marker);
    this.recovering = !isNew && !clean;
    if (clean) {
      unlinkSync(marker);
      fsyncDirectory(dataDir);
    }
    this.retentionTimer = setInterval(() => this.applyRetention(Date.now()), retentionCheckIntervalMs);
    this.retentionTimer.unref();
    if (flush.mode === "interval") {
      this.intervalTimer = setInterval(() => this.scheduleRound(), flush.intervalMs);
      this.intervalTimer.unref();
    }
  }

  /** The PartitionLogFactory of a broker on this folder: opens the partition's folder, or creates it when new. */
  readonly createLog = (topic: string, partition: number, context: PartitionLogContext): FilePartitionLog => {
    const directory = join(this.dataDir, `${topic}-${partition}`);
    const configs = topicLogConfigs(context.configs);
    const topicId = uuidToString(context.topicId);
    let partitionLog: FilePartitionLog;
    const storedTopicId = existsSync(directory) ? FilePartitionLog.readTopicId(directory) : undefined;
    if (storedTopicId === topicId) {
      partitionLog = FilePartitionLog.open(this, directory, configs, this.recovering);
    } else if (storedTopicId === null) {
      // The folder lost its partition.metadata: keep the data rather than guess it belongs to another topic.
      log.warn("partition folder without a readable partition.metadata; opening it for this topic", { directory });
      FilePartitionLog.writeTopicId(directory, context.topicId);
      partitionLog = FilePartitionLog.open(this, directory, configs, this.recovering);
    } else {
      if (storedTopicId !== undefined) log.warn("replacing a partition folder left by another topic of the same name", { directory });
      partitionLog = FilePartitionLog.create(this, directory, context.topicId, configs);
    }
    this.logs.add(partitionLog);
    return partitionLog;
  };

  /** Called by a log after each append. */
  appended(partitionLog: FilePartitionLog): void {
    this.dirty.add(partitionLog);
  }

  forget(partitionLog: FilePartitionLog): void {
    this.logs.delete(partitionLog);
    this.dirty.delete(partitionLog);
  }

  /** See FilePartitionLog.sync. */
  syncFor(partitionLog: FilePartitionLog): Promise<void> | null {
    if (this.flush.mode !== "always") return null;
    if (!partitionLog.unsynced) {
      // Its appends all came before the running round's fdatasync started, if it is in one: wait for that.
      if (!this.roundRunning || !this.runningRoundLogs.has(partitionLog)) return null;
      return new Promise((resolve, reject) => this.runningRoundWaiters.push({ resolve, reject }));
    }
    this.dirty.add(partitionLog);
    const promise = new Promise<void>((resolve, reject) => this.nextRoundWaiters.push({ resolve, reject }));
    this.scheduleRound();
    return promise;
  }

  /** Runs retention on every log (see FilePartitionLog.applyRetention); a failing log is logged and skipped. */
  applyRetention(nowMs: number): void {
    for (const partitionLog of this.logs) {
      try {
        const dropped = partitionLog.applyRetention(nowMs);
        if (dropped > 0) {
          log.info("retention deleted segments", { partition: partitionLog.directory, segments: dropped, logStartOffset: partitionLog.logStartOffset });
        }
      } catch (error) {
        log.error("retention failed", { partition: partitionLog.directory, error });
      }
    }
  }

  /** Syncs, closes every log and writes the clean-shutdown marker. */
  close(): void {
    if (!this.stop("close")) return;
    // Closing fdatasynced every segment, so produces still waiting for a round are durable now: answer them.
    for (const waiter of this.nextRoundWaiters.splice(0)) waiter.resolve();
    for (const waiter of this.runningRoundWaiters.splice(0)) waiter.resolve();
    writeFileAtomic(join(this.dataDir, CLEAN_SHUTDOWN_FILE), "");
    this.lock.release();
  }

  /**
   * What a kill -9 leaves, for in-process tests: timers stopped, descriptors and the folder lock released, nothing
   * synced and no clean-shutdown marker. The store is unusable afterwards.
   */
  abandon(): void {
    if (this.stop("abandon")) this.lock.release();
  }

  /** Stops the timers and closes (or abandons) every log, once: false when the store was already stopped. */
  private stop(how: "close" | "abandon"): boolean {
    if (this.closed) return false;
    this.closed = true;
    if (this.intervalTimer !== null) clearInterval(this.intervalTimer);
    clearInterval(this.retentionTimer);
    for (const partitionLog of this.logs) partitionLog[how]();
    this.logs.clear();
    this.dirty.clear();
    return true;
  }

  private scheduleRound(): void {
    if (this.roundScheduled || this.roundRunning || this.closed) return;
    this.roundScheduled = true;
    // setImmediate runs after this turn's I/O callbacks: every produce handled in the turn joins the round.
    setImmediate(() => this.runRound());
  }

  private runRound(): void {
    this.roundScheduled = false;
    if (this.closed) return;
    const logs = [...this.dirty].filter((partitionLog) => partitionLog.activeFd >= 0);
    this.dirty.clear();
    const waiters = this.nextRoundWaiters;
    this.nextRoundWaiters = [];
    if (logs.length === 0) {
      for (const waiter of waiters) waiter.resolve();
      return;
    }
    this.roundRunning = true;
    this.runningRoundWaiters = waiters;
    this.runningRoundLogs = new Set(logs);
    let roundBytes = 0;
    for (const partitionLog of logs) {
      partitionLog.unsynced = false;
      roundBytes += partitionLog.unsyncedBytes;
      partitionLog.unsyncedBytes = 0;
    }
    let remaining = logs.length;
    let failure: Error | null = null;
    /** Page-cache drops of the synced logs, done once the round's produces are answered (not part of durability). */
    const drops: (() => void)[] = [];
    const finish = () => {
      this.roundRunning = false;
      const settled = this.runningRoundWaiters;
      this.runningRoundWaiters = [];
      this.runningRoundLogs = new Set();
      if (failure !== null) {
        log.error("fdatasync failed; acks=-1 produces get KAFKA_STORAGE_ERROR", { error: failure });
        for (const partitionLog of logs) partitionLog.unsynced = true;
        for (const waiter of settled) waiter.reject(failure);
      } else {
        for (const waiter of settled) waiter.resolve();
      }
      if (this.nextRoundWaiters.length > 0) this.scheduleRound();
      // After the answers: resolving only queued their continuations, which write the responses before the next turn.
      if (drops.length > 0) setImmediate(() => drops.forEach((drop) => drop()));
    };
    const inline = roundBytes <= limits.syncInlineBytesMax && this.recentSyncMs <= limits.syncInlineDurationMaxMs;
    for (const partitionLog of logs) {
      // What this sync covers: everything written so far (appends are synchronous writes on this thread).
      const covered = partitionLog.activeSegmentFile;
      const startedAt = performance.now();
      const synced = (error: Error | null) => {
        const elapsedMs = performance.now() - startedAt;
        this.recentSyncMs += (elapsedMs - this.recentSyncMs) * SYNC_DURATION_SMOOTHING;
        this.syncObserver?.(elapsedMs / 1000);
        if (error) failure = error;
        else {
          recordDurability("sync", covered.path, covered.sizeBytes);
          drops.push(() => partitionLog.dropDurablePages(covered.path, covered.sizeBytes));
        }
        if (--remaining === 0) finish();
      };
      if (!inline) {
        fdatasync(partitionLog.activeFd, synced);
        continue;
      }
      let error: Error | null = null;
      try {
        fdatasyncSync(partitionLog.activeFd);
      } catch (caught) {
        error = caught instanceof Error ? caught : new Error(String(caught));
      }
      synced(error);
    }
  }
}
