// Fuzzing the request path. Each API gets frames built from its request shape (request-shapes.ts, generated from
// Kafka's definitions): well-typed random bodies for a random served version (plausible values, or many boundary
// ones), mutations of them (bit flips, truncation, lengths and counts set to huge, negative or zero) and a few random
// bodies. They go through the decoders
// and through the dispatcher with a live broker (with and without the ACL authorizer). Decoders may only fail with
// ProtocolDecodeError, and a generated frame must decode; handlers may not fail at all, synchronously or by rejecting
// (a client's nonsense becomes an error code); every answer must decode again with the request's version; no handler
// promise may stay unsettled HANG_MS after the broker closes (nor, outside the APIs that park by design, HANG_MS
// after its request). The share of frames that reach a handler is printed per API.
//
// Budget: KGATE_FUZZ_ITERATIONS frames per API (CI: a small default; `bun run fuzz` runs a long campaign). A failure
// prints the seed, the iteration and the frame in hex. Replay: KGATE_FUZZ_SEED=<seed> KGATE_FUZZ_REPLAY=<iteration>
// regenerates that iteration's frame alone (each iteration has its own generator), or KGATE_FUZZ_FRAME=<hex> sends
// the exact bytes; either on a fresh broker. A handler that never returns stops the test without a report:
// KGATE_FUZZ_TRACE=1 prints each iteration before it is dispatched, so the culprit shows.

import { describe, expect, test } from "bun:test";
import { Broker } from "../broker.ts";
import { parseConfig } from "../config.ts";
import { handlerFor } from "../handlers/registry.ts";
import { ByteReader, ProtocolDecodeError } from "../protocol/byte-reader.ts";
import { ByteWriter } from "../protocol/byte-writer.ts";
import { apiTable } from "../protocol/messages/index.ts";
import { setLogLevel, setLogSink } from "../util/logger.ts";
import { RequestDispatcher, type PendingResponse } from "./dispatcher.ts";
import { defaultWorld, fuzzApis, fuzzFrame, fuzzIterations, fuzzSeed, hex, iterationRandom, type FrameKind, type FuzzApi } from "./fuzz-frames.ts";

const ITERATIONS = fuzzIterations(1_000);
const HANG_MS = 5_000;
/** Frames per broker: a long campaign starts a fresh broker after this many, so its memory stays flat. */
const FRAMES_PER_BROKER = 50_000;
/** Frames dispatched between two turns of the event loop (timers, settled promises). */
const FRAMES_PER_TURN = 200;
/** APIs whose answers wait by design (long poll, rebalance) for as long as the request asks. */
const PARKING_APIS = new Set(["Fetch", "JoinGroup", "SyncGroup"]);

const apis = fuzzApis(handlerFor);
const replayIterations = process.env.KGATE_FUZZ_REPLAY?.split(",").map(Number);
const replayFrame = process.env.KGATE_FUZZ_FRAME;
const trace = process.env.KGATE_FUZZ_TRACE !== undefined;

/** The iterations to run: every API in turn, ITERATIONS each; or the replayed ones. (No array: a campaign runs 10^7.) */
function iterations(): { length: number; at(n: number): number } {
  const list = replayIterations ?? (replayFrame ? [0] : null);
  if (list) return { length: list.length, at: (n) => list[n]! };
  return { length: ITERATIONS * apis.length, at: (n) => n };
}

/** A campaign (KGATE_FUZZ_ITERATIONS) runs as long as it takes. */
const TEST_TIMEOUT_MS = process.env.KGATE_FUZZ_ITERATIONS ? 2 ** 31 - 1 : 120_000;

