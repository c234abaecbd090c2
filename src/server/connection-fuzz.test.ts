// Fuzzing framing and connections through the real Connection: a server on 127.0.0.1 and raw TCP clients sending
// valid and garbage frames split at random chunk boundaries, pipelined requests, partial frames followed by a close,
// oversize, negative and zero size prefixes; and SASL exchanges (SaslHandshake v0/v1, SaslAuthenticate v0–2, PLAIN
// and SCRAM) with valid, random, truncated and oversize tokens. Asserted: no uncaught error and no handler failure in
// the log; pipelined requests are answered in order with their correlation ids and decode with their versions;
// garbage closes its own connection and never another client's (a bystander keeps asking throughout); a bad token
// fails with SASL_AUTHENTICATION_FAILED (or a close, for raw v0 tokens); afterwards a fresh client is served and no
// connection is left open.
//
// Budget: CI runs a few hundred scenarios; KGATE_FUZZ_ITERATIONS=N runs N/10 of each. A failure prints the seed, the
// scenario (iteration) and the bytes written (hex); KGATE_FUZZ_SEED=<seed> KGATE_FUZZ_REPLAY=<iteration> runs that
// scenario alone.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { parseConfig } from "../config.ts";
import { handlerFor } from "../handlers/registry.ts";
import { ErrorCode } from "../protocol/error-codes.ts";
import { ScramClient } from "../security/scram-client.ts";
import { setLogSink } from "../util/logger.ts";
import { startTestServer, waitFor, type TestServer } from "../../test/helpers/server.ts";
import { decodeAnswer, FuzzClient, splitRandomly } from "./fuzz-client.ts";
import {
  defaultWorld, fuzzApis, fuzzIterations, fuzzSeed, generateBody, hex, int, iterationRandom, mutate, pick, requestBytes, sizedFrame,
  type FuzzApi, type Random,
} from "./fuzz-frames.ts";

const given = fuzzIterations(0);
const SCENARIOS = given > 0 ? Math.ceil(given / 10) : 600;
const SASL_SCENARIOS = given > 0 ? Math.ceil(given / 10) : 200;
const CONCURRENCY = 8;
const ANSWER_TIMEOUT_MS = 10_000;
const FRAME_BYTES_MAX = 1 << 20;
const replayIterations = process.env.KGATE_FUZZ_REPLAY?.split(",").map(Number);
/** A campaign (KGATE_FUZZ_ITERATIONS) runs as long as it takes. */
const TEST_TIMEOUT_MS = given > 0 ? 2 ** 31 - 1 : 120_000;

const apis = fuzzApis(handlerFor);
const byKey = (apiKey: number) => apis.find((api) => api.descriptor.apiKey === apiKey)!;
/**
 * APIs whose generated requests are answered at once on a PLAINTEXT listener. Left out: JoinGroup/SyncGroup (they
 * wait for the rebalance), SaslAuthenticate (closes without a handshake), AlterClientQuotas (a quota would throttle
 * the fuzz client), Produce and Fetch (added below with acks ≠ 0 and no long poll).
 */
const answeredApis = apis.filter((api) => ![0, 1, 11, 14, 36, 49].includes(api.descriptor.apiKey));

/** Failures of the whole file: handler failures in the log, uncaught errors. */
const logFailures: string[] = [];
const onUncaught = (error: unknown) => logFailures.push(`uncaught: ${error}`);

beforeAll(() => {
  setLogSink((line) => {
    if (line.includes("handler failed") || line.includes("encoding failed") || line.includes("unexpected error")) logFailures.push(line);
  });
  process.on("uncaughtException", onUncaught);
  process.on("unhandledRejection", onUncaught);
});
afterAll(() => {
  setLogSink((line) => process.stderr.write(line + "\n"));
  process.off("uncaughtException", onUncaught);
  process.off("unhandledRejection", onUncaught);
});

