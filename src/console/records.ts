// A page of one partition's records for the console: from an offset, a timestamp (ListOffsets through the handlers)
// or the end, optionally only records whose key contains a text. Keys, values and headers are decoded as the record
// view decodes them (src/registry/record-view.ts: the registry's schema for enveloped payloads, else text or base64).
// A filtered page scans at most limits.consoleRecordsScanMax records and says where to go on.

import { limits } from "../config.ts";
import type { TopicStore } from "../metadata/topic-store.ts";
import { ErrorCode, errorName } from "../protocol/error-codes.ts";
import { decodePart, headerText, visitRecords, type RecordView } from "../registry/record-view.ts";
import type { PayloadDecoders } from "../registry/record-validation.ts";
import type { InProcessClient } from "./in-process-client.ts";
import { badRequest, ConsoleError, notFound, nonNegativeInteger } from "./responses.ts";

export interface RecordsPage {
  topic: string;
  partition: number;
  startOffset: number;
  endOffset: number;
  /** The first offset looked at. */
  fromOffset: number;
  records: RecordView[];
  /** Where the next page starts; equals endOffset at the end. */
  nextOffset: number;
  /** Records looked at (more than returned when filtered by key). */
  scanned: number;
}

const LIST_OFFSETS = 2;
const DEFAULT_PAGE = 50;

function keyMatches(view: RecordView, text: string): boolean {
  const value = view.key.value;
  if (value === null) return false;
  return (typeof value === "string" ? value : JSON.stringify(value)).includes(text);
}

async function offsetForTimestamp(client: InProcessClient, topic: string, partition: number, timestampMs: number): Promise<number | null> {
  const answer = await client.call(LIST_OFFSETS, client.version(LIST_OFFSETS, 7), {
    replicaId: -1,
    isolationLevel: 0,
    topics: [{ name: topic, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp: BigInt(timestampMs) }] }],
  });
  const result = answer.topics[0]?.partitions[0];
  if (!result) throw notFound(`partition ${partition} of topic '${topic}' not found`);
  if (result.errorCode !== ErrorCode.NONE) throw new ConsoleError(result.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION ? 404 : 400, errorName(result.errorCode));
  const offset = Number(result.offset);
  return offset < 0 ? null : offset;
}

export async function readRecordsPage(topics: TopicStore, decoders: PayloadDecoders | null, client: InProcessClient, topicName: string, query: URLSearchParams): Promise<RecordsPage> {
  const topic = topics.get(topicName);
  if (!topic) throw notFound(`topic '${topicName}' does not exist`);
  const partition = nonNegativeInteger(query.get("partition") ?? "0", "partition");
  const log = topic.partitions[partition];
  if (!log) throw notFound(`topic '${topicName}' has no partition ${partition} (it has ${topic.partitions.length})`);
  const limit = nonNegativeInteger(query.get("limit") ?? String(DEFAULT_PAGE), "limit");
  if (limit < 1 || limit > limits.consoleRecordsPageMax) throw badRequest(`limit must be between 1 and ${limits.consoleRecordsPageMax} records per page, not ${limit}`);
  const startOffset = log.logStartOffset;
  const endOffset = log.highWatermark;
  const key = query.get("key") ?? "";
  const from = query.get("from") ?? "offset";
  let fromOffset: number;
  switch (from) {
    case "offset": {
      fromOffset = nonNegativeInteger(query.get("offset") ?? String(startOffset), "offset");
      if (fromOffset < startOffset || fromOffset > endOffset) {
        const holds = endOffset > startOffset ? `holds offsets ${startOffset} to ${endOffset - 1}` : `is empty`;
        throw new ConsoleError(416, `offset ${fromOffset} is out of range: partition ${partition} of '${topicName}' ${holds} (its end is ${endOffset})`);
      }
      break;
    }
    case "timestamp": {
      const timestamp = nonNegativeInteger(query.get("timestamp"), "timestamp (milliseconds since the epoch)");
      fromOffset = (await offsetForTimestamp(client, topicName, partition, timestamp)) ?? endOffset;
      break;
    }
    case "end":
      fromOffset = Math.max(startOffset, endOffset - limit);
      break;
    default:
      throw badRequest(`from must be offset, timestamp or end, not '${from}'`);
  }
  const records: RecordView[] = [];
  let scanned = 0;
  let nextOffset = fromOffset;
  if (fromOffset < endOffset) {
    try {
      visitRecords(log, fromOffset, (offset, record) => {
        if (offset >= endOffset) return false;
        scanned++;
        nextOffset = offset + 1;
        const view: RecordView = {
          partition,
          offset,
          timestamp: record.timestamp,
          key: decodePart(decoders, record.key),
          value: decodePart(decoders, record.value),
          headers: record.headers.map((header) => ({ key: header.key, value: headerText(header.value) })),
        };
        if (key === "" || keyMatches(view, key)) records.push(view);
        return records.length < limit && scanned < limits.consoleRecordsScanMax;
      });
    } catch (error) {
      throw new ConsoleError(422, `cannot read partition ${partition} of '${topicName}' at ${nextOffset}: ${(error as Error).message}`);
    }
  }
  if (records.length < limit && scanned < limits.consoleRecordsScanMax) nextOffset = Math.max(nextOffset, endOffset);
  return { topic: topicName, partition, startOffset, endOffset, fromOffset, records, nextOffset, scanned };
}
