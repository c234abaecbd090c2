// Fuzzing the request path: random and mutated frames for every API key and version go through the decoders and
// through the dispatcher with a live broker. Decoders may only fail with ProtocolDecodeError; handlers may not fail
// at all, synchronously or by rejecting (a client's nonsense becomes an error code); every answer must decode again
// with the request's version; nothing hangs. Failures print the seed, iteration and frame (hex) to replay; the share
// of frames that reach a handler, per API, is printed. KGATE_FUZZ_ITERATIONS runs longer (e.g. 200000).

import { describe, expect, test } from "bun:test";
import { Broker } from "../broker.ts";
import { parseConfig } from "../config.ts";
import { ByteReader, ProtocolDecodeError } from "../protocol/byte-reader.ts";
import { ByteWriter } from "../protocol/byte-writer.ts";
import { encodeRequestHeader } from "../protocol/messages/headers.ts";
import { apiDescriptors, type ApiDescriptor } from "../protocol/messages/index.ts";
import { buildRecordBatch } from "../protocol/records/record-batch.ts";
import { setLogSink, setLogLevel } from "../util/logger.ts";
import { RequestDispatcher } from "./dispatcher.ts";

const ITERATIONS = Number(process.env.KGATE_FUZZ_ITERATIONS ?? 20_000);

/** A small deterministic generator, so a failure can be replayed from its seed. */
function prng(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

function requestBytes(descriptor: ApiDescriptor, version: number, body: object): Uint8Array {
  const writer = new ByteWriter();
  encodeRequestHeader(writer, descriptor.requestHeaderVersion(version), { requestApiKey: descriptor.apiKey, requestApiVersion: version, correlationId: 7, clientId: "fuzz" });
  descriptor.encodeRequest(writer, version, body as never);
  return writer.toUint8Array();
}

const batch = buildRecordBatch({ records: [{ key: new Uint8Array([1]), value: new Uint8Array([2, 3]), headers: [{ key: "h", value: new Uint8Array([4]) }], timestamp: 5 }] });
/** Bodies with some content for the APIs whose handlers do the most work; every other API starts from defaults. */
const richBodies: Record<number, object> = {
  0: { acks: -1, timeoutMs: 10, topicData: [{ name: "fuzz", partitionData: [{ index: 0, records: batch }] }] },
  1: { maxWaitMs: 0, minBytes: 0, maxBytes: 1000, sessionEpoch: 0, topics: [{ topic: "fuzz", partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1000 }] }] },
  2: { replicaId: -1, topics: [{ name: "fuzz", partitions: [{ partitionIndex: 0, timestamp: -1n, maxNumOffsets: 1 }] }] },
  3: { topics: [{ name: "fuzz" }], allowAutoTopicCreation: true },
  19: { topics: [{ name: "fuzz-created", numPartitions: 1, replicationFactor: 1, configs: [{ name: "retention.ms", value: "1" }] }], timeoutMs: 10 },
  20: { topicNames: ["fuzz-created"], topics: [{ name: "fuzz-created" }], timeoutMs: 10 },
  29: { resourceTypeFilter: 1, resourceNameFilter: null, patternTypeFilter: 1, principalFilter: null, hostFilter: null, operation: 1, permissionType: 1 },
  30: { creations: [{ resourceType: 2, resourceName: "fuzz", resourcePatternType: 4, principal: "User:ANONYMOUS", host: "*", operation: 4, permissionType: 2 }] },
  31: { filters: [{ resourceTypeFilter: 2, resourceNameFilter: "fuzz", patternTypeFilter: 2, principalFilter: null, hostFilter: null, operation: 1, permissionType: 1 }] },
};

const seeds: { descriptor: ApiDescriptor; version: number; bytes: Uint8Array }[] = [];
for (const descriptor of apiDescriptors) {
  for (let version = descriptor.minVersion; version <= descriptor.maxVersion; version++) {
    seeds.push({ descriptor, version, bytes: requestBytes(descriptor, version, {}) });
    const rich = richBodies[descriptor.apiKey];
    if (rich) seeds.push({ descriptor, version, bytes: requestBytes(descriptor, version, rich) });
  }
}

function mutate(bytes: Uint8Array, random: () => number): Uint8Array {
  const out = bytes.slice();
  const edits = 1 + Math.floor(random() * 4);
  let result = out;
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(random() * Math.max(result.length, 1));
    switch (Math.floor(random() * 5)) {
      case 0: // flip a bit
        if (result.length) result[at]! ^= 1 << Math.floor(random() * 8);
        break;
      case 1: // an extreme byte (lengths and counts become huge or negative)
        if (result.length) result[at] = random() < 0.5 ? 0xff : 0x7f;
        break;
      case 2: // truncate
        result = result.subarray(0, at);
        break;
      case 3: // insert random bytes
        result = new Uint8Array([...result.subarray(0, at), ...Array.from({ length: 1 + Math.floor(random() * 8) }, () => Math.floor(random() * 256)), ...result.subarray(at)]);
        break;
      case 4: // random bytes overwrite
        for (let j = at; j < Math.min(result.length, at + 8); j++) result[j] = Math.floor(random() * 256);
        break;
    }
  }
  return result;
}

