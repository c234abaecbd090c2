// A clock and timers the group coordinators' tests drive by hand (GroupTimers): session timeouts, rebalance delays and
// fencing happen when a test advances time, not when the machine gets around to it.

import type { GroupTimers } from "./coordinator.ts";

export class FakeTimers implements GroupTimers {
  nowMs = 1_000_000;
  private nextId = 1;
  private readonly pending = new Map<number, { at: number; callback: () => void }>();

  now(): number {
    return this.nowMs;
  }
  set(callback: () => void, delayMs: number): unknown {
    const id = this.nextId++;
    this.pending.set(id, { at: this.nowMs + delayMs, callback });
    return id;
  }
  clear(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  /**
   * Runs every timer due within ms, in time order, before it returns; the promise settles once the callbacks' promise
   * continuations ran too (await it when the coordinator answers asynchronously).
   */
  advance(ms: number): Promise<void> {
    const end = this.nowMs + ms;
    for (;;) {
      let dueId = -1;
      let dueAt = Infinity;
      for (const [id, timer] of this.pending) {
        if (timer.at <= end && timer.at < dueAt) {
          dueId = id;
          dueAt = timer.at;
        }
      }
      if (dueId === -1) break;
      const timer = this.pending.get(dueId)!;
      this.pending.delete(dueId);
      this.nowMs = timer.at;
      timer.callback();
    }
    this.nowMs = end;
    return settle();
  }
}

/** Lets pending promise continuations run (a few microtask turns). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}
