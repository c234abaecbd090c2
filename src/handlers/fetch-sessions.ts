// Fetch sessions (KIP-227): the broker remembers a client's partition list so incremental fetches carry only
// what changed, and answers with only the partitions that have something new.

import { randomInt } from "node:crypto";
import { limits } from "../config.ts";


/** SessionEpoch values with a meaning of their own. */
export const INITIAL_EPOCH = 0;
export const FINAL_EPOCH = -1;

export interface SessionPartition {
  topicName: string;
  topicId: Uint8Array;
  partition: number;
  fetchOffset: number;
  partitionMaxBytes: number;
  /** What the last response said, so an incremental one can leave the partition out when nothing changed. */
  sentHighWatermark: number;
  sentLogStartOffset: number;
}

export class FetchSession {
  /** The epoch the next incremental request must carry. */
  nextEpoch = 1;
  readonly partitions = new Map<string, SessionPartition>();
  constructor(readonly id: number) {}
}

export function sessionPartitionKey(topicKey: string, partition: number): string {
  return `${topicKey}\u0000${partition}`;
}

export class FetchSessionCache {
  /** In least-recently-used order (Map keeps insertion order; a touch re-inserts). */
  private readonly sessions = new Map<number, FetchSession>();

  create(): FetchSession {
    if (this.sessions.size >= limits.fetchSessionsMax) {
      const oldest = this.sessions.keys().next().value!;
      this.sessions.delete(oldest);
    }
    let id: number;
    do id = randomInt(1, 2 ** 31 - 1);
    while (this.sessions.has(id));
    const session = new FetchSession(id);
    this.sessions.set(id, session);
    return session;
  }

  get(id: number): FetchSession | undefined {
    const session = this.sessions.get(id);
    if (session) {
      this.sessions.delete(id);
      this.sessions.set(id, session);
    }
    return session;
  }

  remove(id: number): void {
    this.sessions.delete(id);
  }

  get size(): number {
    return this.sessions.size;
  }
}