function frameOf(seed: number, iteration: number, world = defaultWorld()): { api: FuzzApi; kind: FrameKind; version: number; bytes: Uint8Array } {
  if (replayFrame) {
    const bytes = Uint8Array.from(Buffer.from(replayFrame, "hex"));
    const apiKey = new DataView(bytes.buffer).getInt16(0);
    const api = apis.find((candidate) => candidate.descriptor.apiKey === apiKey) ?? apis[0]!;
    return { api, kind: "mutated", version: new DataView(bytes.buffer).getInt16(2), bytes };
  }
  return fuzzFrame(apis[iteration % apis.length]!, iterationRandom(seed, iteration), world);
}

const replayHint = (seed: number, iteration: number, bytes: Uint8Array) =>
  `seed ${seed}, iteration ${iteration}, frame ${hex(bytes)}; replay: KGATE_FUZZ_SEED=${seed} KGATE_FUZZ_REPLAY=${iteration} or KGATE_FUZZ_FRAME=<frame>`;

describe("fuzz", () => {
  test(`decoders: generated frames decode, mutated ones fail only with ProtocolDecodeError (${ITERATIONS} frames per API)`, () => {
    const seed = fuzzSeed(12345);
    const world = { ...defaultWorld(), topicIds: [Uint8Array.from({ length: 16 }, (_, i) => i + 1)] };
    const failures: string[] = [];
    const all = iterations();
    for (let n = 0; n < all.length; n++) {
      const i = all.at(n);
      const frame = frameOf(seed, i, world);
      const { descriptor } = frame.api;
      const reader = new ByteReader(frame.bytes);
      try {
        const headerVersion = descriptor.requestHeaderVersion(frame.version);
        reader.readInt16();
        reader.readInt16();
        reader.readInt32();
        if (headerVersion >= 1) reader.readNullableString();
        if (headerVersion >= 2) reader.readTaggedFields();
        descriptor.decodeRequest(reader, frame.version);
        if (wellFormed(frame.kind) && reader.offset !== frame.bytes.length) {
          failures.push(`${descriptor.name} v${frame.version}: ${frame.bytes.length - reader.offset} bytes left after decoding a generated frame (${replayHint(seed, i, frame.bytes)})`);
        }
      } catch (error) {
        if (!(error instanceof ProtocolDecodeError) || wellFormed(frame.kind)) {
          failures.push(`${descriptor.name} v${frame.version} (${frame.kind}) threw ${error} (${replayHint(seed, i, frame.bytes)})`);
          if (failures.length >= 5) break;
        }
      }
    }
    if (failures.length > 0) console.error(failures.join("\n"));
    expect(failures).toEqual([]);
  }, TEST_TIMEOUT_MS);

  // Also with the ACL authorizer on (open when no ACL applies, so mutated CreateAcls/DeleteAcls frames get through).
  for (const authorizer of [null, { superUsers: ["User:admin"], allowEveryoneIfNoAclFound: true }]) {
    const title = `the dispatcher survives generated, mutated and random frames with a live broker${authorizer ? " and the ACL authorizer" : ""} (${ITERATIONS} frames per API)`;
    test(title, async () => {
      const seed = fuzzSeed(authorizer ? 778 : 777);
      const failures: string[] = [];
      /** The frame being dispatched, for log lines that report a handler's synchronous failure. */
      let current = () => "";
      setLogLevel("error");
      setLogSink((line) => {
        if (line.includes("handler failed") || line.includes("encoding failed")) failures.push(`${line} (${current()})`);
      });
      const onRejection = (error: unknown) => failures.push(`unhandled rejection: ${error} (${current()})`);
      process.on("unhandledRejection", onRejection);
      // Per API and kind: frames sent, frames that reached the handler.
      const sent = new Map<string, number>();
      const reached = new Map<string, number>();
      const count = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
      const slowest = new Map<string, number>();
      const started = performance.now();
      const all = iterations();
      try {
        for (let from = 0; from < all.length && failures.length < 5; from += FRAMES_PER_BROKER) {
          const broker = new Broker({ ...parseConfig(["--memory", "--listen", "127.0.0.1:0"], {})!, autoCreateTopics: true, authorizer });
          const world = defaultWorld();
          world.topicIds = world.topics.map((name) => broker.topics.create(name, 4).topic!.topicId);
          const dispatcher = new RequestDispatcher(broker);
          const writer = new ByteWriter();
          const pending = new Map<number, { promise: Promise<unknown>; at: number; api: string; replay: () => string }>();
          for (let n = from; n < Math.min(all.length, from + FRAMES_PER_BROKER); n++) {
            const i = all.at(n);
            const frame = frameOf(seed, i, world);
            const replay = () => replayHint(seed, i, frame.bytes); // hex only when needed
            current = replay;
            if (trace) process.stderr.write(`> ${i} ${frame.api.descriptor.name} v${frame.version} ${frame.kind}\n`);
            const key = `${frame.api.descriptor.name}\t${frame.kind}`;
            count(sent, key);
            let result: ReturnType<RequestDispatcher["dispatch"]>;
            try {
              result = dispatcher.dispatch(frame.bytes, "fuzz");
            } catch (error) {
              failures.push(`dispatch threw ${error} (${replay()})`);
              continue;
            }
            if (result !== "close") {
              count(reached, key);
              const answered = result;
              const encode = (value: unknown) => checkAnswer(dispatcher, writer, answered, value, replay, failures);
              if (answered.result instanceof Promise) {
                const at = performance.now();
                const promise = answered.result.then(encode, (error: unknown) => failures.push(`${answered.apiName} v${answered.apiVersion} handler rejected: ${error} (${replay()})`)).finally(() => {
                  pending.delete(i);
                  const tookMs = performance.now() - at;
                  if (tookMs > (slowest.get(answered.apiName) ?? 0)) slowest.set(answered.apiName, tookMs);
                });
                pending.set(i, { promise, at, api: answered.apiName, replay });
              } else encode(answered.result);
            }
            if (n % FRAMES_PER_TURN === FRAMES_PER_TURN - 1) {
              await new Promise((resolve) => setImmediate(resolve));
              const now = performance.now();
              for (const [j, entry] of pending) {
                if (PARKING_APIS.has(entry.api) || now - entry.at < HANG_MS) continue;
                failures.push(`${entry.api} answer still pending ${HANG_MS} ms after its request (${entry.replay()})`);
                pending.delete(j);
              }
            }
          }
          // Closing the broker answers parked long polls and rebalances at once, as a clean shutdown must.
          broker.close();
          const left = [...pending.values()];
          const settled = await Promise.race([Promise.all(left.map((entry) => entry.promise)), Bun.sleep(HANG_MS).then(() => "timeout")]);
          if (settled === "timeout") {
            for (const entry of [...pending.values()].slice(0, 5)) failures.push(`${entry.api} answer still pending ${HANG_MS} ms after the broker closed (${entry.replay()})`);
          }
          // A campaign runs for hours: say how far it got, so that a run stopped early still tells what it covered.
          if (process.env.KGATE_FUZZ_ITERATIONS) {
            const done = Math.min(all.length, from + FRAMES_PER_BROKER);
            const elapsed = (performance.now() - started) / 1000;
            console.log(`fuzz campaign${authorizer ? " (ACL authorizer)" : ""}: ${done} frames (${Math.floor(done / apis.length)} per API) in ${elapsed.toFixed(0)} s, ${failures.length} failures`);
          }
        }
      } finally {
        setLogSink((line) => process.stderr.write(line + "\n"));
        process.off("unhandledRejection", onRejection);
      }
      const seconds = (performance.now() - started) / 1000;
      console.log(`fuzz dispatcher${authorizer ? " (ACL authorizer)" : ""}, seed ${seed}: ${all.length} frames in ${seconds.toFixed(1)} s (${Math.round(all.length / seconds)} frames/s)`);
      console.log(reachReport(sent, reached));
      if (slowest.size > 0) console.log(`slowest answers (ms): ${[...slowest].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([api, ms]) => `${api} ${Math.round(ms)}`).join(", ")}`);
      // In full here: the test runner's diff cuts long strings in the middle, frames included.
      if (failures.length > 0) console.error(failures.slice(0, 5).join("\n"));
      expect(failures.slice(0, 5)).toEqual([]);
      if (!replayIterations && !replayFrame) {
        // Generated frames are valid requests: nearly all of them must reach their handler.
        expect((sumKind(reached, "generated") + sumKind(reached, "boundary")) / (sumKind(sent, "generated") + sumKind(sent, "boundary"))).toBeGreaterThan(0.9);
      }
    }, TEST_TIMEOUT_MS);
  }
});