/** A request a client would send, with the correlation id; answered at once. */
function validRequest(random: Random, correlationId: number): { apiKey: number; version: number; frame: Uint8Array } {
  const roll = random();
  let api: FuzzApi;
  let patch: Record<string, unknown> = {};
  if (roll < 0.15) {
    api = byKey(0);
    patch = { acks: pick(random, [1, -1]) };
  } else if (roll < 0.25) {
    api = byKey(1);
    patch = { maxWaitMs: 0 };
  } else api = pick(random, answeredApis);
  const version = int(random, api.minVersion, api.maxVersion);
  const body = { ...generateBody(api, version, random, world), ...patch };
  return { apiKey: api.descriptor.apiKey, version, frame: sizedFrame(requestBytes(api.descriptor, version, body, correlationId)) };
}

/** A frame every server must refuse by closing: sizes that lie, unknown APIs and versions. */
function refusedFrame(random: Random): Uint8Array {
  const sized = (size: number, bytes: Uint8Array = new Uint8Array(0)) => {
    const out = new Uint8Array(4 + bytes.length);
    new DataView(out.buffer).setInt32(0, size);
    out.set(bytes, 4);
    return out;
  };
  const junk = (length: number) => Uint8Array.from({ length }, () => Math.floor(random() * 256));
  switch (int(random, 0, 5)) {
    case 0: // zero size
      return sized(0);
    case 1: // shorter than a request header
      return sized(int(random, 1, 7), junk(7)).subarray(0, 4 + 7);
    case 2: // negative size
      return sized(pick(random, [-1, -2, -0x80000000, -1000]), junk(int(random, 0, 16)));
    case 3: // larger than frameBytesMax
      return sized(pick(random, [FRAME_BYTES_MAX + 1, 0x7fffffff, 0x40000000]), junk(int(random, 0, 64)));
    case 4: { // an API the server does not serve
      const body = junk(int(random, 4, 32));
      new DataView(body.buffer).setInt16(0, pick(random, [4, 5, 6, 7, 27, 34, 1000, -1, 32767]));
      return sized(body.length, body);
    }
    default: { // a version the API does not serve (ApiVersions answers those: not it)
      const api = pick(random, apis.filter((candidate) => candidate.descriptor.apiKey !== 18));
      const body = junk(int(random, 8, 32));
      new DataView(body.buffer).setInt16(0, api.descriptor.apiKey);
      new DataView(body.buffer).setInt16(2, pick(random, [api.maxVersion + 1, -1, 999]));
      return sized(body.length, body);
    }
  }
}

let world = defaultWorld();

