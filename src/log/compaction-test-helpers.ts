// Helpers the compaction tests of both logs share: keyed batches appended as Produce would, and reading back every
// record with its offset.

import { batchRecordsSection, buildRecordBatch, decodeRecords, readBatchHeader, validateBatchForAppend, type Compression } from "../protocol/records/record-batch.ts";
import type { PartitionLog } from "./partition-log.ts";
import { replayBatches } from "./replay.ts";

export interface KeyedRecord {
  key: string | null;
  value: string | null;
  timestamp?: number;
}

export interface AppendOptions {
  compression?: Compression;
  producerId?: number;
  baseSequence?: number;
  transactional?: boolean;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Appends the records as one batch (validated as Produce does); returns its base offset. */
export function appendKeyed(log: PartitionLog, records: KeyedRecord[], options: AppendOptions = {}): number {
  const batch = buildRecordBatch({
    records: records.map((record) => ({
      key: record.key === null ? null : encoder.encode(record.key),
      value: record.value === null ? null : encoder.encode(record.value),
      timestamp: record.timestamp ?? 1_000,
    })),
    compression: options.compression,
    producerId: options.producerId,
    producerEpoch: options.producerId === undefined ? undefined : 0,
    baseSequence: options.baseSequence,
    transactional: options.transactional,
  });
  const validated = validateBatchForAppend(batch);
  if (!validated.ok) throw new Error(validated.message);
  return log.append(batch, validated.info).baseOffset;
}

export interface ReadRecord {
  offset: number;
  key: string | null;
  value: string | null;
  timestamp: number;
}

/** Every record from the log start on, following reads across batches (and gaps). */
export function readAll(log: PartitionLog): ReadRecord[] {
  const out: ReadRecord[] = [];
  const start = log.logStartOffset;
  replayBatches(log, (batch, header) => {
    const section = batchRecordsSection(batch);
    if (!section.ok) throw new Error("stored batch does not decompress");
    const records = header.compression === 0 ? decodeRecords(batch) : decodeRecords(batch, section.data);
    for (const record of records) {
      const offset = header.baseOffset + record.offsetDelta;
      // Only the first batch may start below the log start.
      if (offset < start) continue;
      out.push({
        offset,
        key: record.key === null ? null : decoder.decode(record.key),
        value: record.value === null ? null : decoder.decode(record.value),
        timestamp: record.timestamp,
      });
    }
  });
  return out;
}

/** The stored batches' headers, in order. */
export function readHeaders(log: PartitionLog): ReturnType<typeof readBatchHeader>[] {
  const headers: ReturnType<typeof readBatchHeader>[] = [];
  replayBatches(log, (_batch, header) => headers.push(header));
  return headers;
}

/** "offset key=value" lines, compact to compare. */
export function summary(records: ReadRecord[]): string[] {
  return records.map((record) => `${record.offset} ${record.key}=${record.value}`);
}
