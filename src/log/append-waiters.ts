// Fetch long polls park here and are woken when a partition they read from gets new data.

import type { PartitionLog } from "./partition-log.ts";

/** Where a wait on no partition at all parks, so that wakeAll still reaches it. */
const NO_PARTITION = Symbol("no partition");

export class AppendWaiters {
  private readonly waitersByLog = new Map<PartitionLog | typeof NO_PARTITION, Set<() => void>>();

  /** Calls wake (at most once) after the next append to any of the logs; returns a function that cancels. */
  wait(logs: Iterable<PartitionLog>, wake: () => void): () => void {
    const registered: (PartitionLog | typeof NO_PARTITION)[] = [];
    let done = false;
    const once = () => {
      if (done) return;
      done = true;
      cancel();
      wake();
    };
    const cancel = () => {
      for (const log of registered) {
        const waiters = this.waitersByLog.get(log);
        if (!waiters) continue;
        waiters.delete(once);
        if (waiters.size === 0) this.waitersByLog.delete(log);
      }
      registered.length = 0;
    };
    const keys: (PartitionLog | typeof NO_PARTITION)[] = [...logs];
    if (keys.length === 0) keys.push(NO_PARTITION);
    for (const log of keys) {
      let waiters = this.waitersByLog.get(log);
      if (!waiters) this.waitersByLog.set(log, (waiters = new Set()));
      waiters.add(once);
      registered.push(log);
    }
    return () => {
      done = true;
      cancel();
    };
  }

  notify(log: PartitionLog): void {
    const waiters = this.waitersByLog.get(log);
    if (!waiters) return;
    for (const wake of [...waiters]) wake();
  }

  /** Wakes every waiter (shutdown: parked long polls answer at once). */
  wakeAll(): void {
    for (const waiters of [...this.waitersByLog.values()]) for (const wake of [...waiters]) wake();
  }
}
