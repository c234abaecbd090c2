// The limits that keep the box alive under floods: who may connect (total and per address), and the memory budget
// (src/util/memory-budget.ts) every connection reports its bytes to; while it is exhausted no connection is read
// (Kafka's memory pool mutes channels the same way), and a connection whose unsent answers stopped moving is closed
// when the budget needs its bytes.

import { limits as defaultLimits, type ServerLimits } from "../config.ts";
import { FramePool } from "./frame-pool.ts";
import type { GatewayMetrics } from "../metrics/metrics.ts";
import type { MemoryBudget } from "../util/memory-budget.ts";

/** Counts connections per address and refuses those over the limits. */
export class ConnectionAdmission {
  private total = 0;
  private readonly byAddress = new Map<string, number>();

  constructor(private readonly limits: Pick<ServerLimits, "connectionsMax" | "connectionsPerIpMax">) {}

  get count(): number {
    return this.total;
  }

  /** Takes a slot for the address, or names the limit that refuses it. */
  admit(address: string): "connectionsMax" | "connectionsPerIpMax" | null {
    if (this.total >= this.limits.connectionsMax) return "connectionsMax";
    const fromAddress = this.byAddress.get(address) ?? 0;
    if (fromAddress >= this.limits.connectionsPerIpMax) return "connectionsPerIpMax";
    this.byAddress.set(address, fromAddress + 1);
    this.total++;
    return null;
  }

  release(address: string): void {
    const fromAddress = (this.byAddress.get(address) ?? 1) - 1;
    if (fromAddress > 0) this.byAddress.set(address, fromAddress);
    else this.byAddress.delete(address);
    this.total = Math.max(0, this.total - 1);
  }

  /** Connections from the busiest address (a metric). */
  get busiestAddressCount(): number {
    let most = 0;
    for (const count of this.byAddress.values()) most = Math.max(most, count);
    return most;
  }
}

/** Why a connection stopped reading (a metric label). */
export type PauseReason = "pending_writes" | "in_flight_requests" | "memory_budget" | "throttle";

/** What every connection of one server shares: its limits, the memory budget and the metrics. */
export interface ConnectionEnvironment {
  readonly limits: ServerLimits;
  readonly memory: MemoryBudget;
  readonly metrics: GatewayMetrics;
  /** Buffers for large request frames, shared by the server's connections. */
  readonly framePool: FramePool;
}

export function createConnectionEnvironment(limits: ServerLimits, metrics: GatewayMetrics, memory: MemoryBudget): ConnectionEnvironment {
  metrics.bufferMemoryBytes.collect(() => memory.usedBytes);
  for (const [name, value] of Object.entries(limits)) metrics.limits.set(value, { limit: name });
  const framePool = new FramePool(defaultLimits.framePoolBytesMax, defaultLimits.framePreallocateBytesMax);
  metrics.pooledFrameBytes.collect(() => framePool.pooledBytes);
  return { limits, memory, metrics, framePool };
}

/** How often idle connections are looked for: a quarter of the limit (so one closes at most 25% late), at most 1 s. */
export function idleSweepIntervalMs(connectionIdleMs: number): number {
  return Math.max(10, Math.min(1_000, Math.floor(connectionIdleMs / 4)));
}

/** Closes the idle connections and returns them. */
export function closeIdleConnections<C extends { isIdle(now: number, idleMs: number): boolean; close(): void }>(
  connections: Iterable<C>,
  idleMs: number,
  now: number,
): C[] {
  const idle: C[] = [];
  for (const connection of connections) if (connection.isIdle(now, idleMs)) idle.push(connection);
  for (const connection of idle) connection.close();
  return idle;
}

/**
 * While the memory budget is exhausted, closes the connections whose unsent answers have not moved for stallMs,
 * largest holders first, until it is not; returns them.
 */
export function closeStalledWriters<C extends { isStalledWriter(now: number, stallMs: number): boolean; readonly pendingWriteBytes: number; close(): void }>(
  connections: Iterable<C>,
  memory: MemoryBudget,
  stallMs: number,
  now: number,
): C[] {
  if (!memory.exhausted) return [];
  const stalled = [...connections].filter((connection) => connection.isStalledWriter(now, stallMs));
  stalled.sort((a, b) => b.pendingWriteBytes - a.pendingWriteBytes);
  const closed: C[] = [];
  for (const connection of stalled) {
    if (!memory.exhausted) break;
    connection.close();
    closed.push(connection);
  }
  return closed;
}
