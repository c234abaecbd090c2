// The producer state of every partition, built on first use by replaying the partition's batch headers (and its
// transaction markers) from the log start, then kept up to date by Produce and the transaction coordinator.
// Replay (src/log/replay.ts) reads whole only the batches that have a producer id where the log can walk headers
// alone (the file log), and decodes only headers, plus the one record of each control batch. Kafka keeps snapshots
// to bound this scan; here it is paid once per partition per process start.

import type { PartitionLog } from "../log/partition-log.ts";
import { replayBatches } from "../log/replay.ts";
import { buildRecordBatch, decodeRecords, type RecordBatchHeader } from "../protocol/records/record-batch.ts";
import { PartitionProducerState } from "./producer-state.ts";
import { limits } from "../config.ts";

const CONTROL_RECORD_VERSION = 0;
export const ControlRecordType = { abort: 0, commit: 1 } as const;

/** A control batch holding one commit or abort marker (ControlRecordTypeSchema key, EndTxnMarker value). */
export function buildTransactionMarker(producerId: number, producerEpoch: number, commit: boolean, coordinatorEpoch: number, nowMs: number): Uint8Array {
  const key = new Uint8Array(4);
  const keyView = new DataView(key.buffer);
  keyView.setInt16(0, CONTROL_RECORD_VERSION);
  keyView.setInt16(2, commit ? ControlRecordType.commit : ControlRecordType.abort);
  const value = new Uint8Array(6);
  const valueView = new DataView(value.buffer);
  valueView.setInt16(0, 0);
  valueView.setInt32(2, coordinatorEpoch);
  return buildRecordBatch({
    records: [{ key, value, timestamp: nowMs }],
    producerId,
    producerEpoch,
    transactional: true,
    control: true,
  });
}

/** The marker of a stored control batch, or null when it is not a transaction marker. */
export function readTransactionMarker(batch: Uint8Array): { commit: boolean; coordinatorEpoch: number } | null {
  const [record] = decodeRecords(batch);
  if (!record?.key || record.key.length < 4) return null;
  const keyView = new DataView(record.key.buffer, record.key.byteOffset, record.key.length);
  const type = keyView.getInt16(2);
  if (type !== ControlRecordType.abort && type !== ControlRecordType.commit) return null;
  let coordinatorEpoch = -1;
  if (record.value && record.value.length >= 6) {
    coordinatorEpoch = new DataView(record.value.buffer, record.value.byteOffset, record.value.length).getInt32(2);
  }
  return { commit: type === ControlRecordType.commit, coordinatorEpoch };
}

export class ProducerStates {
  private readonly states = new WeakMap<PartitionLog, PartitionProducerState>();

  /** The partition's state, replayed from its log the first time it is asked for. */
  of(log: PartitionLog): PartitionProducerState {
    let state = this.states.get(log);
    if (!state) {
      state = replay(log);
      this.states.set(log, state);
    }
    return state;
  }

  /** Whether the partition's state has been built (expiry sweeps only those). */
  loaded(log: PartitionLog): PartitionProducerState | undefined {
    return this.states.get(log);
  }

  /** Forgets idle producers of the given logs (Kafka's producer id expiration); returns how many went. */
  expireIdle(logs: Iterable<PartitionLog>, nowMs = Date.now(), expirationMs: number = limits.producerIdExpirationMs): number {
    let removed = 0;
    for (const log of logs) {
      const state = this.states.get(log);
      if (state) {
        removed += state.expire(nowMs, expirationMs);
        state.pruneBelow(log.logStartOffset);
      }
    }
    return removed;
  }

  /** The last stable offset: the first offset of the oldest open transaction, else the high watermark. */
  lastStableOffset(log: PartitionLog): number {
    return this.of(log).lastStableOffset(log.highWatermark);
  }
}

function replay(log: PartitionLog): PartitionProducerState {
  const state = new PartitionProducerState();
  const nowMs = Date.now();
  replayBatches(log, (batch, header) => replayBatch(state, batch, header, nowMs), (header) => header.producerId >= 0);
  return state;
}

function replayBatch(state: PartitionProducerState, batch: Uint8Array, header: RecordBatchHeader, nowMs: number): void {
  if (header.producerId < 0) return;
  if (header.control) {
    const marker = readTransactionMarker(batch);
    if (marker) state.onMarker(header.producerId, header.producerEpoch, marker.commit, header.baseOffset, marker.coordinatorEpoch, nowMs);
    return;
  }
  state.onAppend(header, header.baseOffset, nowMs);
}
