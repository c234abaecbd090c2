// Kafka's LogCleaner thread, on the event loop: every interval it looks at the partitions of compacted topics and
// runs a cleaning pass (src/log/compaction.ts) on each that is due, one at a time. A pass works in small steps, so
// produce and fetch go on between them; a failing pass is logged and retried at a later round.

import type { AbortedCheck } from "./compaction.ts";
import type { PartitionLog } from "./partition-log.ts";
import { log } from "../util/logger.ts";

export interface CleanableLog {
  topic: string;
  partition: number;
  log: PartitionLog;
  /** Which transactional batches were aborted (the partition's producer state); absent: none. */
  isAborted?: AbortedCheck;
}

export class LogCleaner {
  private readonly timer: ReturnType<typeof setInterval>;
  private round: Promise<number> | null = null;
  private stopped = false;

  constructor(
    private readonly logs: () => Iterable<CleanableLog>,
    intervalMs: number,
    private readonly nowMs: () => number = Date.now,
  ) {
    this.timer = setInterval(() => void this.runOnce(), intervalMs);
    this.timer.unref();
  }

  /**
   * One round over every due log; resolves with the number of passes that cleaned. A call while a round runs
   * shares that round.
   */
  runOnce(): Promise<number> {
    this.round ??= this.runRound().finally(() => {
      this.round = null;
    });
    return this.round;
  }

  /** Stops the timer; a running pass notices its log closing and gives up. */
  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  private async runRound(): Promise<number> {
    let cleaned = 0;
    for (const { topic, partition, log: partitionLog, isAborted } of [...this.logs()]) {
      if (this.stopped) break;
      const now = this.nowMs();
      if (!partitionLog.compact || !partitionLog.compactionDue?.(now)) continue;
      const startedAtMs = performance.now();
      try {
        const result = await partitionLog.compact(now, isAborted);
        if (!result.cleaned) continue;
        cleaned++;
        log.info("compacted a partition", {
          partition: `${topic}-${partition}`,
          bytesBefore: result.bytesBefore,
          bytesAfter: result.bytesAfter,
          cleanedUpTo: result.cleanedUpTo,
          ms: Math.round(performance.now() - startedAtMs),
        });
      } catch (error) {
        log.error("compaction failed", { partition: `${topic}-${partition}`, error });
      }
    }
    return cleaned;
  }
}
