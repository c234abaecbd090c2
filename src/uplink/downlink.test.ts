// The downlink's pure parts: its configuration keys, the read_committed walk it shares with the positions read, and
// where a pull stands in a local log (recoverPullMark), including the checkpoint's mark and the cases where that
// mark must not be believed (the log lost its tail, the topic was re-created, the copy it names is another record).

import { describe, expect, test } from "bun:test";
import { ConfigError, parseConfig } from "../config.ts";
import { MemoryPartitionLog } from "../log/memory-log.ts";
import { buildRecordBatch, validateBatchForAppend, type RecordInput } from "../protocol/records/record-batch.ts";
import { recoverPullMark, type PullMark } from "./downlink.ts";
import { PROVENANCE_HEADER_KEY } from "./forward-batches.ts";
import { pullLocalTopicName } from "./link-config.ts";
import { readCommittedBatches } from "./positions.ts";

const encoder = new TextEncoder();
const parse = (uplinks: string[]) => parseConfig(["--listen", "127.0.0.1:0", "--memory", "--edge-id", "box7", ...uplinks.flatMap((uplink) => ["--uplink", uplink])], {})!.uplink!;

describe("pull configuration", () => {
  test("a pull-only link; pull.topics repeats; the local name template", () => {
    const [link] = parse(["hq bootstrap.servers=h:1 pull.topics=commands,config pull.topics=firmware pull.local.topic=from-${link}.${topic}"]).links;
    expect(link!.topics.names).toEqual([]);
    expect(link!.pull.topics).toEqual(["commands", "config", "firmware"]);
    expect(pullLocalTopicName(link!, "box7", "commands")).toBe("from-hq.commands");
    const [plain] = parse(["hq bootstrap.servers=h:1 topics=orders pull.topics=commands"]).links;
    expect(plain!.pull).toEqual({ topics: ["commands"], localTopic: "${topic}" });
    const [single] = parse(["hq bootstrap.servers=h:1 pull.topics=commands pull.local.topic=box-${edge}-commands"]).links;
    expect(pullLocalTopicName(single!, "box7", "commands")).toBe("box-box7-commands");
  });

  test("mistakes are ConfigErrors", () => {
    for (const [flag, message] of [
      ["hq bootstrap.servers=h:1", /names no topics.*pull.topics/],
      ["hq bootstrap.servers=h:1 pull.topics=__consumer_offsets", /internal/],
      ["hq bootstrap.servers=h:1 pull.topics=a pull.local.topic=x.${site}", /unknown variable \$\{site\}/],
      ["hq bootstrap.servers=h:1 pull.topics=a,b pull.local.topic=commands", /must contain \$\{topic\}/],
      ["hq bootstrap.servers=h:1 pull.topics=a pull.local.topic=x pull.local.topic=y", /given twice/],
    ] as const) {
      expect(() => parse([flag])).toThrow(ConfigError);
      expect(() => parse([flag])).toThrow(message);
    }
  });
});

describe("readCommittedBatches", () => {
  test("aborted transactions and markers are unreadable, the rest readable, from the offset asked", () => {
    const record = (value: string): RecordInput => ({ value: encoder.encode(value) });
    const marker = (commit: boolean): RecordInput => ({ key: new Uint8Array([0, 0, 0, commit ? 1 : 0]), value: new Uint8Array([0, 0, 0, 0, 0, 0]) });
    const batches = [
      buildRecordBatch({ baseOffset: 0, records: [record("a0"), record("a1")], producerId: 7, producerEpoch: 0, baseSequence: 0, transactional: true }),
      buildRecordBatch({ baseOffset: 2, records: [record("plain")] }),
      buildRecordBatch({ baseOffset: 3, records: [record("c0")], producerId: 8, producerEpoch: 0, baseSequence: 0, transactional: true }),
      buildRecordBatch({ baseOffset: 4, records: [marker(false)], producerId: 7, producerEpoch: 0, transactional: true, control: true }),
      buildRecordBatch({ baseOffset: 5, records: [marker(true)], producerId: 8, producerEpoch: 0, transactional: true, control: true }),
      // Producer 7 again, after its abort: a new transaction, not listed as aborted.
      buildRecordBatch({ baseOffset: 6, records: [record("b0")], producerId: 7, producerEpoch: 0, baseSequence: 2, transactional: true }),
    ];
    const blob = new Uint8Array(batches.reduce((sum, batch) => sum + batch.length, 0) + 20);
    let at = 0;
    for (const batch of batches) {
      blob.set(batch, at);
      at += batch.length;
    }
    // The last 20 bytes: the head of a batch cut by the answer's byte limit.
    blob.set(batches[0]!.subarray(0, 20), at);
    const aborted = [{ producerId: 7n, firstOffset: 0n }];
    const walk = readCommittedBatches(blob, aborted, 0).map(({ header, nextOffset, readable }) => [header.baseOffset, nextOffset, readable]);
    expect(walk).toEqual([
      [0, 2, false],
      [2, 3, true],
      [3, 4, true],
      [4, 5, false],
      [5, 6, false],
      [6, 7, true],
    ]);
    expect(readCommittedBatches(blob, aborted, 3).map(({ header }) => header.baseOffset)).toEqual([3, 4, 5, 6]);
    expect(readCommittedBatches(null, null, 0)).toEqual([]);
  });
});

