// The structured view of a stream: records of a topic partition from an offset, decoded to JSON with the schemas
// their Confluent envelopes name (GET /topics/{topic}/records?partition=P&offset=O&limit=N on the registry's port).
// A key or value without an envelope, or naming an unknown id, is shown as UTF-8 text when it is valid UTF-8, else
// base64; one that fails to decode carries the reason.

import type { PartitionLog } from "../log/partition-log.ts";
import type { TopicStore } from "../metadata/topic-store.ts";
import { walkBatches } from "../log/replay.ts";
import { batchRecordsSection, decodeRecords, type DecodedRecord } from "../protocol/records/record-batch.ts";
import { envelopeSchemaId, type PayloadDecoders } from "./record-validation.ts";
import { errors, RegistryError } from "./store.ts";

/** Most records one request returns; clients page with offset. */
export const RECORD_VIEW_LIMIT_MAX = 1_000;

export interface DecodedPart {
  schemaId: number | null;
  /** Decoded value, text, or null. */
  value: unknown;
  /** "schema" (decoded with schemaId), "text", "base64" or "null". */
  encoding: "schema" | "text" | "base64" | "null";
  error?: string;
}

export interface RecordView {
  partition: number;
  offset: number;
  timestamp: number;
  key: DecodedPart;
  value: DecodedPart;
  headers: { key: string; value: string | null }[];
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

function asText(bytes: Uint8Array): Pick<DecodedPart, "value" | "encoding"> {
  try {
    return { value: strictUtf8.decode(bytes), encoding: "text" };
  } catch {
    return { value: Buffer.from(bytes).toString("base64"), encoding: "base64" };
  }
}

/** A key or value as the view shows it: decoded with its envelope's schema when decoders know it, else text or base64. */
export function decodePart(decoders: PayloadDecoders | null, bytes: Uint8Array | null): DecodedPart {
  if (bytes === null) return { schemaId: null, value: null, encoding: "null" };
  const id = envelopeSchemaId(bytes);
  const stored = id === null || decoders === null ? undefined : decoders.store.schemaById(id);
  if (id === null || !stored) return { schemaId: null, ...asText(bytes) };
  const decoded = decoders!.decoderFor(stored)(bytes.subarray(5));
  if (decoded.ok) return { schemaId: id, value: decoded.toJson(), encoding: "schema" };
  return { schemaId: id, ...asText(bytes), error: decoded.message };
}

/** Header values as the view shows them: UTF-8 text when valid, else base64. */
export function headerText(value: Uint8Array | null): string | null {
  return value === null ? null : (asText(value).value as string);
}

/**
 * Calls visit for each data record (control batches skipped) of a partition log from offset on, in offset order,
 * until it returns false or the log ends; each read is released after its batches (src/log/replay.ts). Throws when a
 * batch cannot be decompressed.
 */
export function visitRecords(log: PartitionLog, offset: number, visit: (offset: number, record: DecodedRecord) => boolean): void {
  walkBatches(log, offset, (batch, header) => {
    if (header.control) return true;
    const section = batchRecordsSection(batch);
    if (!section.ok) throw new Error(`cannot decompress the batch at offset ${header.baseOffset}: ${section.message}`);
    for (const record of decodeRecords(batch, section.data)) {
      const recordOffset = header.baseOffset + record.offsetDelta;
      if (recordOffset >= offset && !visit(recordOffset, record)) return false;
    }
    return true;
  });
}

export function readRecordView(topics: TopicStore, decoders: PayloadDecoders, topicName: string, partition: number, offset: number, limit: number): RecordView[] {
  const topic = topics.get(topicName);
  if (!topic) throw new RegistryError(404, 40401, `Topic '${topicName}' not found.`);
  const log = topic.partitions[partition];
  if (!log) throw new RegistryError(404, 40402, `Partition ${partition} of topic '${topicName}' not found.`);
  if (!Number.isSafeInteger(offset) || offset < 0) throw errors.invalidVersion(offset);
  const views: RecordView[] = [];
  if (limit <= 0) return views;
  try {
    visitRecords(log, offset, (recordOffset, record) => {
      views.push({
        partition,
        offset: recordOffset,
        timestamp: record.timestamp,
        key: decodePart(decoders, record.key),
        value: decodePart(decoders, record.value),
        headers: record.headers.map((item) => ({ key: item.key, value: headerText(item.value) })),
      });
      return views.length < limit;
    });
  } catch (error) {
    throw errors.storeError((error as Error).message);
  }
  return views;
}