describe("fuzz", () => {
  test(`decoders fail only with ProtocolDecodeError (${ITERATIONS} mutated frames)`, () => {
    const random = prng(12345);
    for (let i = 0; i < ITERATIONS; i++) {
      const seed = seeds[Math.floor(random() * seeds.length)]!;
      const frame = mutate(seed.bytes, random);
      // Skip the 4 header bytes that pick the API and version: those are the dispatcher's business, fuzzed below.
      const reader = new ByteReader(frame, Math.min(4, frame.length));
      try {
        reader.offset = 0;
        const headerVersion = seed.descriptor.requestHeaderVersion(seed.version);
        reader.readInt16();
        reader.readInt16();
        reader.readInt32();
        if (headerVersion >= 1) reader.readNullableString();
        if (headerVersion >= 2) reader.readTaggedFields();
        seed.descriptor.decodeRequest(reader, seed.version);
      } catch (error) {
        if (!(error instanceof ProtocolDecodeError)) {
          throw new Error(`iteration ${i}: ${seed.descriptor.name} v${seed.version} threw ${error}`);
        }
      }
    }
  });

  // Also with the ACL authorizer on (open when no ACL applies, so mutated CreateAcls/DeleteAcls frames get through).
  // A failure names the seed, the iteration and the frame, so that it can be replayed.
  for (const authorizer of [null, { superUsers: ["User:admin"], allowEveryoneIfNoAclFound: true }]) test(`the dispatcher survives mutated and random frames with a live broker${authorizer ? " and the ACL authorizer" : ""} (${ITERATIONS} frames)`, async () => {
    const failures: string[] = [];
    setLogLevel("error");
    setLogSink((line) => {
      if (line.includes("handler failed") || line.includes("encoding failed")) failures.push(line);
    });
    const seed = authorizer ? 778 : 777;
    const reached = new Map<string, number>();
    let dispatched = 0;
    try {
      const broker = new Broker({ ...parseConfig(["--memory", "--listen", "127.0.0.1:0"], {})!, autoCreateTopics: true, authorizer });
      const dispatcher = new RequestDispatcher(broker);
      const writer = new ByteWriter();
      const random = prng(seed);
      const pending: Promise<unknown>[] = [];
      for (let i = 0; i < ITERATIONS; i++) {
        const frame = random() < 0.1
          ? Uint8Array.from({ length: Math.floor(random() * 64) }, () => Math.floor(random() * 256))
          : mutate(seeds[Math.floor(random() * seeds.length)]!.bytes, random);
        const replay = () => `seed ${seed}, iteration ${i}, frame ${Buffer.from(frame).toString("hex")}`;
        let result: ReturnType<RequestDispatcher["dispatch"]>;
        try {
          result = dispatcher.dispatch(frame, "fuzz");
        } catch (error) {
          failures.push(`dispatch threw ${error} (${replay()})`);
          continue;
        }
        if (result === "close") continue;
        dispatched++;
        reached.set(result.apiName, (reached.get(result.apiName) ?? 0) + 1);
        const answered = result;
        // The response must encode and decode again with the request's version, as the client will read it.
        const encode = (value: unknown) => {
          answered.result = value;
          writer.reset();
          try {
            if (!dispatcher.encode(answered, writer)) return;
            const bytes = writer.toUint8Array();
            const reader = new ByteReader(bytes, 8); // size and correlation id
            if (answered.descriptor.responseHeaderVersion(answered.apiVersion) >= 1) reader.readTaggedFields();
            if (answered.rawToken) return;
            answered.descriptor.decodeResponse(reader, answered.apiVersion);
          } catch (error) {
            failures.push(`${answered.apiName} v${answered.apiVersion} response did not encode and decode: ${error} (${replay()})`);
          }
        };
        if (answered.result instanceof Promise) {
          pending.push(answered.result.then(encode, (error: unknown) => failures.push(`${answered.apiName} v${answered.apiVersion} handler rejected: ${error} (${replay()})`)));
        } else encode(answered.result);
      }
      // Closing the broker answers parked long polls at once, as a clean shutdown must.
      broker.close();
      const settled = await Promise.race([Promise.all(pending), Bun.sleep(20_000).then(() => "timeout")]);
      expect(settled).not.toBe("timeout");
    } finally {
      setLogSink((line) => process.stderr.write(line + "\n"));
    }
    const share = [...reached].sort((a, b) => b[1] - a[1]).map(([api, count]) => `${api} ${((count / ITERATIONS) * 100).toFixed(1)}%`);
    console.log(`fuzz (seed ${seed}): ${((dispatched / ITERATIONS) * 100).toFixed(1)}% of ${ITERATIONS} frames reached a handler: ${share.join(", ")}`);
    expect(failures.slice(0, 5)).toEqual([]);
  }, 60_000);
});