/** Writes the pieces, sometimes yielding between them so the server sees separate chunks. */
async function writePieces(client: FuzzClient, bytes: Uint8Array, random: Random): Promise<void> {
  for (const piece of splitRandomly(bytes, random)) {
    client.write(piece);
    if (random() < 0.1) await Bun.sleep(random() < 0.5 ? 0 : 1);
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

const shortHex = (bytes: Uint8Array) => (bytes.length > 2048 ? `${hex(bytes.subarray(0, 2048))}…(${bytes.length} bytes)` : hex(bytes));
const replayHint = (seed: number, iteration: number, bytes: Uint8Array) =>
  `seed ${seed}, iteration ${iteration}, bytes ${shortHex(bytes)}; replay: KGATE_FUZZ_SEED=${seed} KGATE_FUZZ_REPLAY=${iteration}`;

interface Expected {
  apiKey: number;
  version: number;
  correlationId: number;
}

/** Checks that the frames answer `expected` in order (a prefix of it when `prefixOnly`); returns the problem or null. */
function checkAnswers(frames: Uint8Array[], expected: Expected[], prefixOnly: boolean): string | null {
  if (frames.length > expected.length || (!prefixOnly && frames.length < expected.length)) return `${frames.length} answers to ${expected.length} requests`;
  for (let k = 0; k < frames.length; k++) {
    const want = expected[k]!;
    try {
      const { correlationId } = decodeAnswer(want.apiKey, want.version, frames[k]!);
      if (correlationId !== want.correlationId) return `answer ${k} carries correlation id ${correlationId}, want ${want.correlationId}`;
    } catch (error) {
      return `answer ${k} (API ${want.apiKey} v${want.version}) does not decode: ${error}`;
    }
  }
  return null;
}

/** Runs scenarios 0..count-1 (or the replayed ones) on `workers` concurrent loops. */
async function runScenarios(count: number, workers: number, scenario: (iteration: number) => Promise<void>): Promise<void> {
  const queue = replayIterations ?? Array.from({ length: count }, (_, i) => i);
  let next = 0;
  await Promise.all(Array.from({ length: workers }, async () => {
    while (next < queue.length) await scenario(queue[next++]!);
  }));
}

describe("connection fuzz (PLAINTEXT)", () => {
  let server: TestServer;
  beforeAll(async () => {
    // The memory log: this is about framing and connections. (On the file log, CreatePartitions to 10,000 exhausts
    // the file descriptors, and every client's Produce fails with EMFILE: a storage problem, reported apart.)
    server = await startTestServer({ limits: { frameBytesMax: FRAME_BYTES_MAX }, autoCreateTopics: true, dataDir: null });
    world = defaultWorld();
    world.topicIds = world.topics.map((name) => server.broker.topics.create(name, 4).topic!.topicId);
  });
  afterAll(async () => {
    await server?.[Symbol.asyncDispose]();
  });

  test(`valid, pipelined, split, garbage and partial frames (${SCENARIOS} scenarios, ${CONCURRENCY} at a time)`, async () => {
    const seed = fuzzSeed(4242);
    const failures: string[] = [];
    const kinds = new Map<string, number>();
    const started = performance.now();
    let framesSent = 0;

    // The bystander: one connection asking ApiVersions throughout; nothing the others send may close it.
    const bystander = await FuzzClient.connect(server.port);
    let bystanderAsked = 0;
    let running = true;
    const bystanderLoop = (async () => {
      while (running) {
        const id = ++bystanderAsked;
        bystander.write(sizedFrame(requestBytes(byKey(18).descriptor, 3, { clientSoftwareName: "bystander", clientSoftwareVersion: "1" }, id)));
        await bystander.waitFrames(id, ANSWER_TIMEOUT_MS);
        if (bystander.closed || bystander.frames.length < id) {
          failures.push(`the bystander connection ${bystander.closed ? "was closed" : "got no answer"} after request ${id}`);
          return;
        }
        const problem = checkAnswers(bystander.frames.slice(id - 1, id), [{ apiKey: 18, version: 3, correlationId: id }], false);
        if (problem) failures.push(`bystander: ${problem}`);
        await Bun.sleep(20);
      }
    })();

    await runScenarios(SCENARIOS, CONCURRENCY, async (i) => {
      if (failures.length >= 5) return;
      const random = iterationRandom(seed, i);
      const client = await FuzzClient.connect(server.port);
      const written: Uint8Array[] = [];
      const expected: Expected[] = [];
      let correlationId = int(random, 0, 1 << 30);
      const addValid = () => {
        const request = validRequest(random, ++correlationId);
        written.push(request.frame);
        expected.push({ apiKey: request.apiKey, version: request.version, correlationId });
      };
      const roll = random();
      const kind = roll < 0.4 ? "pipeline" : roll < 0.65 ? "garbage" : roll < 0.8 ? "mutated" : roll < 0.93 ? "partial" : "random";
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      try {
        switch (kind) {
          case "pipeline": {
            for (let n = int(random, 1, 12); n > 0; n--) addValid();
            await writePieces(client, concat(written), random);
            await client.waitFrames(expected.length, ANSWER_TIMEOUT_MS);
            const problem = client.closed ? "the connection closed" : checkAnswers(client.frames, expected, false);
            if (problem) failures.push(`pipeline: ${problem} (${replayHint(seed, i, concat(written))})`);
            break;
          }
          case "garbage": {
            for (let n = int(random, 0, 3); n > 0; n--) addValid();
            written.push(refusedFrame(random));
            if (random() < 0.5) written.push(validRequest(random, 0).frame); // after the garbage: never answered
            await writePieces(client, concat(written), random);
            const closed = await client.waitClosed(ANSWER_TIMEOUT_MS);
            const problem = !closed ? "the connection stayed open" : checkAnswers(client.frames, expected, true);
            if (problem) failures.push(`garbage: ${problem} (${replayHint(seed, i, concat(written))})`);
            break;
          }
          case "mutated": {
            // Valid requests, one mutation of a valid request (its size prefix recomputed), valid requests: answered
            // in order, the mutated one answered with any id or not at all (it may have become acks=0); or answered
            // up to the mutated one and then closed.
            for (let n = int(random, 0, 3); n > 0; n--) addValid();
            const before = expected.length;
            // Not a Fetch: a mutated maxWaitMs may park it (and the answers behind it) for as long as it asks.
            let target = validRequest(random, ++correlationId);
            while (target.apiKey === 1) target = validRequest(random, correlationId);
            const body = target.frame.subarray(4);
            written.push(sizedFrame(mutate(body, random)));
            for (let n = int(random, 0, 3); n > 0; n--) addValid();
            await writePieces(client, concat(written), random);
            const want = expected.length + 1;
            await client.waitFrames(want, ANSWER_TIMEOUT_MS);
            if (!client.closed && client.frames.length < expected.length) await client.waitFrames(want, 200);
            const frames = client.frames;
            let problem: string | null;
            if (client.closed) problem = checkAnswers(frames.slice(0, before), expected.slice(0, before), true);
            else if (frames.length === expected.length) problem = checkAnswers(frames, expected, false);
            else if (frames.length === want) problem = checkAnswers([...frames.slice(0, before), ...frames.slice(before + 1)], expected, false);
            else problem = `${frames.length} answers to ${expected.length} valid requests and the connection is open`;
            if (problem) failures.push(`mutated: ${problem} (${replayHint(seed, i, concat(written))})`);
            break;
          }
          case "partial": {
            // Valid requests, then part of a frame (or only part of a size prefix), then the client leaves.
            for (let n = int(random, 0, 3); n > 0; n--) addValid();
            const last = random() < 0.3 ? sizedFrame(new Uint8Array(int(random, 100, FRAME_BYTES_MAX - 100))) : validRequest(random, ++correlationId).frame;
            written.push(last.subarray(0, int(random, 1, Math.min(last.length - 1, 4096))));
            await writePieces(client, concat(written), random);
            await client.waitFrames(expected.length, ANSWER_TIMEOUT_MS);
            const problem = checkAnswers(client.frames, expected, false);
            if (problem) failures.push(`partial: ${problem} (${replayHint(seed, i, concat(written))})`);
            break;
          }
          default: {
            // Random bytes: the server closes, or waits for the rest of a frame it believes in.
            written.push(Uint8Array.from({ length: int(random, 1, 300) }, () => Math.floor(random() * 256)));
            await writePieces(client, concat(written), random);
            await client.waitClosed(50);
          }
        }
      } finally {
        framesSent += written.length;
        client.close();
      }
    });

    running = false;
    await bystanderLoop;
    const seconds = (performance.now() - started) / 1000;
    console.log(`connection fuzz, seed ${seed}: ${SCENARIOS} scenarios (${[...kinds].map(([kind, n]) => `${kind} ${n}`).join(", ")}), ${framesSent} frames, ${bystanderAsked} bystander requests in ${seconds.toFixed(1)} s (${Math.round(framesSent / seconds)} frames/s)`);

    // A fresh client is served, and every fuzz connection is gone (only the bystander is left).
    const fresh = await FuzzClient.connect(server.port);
    fresh.write(sizedFrame(requestBytes(byKey(3).descriptor, 12, { topics: null, allowAutoTopicCreation: false }, 99)));
    await fresh.waitFrames(1, ANSWER_TIMEOUT_MS);
    expect(checkAnswers(fresh.frames, [{ apiKey: 3, version: 12, correlationId: 99 }], false)).toBeNull();
    fresh.close();
    bystander.close();
    await waitFor(() => server.connectionCount === 0, { timeoutMs: 5_000 });
    expect(failures.slice(0, 5)).toEqual([]);
    expect(logFailures).toEqual([]);
  }, TEST_TIMEOUT_MS);
});

describe("SASL fuzz (SASL_PLAINTEXT)", () => {
  let server: TestServer;
  let port: number;
  beforeAll(async () => {
    const { security } = parseConfig(["--listeners", "SASL_PLAINTEXT://127.0.0.1:0", "--sasl-users-bootstrap", "alice:alice-secret,bob:bob-secret"], {})!;
    server = await startTestServer({ security, limits: { frameBytesMax: 8 << 20 }, dataDir: null });
    port = server.listeners[0]!.port;
  });
  afterAll(async () => {
    await server?.[Symbol.asyncDispose]();
  });

  const MECHANISMS = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] as const;
  const USERS: Record<string, string> = { alice: "alice-secret", bob: "bob-secret" };
  const plainToken = (user: string, password: string) => new Uint8Array(Buffer.from(`\0${user}\0${password}`));

  /** A token that must not authenticate: random, truncated, wrong password, unknown user, oversize, empty. */
  function badToken(random: Random, valid: Uint8Array, wrongPassword: () => Uint8Array): Uint8Array {
    switch (int(random, 0, 5)) {
      case 0:
        return Uint8Array.from({ length: int(random, 1, 64) }, () => Math.floor(random() * 256));
      case 1: { // truncated, by more than the base64 padding of a SCRAM proof (which may be left out)
        let end = valid.length;
        while (end > 1 && valid[end - 1] === 0x3d) end--;
        return valid.subarray(0, int(random, 0, end - 1));
      }
      case 2:
        return wrongPassword();
      case 3: { // oversize: the valid token with a long tail
        const out = new Uint8Array(valid.length + pick(random, [70_000, 1 << 20]));
        out.set(valid);
        out.fill(0x41, valid.length);
        return out;
      }
      case 4:
        return new Uint8Array(0);
      default: { // a flipped byte
        const out = valid.slice();
        out[int(random, 0, out.length - 1)]! ^= 1 << int(random, 0, 7);
        return out;
      }
    }
  }

  /** The client-final message with one character of its proof changed. */
  const wrongProof = (final: Uint8Array) => {
    const text = Buffer.from(final).toString();
    const at = text.indexOf(",p=") + 4;
    return new Uint8Array(Buffer.from(text.slice(0, at) + (text[at] === "A" ? "B" : "A") + text.slice(at + 1)));
  };

  test(`SaslHandshake and SaslAuthenticate with good and bad tokens (${SASL_SCENARIOS} scenarios)`, async () => {
    const seed = fuzzSeed(9090);
    const failures: string[] = [];
    const outcomes = new Map<string, number>();
    const started = performance.now();

    // The bystander: authenticated once, then asks Metadata throughout.
    const bystander = await FuzzClient.connect(port);
    let bystanderId = 0;
    const call = async (client: FuzzClient, apiKey: number, version: number, body: object) => {
      const id = ++bystanderId;
      const have = client.frames.length;
      client.write(sizedFrame(requestBytes(byKey(apiKey).descriptor, version, body, id)));
      await client.waitFrames(have + 1, ANSWER_TIMEOUT_MS);
      if (client.frames.length <= have) return null;
      const answer = decodeAnswer(apiKey, version, client.frames[have]!);
      if (answer.correlationId !== id) throw new Error(`correlation id ${answer.correlationId}, want ${id}`);
      return answer.body;
    };
    expect((await call(bystander, 17, 1, { mechanism: "PLAIN" }))?.errorCode).toBe(ErrorCode.NONE);
    expect((await call(bystander, 36, 2, { authBytes: plainToken("alice", "alice-secret") }))?.errorCode).toBe(ErrorCode.NONE);
    let running = true;
    const bystanderLoop = (async () => {
      while (running) {
        const answer = await call(bystander, 3, 1, { topics: [] }).catch((error) => `error ${error}`);
        if (answer === null || typeof answer === "string" || bystander.closed) {
          failures.push(`the authenticated bystander ${bystander.closed ? "was closed" : `got ${answer}`}`);
          return;
        }
        await Bun.sleep(20);
      }
    })();

    await runScenarios(SASL_SCENARIOS, CONCURRENCY, async (i) => {
      if (failures.length >= 5) return;
      const random = iterationRandom(seed, i);
      const client = await FuzzClient.connect(port);
      const written: Uint8Array[] = [];
      let id = 0;
      /** Sends a request; its answer (decoded), or null when the connection closed without one. */
      const send = async (apiKey: number, version: number, body: object): Promise<any> => {
        const frame = sizedFrame(requestBytes(byKey(apiKey).descriptor, version, body, ++id));
        written.push(frame);
        const have = client.frames.length;
        await writePieces(client, frame, random);
        await client.waitFrames(have + 1, ANSWER_TIMEOUT_MS);
        if (client.frames.length <= have) return null;
        const answer = decodeAnswer(apiKey, version, client.frames[have]!);
        if (answer.correlationId !== id) throw new Error(`correlation id ${answer.correlationId}, want ${id}`);
        return answer.body;
      };
      /** After SaslHandshake v0: a raw token (size + bytes); the raw answer, or null when the connection closed. */
      const sendRaw = async (token: Uint8Array): Promise<Uint8Array | null> => {
        const frame = sizedFrame(token);
        written.push(frame);
        const have = client.frames.length;
        await writePieces(client, frame, random);
        await client.waitFrames(have + 1, ANSWER_TIMEOUT_MS);
        return client.frames[have] ?? null;
      };
      const fail = (what: string) => failures.push(`${what} (${replayHint(seed, i, concat(written))})`);
      const expectClosed = async (what: string) => {
        if (!(await client.waitClosed(ANSWER_TIMEOUT_MS))) fail(`${what}: the connection stayed open`);
      };
      const count = (outcome: string) => outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      try {
        const roll = random();
        if (roll < 0.08) {
          // Out of order: anything but ApiVersions and SaslHandshake before authentication closes the connection.
          count("out of order");
          const apiKey = pick(random, [3, 36, 0, 19]);
          const api = byKey(apiKey);
          const version = int(random, api.minVersion, api.maxVersion);
          const frame = sizedFrame(requestBytes(api.descriptor, version, generateBody(api, version, random, world), 1));
          written.push(frame);
          await writePieces(client, frame, random);
          await expectClosed("a request before authentication");
          return;
        }
        if (roll < 0.16) {
          count("unknown mechanism");
          const mechanism = pick(random, ["GSSAPI", "plain", "", "OAUTHBEARER", "SCRAM-SHA-1", "X".repeat(int(random, 1, 5000))]);
          const answer = await send(17, int(random, 0, 1), { mechanism });
          if (answer?.errorCode !== ErrorCode.UNSUPPORTED_SASL_MECHANISM) fail(`mechanism ${mechanism.slice(0, 20)}: ${answer === null ? "no answer" : `error ${answer.errorCode}`}`);
          await expectClosed("after an unsupported mechanism");
          return;
        }
        const mechanism = pick(random, MECHANISMS);
        const user = pick(random, ["alice", "bob", "mallory"]);
        const password = USERS[user] ?? "x";
        const handshakeVersion = random() < 0.25 ? 0 : 1;
        const handshake = await send(17, handshakeVersion, { mechanism });
        if (handshake?.errorCode !== ErrorCode.NONE) {
          fail(`handshake ${mechanism} v${handshakeVersion}: ${handshake === null ? "no answer" : `error ${handshake.errorCode}`}`);
          return;
        }
        const authVersion = int(random, 0, 2);
        const good = user !== "mallory" && random() < 0.35;
        count(`${mechanism} v${handshakeVersion} ${good ? "good" : "bad"}`);
        // One exchange step: the answer's token, or null with the failure checked (error and close, or only a close).
        const step = async (token: Uint8Array, mustFail: boolean | "maybe"): Promise<Uint8Array | null> => {
          if (handshakeVersion === 0) {
            const answer = await sendRaw(token);
            if (answer === null) {
              if (mustFail === false) fail(`raw ${mechanism} token refused`);
              await expectClosed("a refused raw token");
              return null;
            }
            if (mustFail === true) fail(`raw ${mechanism} bad token answered`);
            return answer;
          }
          const answer = await send(36, authVersion, { authBytes: token });
          if (answer === null) {
            fail(`SaslAuthenticate v${authVersion} ${mechanism}: no answer`);
            return null;
          }
          if (answer.errorCode === ErrorCode.NONE) {
            if (mustFail === true) fail(`SaslAuthenticate v${authVersion} ${mechanism}: a bad token authenticated`);
            return answer.authBytes;
          }
          if (mustFail === false) fail(`SaslAuthenticate v${authVersion} ${mechanism}: the good token failed with ${answer.errorCode}`);
          else if (answer.errorCode !== ErrorCode.SASL_AUTHENTICATION_FAILED || !answer.errorMessage) fail(`SaslAuthenticate v${authVersion}: error ${answer.errorCode} ${answer.errorMessage}`);
          await expectClosed("a failed authentication");
          return null;
        };
        let authenticated = false;
        if (mechanism === "PLAIN") {
          const valid = plainToken(user, password);
          if (good) authenticated = (await step(valid, false)) !== null;
          else await step(badToken(random, valid, () => plainToken(user, password + "x")), true);
        } else {
          const scram = new ScramClient(mechanism, user, good || random() < 0.5 ? password : "wrong");
          const first = scram.clientFirst();
          const badFirst = !good && random() < 0.4;
          // A truncated client-first may still be a valid one with a shorter nonce: then the exchange goes on.
          const serverFirst = await step(badFirst ? badToken(random, first, () => first) : first, badFirst ? "maybe" : user === "mallory" ? "maybe" : false);
          if (serverFirst !== null && !client.closed) {
            let final: Uint8Array;
            try {
              final = scram.clientFinal(serverFirst);
            } catch {
              final = new Uint8Array(0);
            }
            if (good) authenticated = (await step(final, false)) !== null;
            else await step(badToken(random, final, () => wrongProof(final)), true);
          }
        }
        if (authenticated) {
          count("authenticated");
          const metadata = await send(3, 1, { topics: [] });
          if (metadata === null) fail("Metadata after authentication: no answer");
        }
      } catch (error) {
        fail(`${error}`);
      } finally {
        client.close();
      }
    });

    running = false;
    await bystanderLoop;
    const seconds = (performance.now() - started) / 1000;
    console.log(`SASL fuzz, seed ${seed}: ${SASL_SCENARIOS} scenarios in ${seconds.toFixed(1)} s: ${[...outcomes].sort().map(([outcome, n]) => `${outcome} ${n}`).join(", ")}`);

    // A fresh client authenticates with SCRAM and is served.
    const fresh = await FuzzClient.connect(port);
    expect((await call(fresh, 17, 1, { mechanism: "SCRAM-SHA-256" }))?.errorCode).toBe(ErrorCode.NONE);
    const scram = new ScramClient("SCRAM-SHA-256", "bob", "bob-secret");
    const first = await call(fresh, 36, 2, { authBytes: scram.clientFirst() });
    expect((await call(fresh, 36, 2, { authBytes: scram.clientFinal(first.authBytes) }))?.errorCode).toBe(ErrorCode.NONE);
    expect(await call(fresh, 3, 1, { topics: [] })).not.toBeNull();
    fresh.close();
    bystander.close();
    await waitFor(() => server.connectionCount === 0, { timeoutMs: 5_000 });
    expect(failures.slice(0, 5)).toEqual([]);
    expect(logFailures).toEqual([]);
  }, TEST_TIMEOUT_MS);
});