/** The answer must encode and decode again with the request's version, as the client will read it. */
function checkAnswer(dispatcher: RequestDispatcher, writer: ByteWriter, answered: PendingResponse, value: unknown, replay: () => string, failures: string[]): void {
  answered.result = value;
  writer.reset();
  try {
    if (!dispatcher.encode(answered, writer)) return;
    if (answered.rawToken) return;
    const bytes = writer.toUint8Array();
    const reader = new ByteReader(bytes, 8); // size and correlation id
    if (answered.descriptor.responseHeaderVersion(answered.apiVersion) >= 1) reader.readTaggedFields();
    answered.descriptor.decodeResponse(reader, answered.apiVersion);
    if (reader.offset !== bytes.length) throw new Error(`${bytes.length - reader.offset} bytes left after the response`);
  } catch (error) {
    failures.push(`${answered.apiName} v${answered.apiVersion} response did not encode and decode: ${error} (${replay()})`);
  }
}

/** Frames encoded from a generated body (plausible or boundary values): they must decode. */
const wellFormed = (kind: FrameKind) => kind === "generated" || kind === "boundary";

function sumKind(map: Map<string, number>, kind: FrameKind): number {
  let sum = 0;
  for (const [key, value] of map) if (key.endsWith(`\t${kind}`)) sum += value;
  return sum;
}

