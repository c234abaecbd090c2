// The limits that keep the box alive under floods: who may connect (total and per address) and how much memory
// requests may hold over all connections. Connections report their bytes; above the cap every connection stops
// being read until the bytes drop (Kafka's memory pool mutes channels the same way).

import { limits as defaultLimits, type ServerLimits } from "../config.ts";
import { FramePool } from "./frame-pool.ts";
import type { GatewayMetrics } from "../metrics/metrics.ts";

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

/** Something that pauses its reading while the request memory is exhausted. */
export interface MemoryListener {
  onRequestMemoryChange(): void;
}

/** Bytes of requests (and unsent responses) held over all connections, against bufferedRequestBytesMax. */
export class RequestMemory {
  private used = 0;
  private readonly listeners = new Set<MemoryListener>();
  private wasExhausted = false;

  constructor(readonly maxBytes: number) {}

  get usedBytes(): number {
    return this.used;
  }

  get exhausted(): boolean {
    return this.used >= this.maxBytes;
  }

  /** Adds (or, negative, releases) bytes; crossing the cap either way tells every listener. */
  change(deltaBytes: number): void {
    if (deltaBytes === 0) return;
    this.used += deltaBytes;
    const exhausted = this.exhausted;
    if (exhausted === this.wasExhausted) return;
    this.wasExhausted = exhausted;
    for (const listener of this.listeners) listener.onRequestMemoryChange();
  }

  listen(listener: MemoryListener): void {
    this.listeners.add(listener);
  }

  forget(listener: MemoryListener): void {
    this.listeners.delete(listener);
  }
}

/** Why a connection stopped reading (a metric label). */
export type PauseReason = "pending_writes" | "in_flight_requests" | "request_memory" | "throttle";

/** What every connection of one server shares: its limits, the memory budget and the metrics. */
export interface ConnectionEnvironment {
  readonly limits: ServerLimits;
  readonly memory: RequestMemory;
  readonly metrics: GatewayMetrics;
  /** Buffers for large request frames, shared by the server's connections. */
  readonly framePool: FramePool;
}

export function createConnectionEnvironment(limits: ServerLimits, metrics: GatewayMetrics): ConnectionEnvironment {
  const memory = new RequestMemory(limits.bufferedRequestBytesMax);
  metrics.bufferedRequestBytes.collect(() => memory.usedBytes);
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