describe("recoverPullMark", () => {
  const prefix = "central:hq/commands/0/";
  const originPrefix = encoder.encode(prefix);
  const topicId = "0123456789abcdef0123456789abcdef";

  /** A local record: a copy of remote offset `remote` when given, else a record a local producer wrote (maybe forwarded elsewhere). */
  function append(log: MemoryPartitionLog, items: ({ remote: number } | { local: string })[]): void {
    const records: RecordInput[] = items.map((item) =>
      "remote" in item
        ? { value: encoder.encode(`copy-${item.remote}`), headers: [{ key: PROVENANCE_HEADER_KEY, value: encoder.encode(`edge9/commands/0/${item.remote * 10}`) }, { key: PROVENANCE_HEADER_KEY, value: encoder.encode(`${prefix}${item.remote}`) }] }
        : { value: encoder.encode(item.local), headers: [{ key: PROVENANCE_HEADER_KEY, value: encoder.encode(`central:other/commands/0/999`) }] },
    );
    const batch = buildRecordBatch({ records });
    const result = validateBatchForAppend(batch);
    if (!result.ok) throw new Error(result.message);
    log.append(batch, result.info);
  }
  const mark = (fields: Partial<PullMark>): PullMark => ({ localTopicId: topicId, localOffset: -1, remoteOffset: -1, next: 0, verifiedEnd: 0, ...fields });

  test("an empty log starts at 0; the last copy gives the position, also behind local records", () => {
    const log = new MemoryPartitionLog();
    expect(recoverPullMark(log, topicId, originPrefix, null)).toEqual(mark({}));
    append(log, [{ remote: 0 }, { remote: 1 }, { remote: 4 }]);
    expect(recoverPullMark(log, topicId, originPrefix, null)).toEqual(mark({ localOffset: 2, remoteOffset: 4, next: 5, verifiedEnd: 3 }));
    // 500 local records after it, in batches of 10: the search goes back past them.
    for (let i = 0; i < 50; i++) append(log, Array.from({ length: 10 }, (_, n) => ({ local: `l${i * 10 + n}` })));
    expect(recoverPullMark(log, topicId, originPrefix, null)).toEqual(mark({ localOffset: 2, remoteOffset: 4, next: 5, verifiedEnd: 503 }));
  });

  test("a mark that holds keeps the skipped progress; a later copy wins over it", () => {
    const log = new MemoryPartitionLog();
    append(log, [{ remote: 0 }, { remote: 1 }, { local: "x" }]);
    // Remote 2..9 were skipped (loop guard) after the copy of 1 at local offset 1, when the log ended at 3.
    const hint = mark({ localOffset: 1, remoteOffset: 1, next: 10, verifiedEnd: 3 });
    expect(recoverPullMark(log, topicId, originPrefix, hint)).toEqual({ ...hint, verifiedEnd: 3 });
    append(log, [{ local: "y" }]);
    expect(recoverPullMark(log, topicId, originPrefix, hint)).toEqual({ ...hint, verifiedEnd: 4 });
    append(log, [{ remote: 12 }, { local: "z" }]);
    expect(recoverPullMark(log, topicId, originPrefix, hint)).toEqual(mark({ localOffset: 4, remoteOffset: 12, next: 13, verifiedEnd: 6 }));
    // Nothing copied when the mark was taken: its skips still count.
    const fresh = new MemoryPartitionLog();
    append(fresh, [{ local: "a" }]);
    expect(recoverPullMark(fresh, topicId, originPrefix, mark({ next: 40, verifiedEnd: 1 }))).toEqual(mark({ next: 40, verifiedEnd: 1 }));
  });

  test("a mark that does not hold is dropped: lost tail, another topic, another record at its offset", () => {
    const log = new MemoryPartitionLog();
    append(log, [{ remote: 0 }, { remote: 1 }]);
    const found = mark({ localOffset: 1, remoteOffset: 1, next: 2, verifiedEnd: 2 });
    // The log ends below the mark's end: a crash lost copies the mark counted (remote 2 at local 2, then skips).
    expect(recoverPullMark(log, topicId, originPrefix, mark({ localOffset: 2, remoteOffset: 2, next: 9, verifiedEnd: 3 }))).toEqual(found);
    expect(recoverPullMark(log, topicId, originPrefix, mark({ localOffset: 1, remoteOffset: 1, next: 9, verifiedEnd: 5 }))).toEqual(found);
    // The topic was deleted and created again.
    expect(recoverPullMark(log, topicId, originPrefix, mark({ localTopicId: "ff".repeat(16), localOffset: 1, remoteOffset: 1, next: 9, verifiedEnd: 2 }))).toEqual(found);
    // Its offset holds another record (the tail was lost, then local producers wrote again).
    append(log, [{ local: "refill" }, { local: "refill" }]);
    expect(recoverPullMark(log, topicId, originPrefix, mark({ localOffset: 2, remoteOffset: 2, next: 9, verifiedEnd: 3 }))).toEqual({ ...found, verifiedEnd: 4 });
  });

  test("a mark whose copy was deleted from the log's head (retention) still holds", () => {
    const log = new MemoryPartitionLog();
    append(log, [{ remote: 0 }, { remote: 1 }]);
    append(log, [{ local: "a" }, { local: "b" }]);
    log.advanceLogStartOffset(2);
    const hint = mark({ localOffset: 1, remoteOffset: 1, next: 7, verifiedEnd: 4 });
    expect(recoverPullMark(log, topicId, originPrefix, hint)).toEqual({ ...hint, verifiedEnd: 4 });
    // Without it the log alone knows nothing: the pull starts over (what the checkpoint file is for).
    expect(recoverPullMark(log, topicId, originPrefix, null)).toEqual(mark({ verifiedEnd: 4 }));
  });
});