/** "API generated% boundary% mutated% all%" per API, lowest generated share first. */
function reachReport(sent: Map<string, number>, reached: Map<string, number>): string {
  const share = (api: string, kinds: FrameKind[]) => {
    let s = 0;
    let r = 0;
    for (const kind of kinds) {
      s += sent.get(`${api}\t${kind}`) ?? 0;
      r += reached.get(`${api}\t${kind}`) ?? 0;
    }
    return s === 0 ? NaN : r / s;
  };
  const percent = (value: number) => (Number.isNaN(value) ? "  -" : `${(value * 100).toFixed(0).padStart(3)}%`);
  const names = [...new Set([...sent.keys()].map((key) => key.split("\t")[0]!))];
  const rows = names
    .map((api) => ({ api, generated: share(api, ["generated"]), boundary: share(api, ["boundary"]), mutated: share(api, ["mutated"]), all: share(api, ["generated", "boundary", "mutated", "random"]) }))
    .sort((a, b) => a.generated - b.generated || a.all - b.all);
  const total = (kinds: FrameKind[]) => {
    let s = 0;
    let r = 0;
    for (const kind of kinds) {
      s += sumKind(sent, kind);
      r += sumKind(reached, kind);
    }
    return r / s;
  };
  return [
    `share of frames reaching a handler (generated / boundary values / mutated / all): total ${percent(total(["generated"]))} ${percent(total(["boundary"]))} ${percent(total(["mutated"]))} ${percent(total(["generated", "boundary", "mutated", "random"]))}`,
    ...rows.map((row) => `  ${row.api.padEnd(28)} ${percent(row.generated)} ${percent(row.boundary)} ${percent(row.mutated)} ${percent(row.all)}`),
  ].join("\n");
}

// Keep the table import honest: every fuzzed API has a generated codec.
test("every API with a handler has a request shape", () => {
  for (const api of apis) expect(apiTable[api.descriptor.apiKey]).toBe(api.descriptor);
  expect(apis.length).toBeGreaterThan(40);
});
