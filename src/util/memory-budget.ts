// The one budget for the bytes the gateway holds on behalf of requests, over every connection: partly received
// frames, requests whose frame is still in use, Fetch reads waiting to be written and response bytes the sockets
// have not taken. Connections stop reading while it is exhausted (back-pressure), and Fetch reads only what fits,
// so the process's memory does not follow how slow the disk or the consumers are. Kafka's queued.max.request.bytes
// covers requests only; responses there are bounded by muting each connection until its one answer is written.

/** Something that pauses its reading while the budget is exhausted. */
export interface MemoryBudgetListener {
  onMemoryBudgetChange(): void;
}

export class MemoryBudget {
  private used = 0;
  private readonly listeners = new Set<MemoryBudgetListener>();
  private wasExhausted = false;

  constructor(readonly maxBytes: number) {}

  get usedBytes(): number {
    return this.used;
  }

  get exhausted(): boolean {
    return this.used >= this.maxBytes;
  }

  /** Bytes that may still be taken before the budget is exhausted (0 when it is). */
  get availableBytes(): number {
    return Math.max(0, this.maxBytes - this.used);
  }

  /** Adds (or, negative, gives back) bytes; crossing the limit either way tells every listener. */
  change(deltaBytes: number): void {
    if (deltaBytes === 0) return;
    this.used += deltaBytes;
    const exhausted = this.exhausted;
    if (exhausted === this.wasExhausted) return;
    this.wasExhausted = exhausted;
    for (const listener of this.listeners) listener.onMemoryBudgetChange();
  }

  listen(listener: MemoryBudgetListener): void {
    this.listeners.add(listener);
  }

  forget(listener: MemoryBudgetListener): void {
    this.listeners.delete(listener);
  }
}
