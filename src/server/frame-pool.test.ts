import { describe, expect, test } from "bun:test";
import { FramePool } from "./frame-pool.ts";
import { FrameAssembler } from "./frame-assembler.ts";

describe("FramePool", () => {
  test("a returned frame's buffer serves the next frame of a size in the same class", () => {
    const pool = new FramePool(4 << 20, 64 << 10);
    const first = pool.take(1_000_000);
    expect(first.length).toBe(1_000_000);
    expect(first.buffer.byteLength).toBe(1 << 20);
    pool.give(first);
    expect(pool.pooledBytes).toBe(1 << 20);
    const second = pool.take(900_000);
    expect(second.buffer).toBe(first.buffer);
    expect(second.length).toBe(900_000);
    expect(pool.pooledBytes).toBe(0);
  });

  test("a buffer is given back once: a second give of the same frame is ignored", () => {
    const pool = new FramePool(4 << 20, 64 << 10);
    const frame = pool.take(100_000);
    pool.give(frame);
    pool.give(frame);
    expect(pool.pooledBytes).toBe(128 << 10);
    const a = pool.take(100_000);
    const b = pool.take(100_000);
    expect(a.buffer).not.toBe(b.buffer);
  });

  test("small frames, foreign buffers and frames past the pool's size are not pooled", () => {
    const pool = new FramePool(1 << 20, 64 << 10);
    pool.give(pool.take(1_000));
    pool.give(new Uint8Array(200_000));
    pool.give(pool.take(2 << 20));
    expect(pool.pooledBytes).toBe(0);
  });

  test("idle bytes stay under the cap", () => {
    const pool = new FramePool(2 << 20, 64 << 10);
    const frames = [pool.take(1 << 20), pool.take(1 << 20), pool.take(1 << 20)];
    for (const frame of frames) pool.give(frame);
    expect(pool.pooledBytes).toBe(2 << 20);
  });
});

describe("FrameAssembler with a pool", () => {
  function sizePrefixed(payload: Uint8Array): Uint8Array {
    const bytes = new Uint8Array(4 + payload.length);
    new DataView(bytes.buffer).setUint32(0, payload.length);
    bytes.set(payload, 4);
    return bytes;
  }

  test("a large frame split across chunks is joined into a pooled buffer, and a reused buffer holds the new bytes", () => {
    const pool = new FramePool(8 << 20, 64 << 10);
    const assembler = new FrameAssembler(100 << 20, pool);
    const frames: Uint8Array[] = [];
    const payloadA = new Uint8Array(300_000).map((_, i) => i % 251);
    const payloadB = new Uint8Array(290_000).map((_, i) => (i * 7) % 253);
    const wireA = sizePrefixed(payloadA);
    for (let at = 0; at < wireA.length; at += 65_536) assembler.push(wireA.slice(at, at + 65_536), (frame) => frames.push(frame));
    expect(frames).toHaveLength(1);
    expect(frames[0]).toEqual(payloadA);
    const bufferA = frames[0]!.buffer;
    pool.give(frames[0]!);
    const wireB = sizePrefixed(payloadB);
    for (let at = 0; at < wireB.length; at += 50_000) assembler.push(wireB.slice(at, at + 50_000), (frame) => frames.push(frame));
    expect(frames).toHaveLength(2);
    expect(frames[1]!.buffer).toBe(bufferA);
    expect(frames[1]).toEqual(payloadB);
  });
});
