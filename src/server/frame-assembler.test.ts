import { describe, expect, test } from "bun:test";
import { FrameAssembler, FrameTooLargeError } from "./frame-assembler.ts";

function framed(...payloads: number[][]): Uint8Array {
  const parts: number[] = [];
  for (const payload of payloads) parts.push(0, 0, (payload.length >> 8) & 0xff, payload.length & 0xff, ...payload);
  return new Uint8Array(parts);
}

describe("FrameAssembler", () => {
  test("frames inside one chunk come out as views of that chunk", () => {
    const chunk = framed([1, 2, 3], [], [4]);
    const frames: Uint8Array[] = [];
    new FrameAssembler(1024).push(chunk, (frame) => frames.push(frame));
    expect(frames.map((frame) => [...frame])).toEqual([[1, 2, 3], [], [4]]);
    expect(frames[0]!.buffer).toBe(chunk.buffer);
  });

  test("a frame split at every possible point is reassembled", () => {
    const whole = framed([9, 8, 7, 6, 5], [1]);
    for (let cut = 1; cut < whole.length; cut++) {
      const frames: number[][] = [];
      const assembler = new FrameAssembler(1024);
      assembler.push(whole.subarray(0, cut), (frame) => frames.push([...frame]));
      assembler.push(whole.subarray(cut), (frame) => frames.push([...frame]));
      expect(frames).toEqual([[9, 8, 7, 6, 5], [1]]);
    }
  });

  test("a large split frame holds only the bytes received, then comes out whole", () => {
    const size = 1 << 20; // above limits.framePreallocateBytesMax
    const assembler = new FrameAssembler(2 << 20);
    const frames: Uint8Array[] = [];
    assembler.push(new Uint8Array([0, 0x10, 0, 0, 7]), (frame) => frames.push(frame));
    expect(assembler.bufferedBytes).toBe(1);
    expect(assembler.receivingFrame).toBe(true);
    const rest = new Uint8Array(size - 1).fill(3);
    for (let at = 0; at < rest.length; at += 100_000) assembler.push(rest.subarray(at, at + 100_000), (frame) => frames.push(frame));
    expect(frames).toHaveLength(1);
    expect(frames[0]!.length).toBe(size);
    expect(frames[0]![0]).toBe(7);
    expect(frames[0]![size - 1]).toBe(3);
    expect(assembler.bufferedBytes).toBe(0);
    expect(assembler.receivingFrame).toBe(false);
  });

  test("a large split frame is copied into an idle pooled buffer as it arrives, when the pool has one", async () => {
    const { FramePool } = await import("./frame-pool.ts");
    const pool = new FramePool(4 << 20, 64 * 1024);
    const size = 1 << 20;
    pool.give(pool.take(size));
    const idle = pool.pooledBytes;
    const assembler = new FrameAssembler(2 << 20, pool);
    const frames: Uint8Array[] = [];
    const chunk = new Uint8Array(4 + 1000).fill(5);
    chunk.set([0, 0x10, 0, 0]);
    assembler.push(chunk, (frame) => frames.push(frame));
    // The idle buffer was taken at once; what counts as buffered is still what arrived.
    expect(pool.pooledBytes).toBe(idle - size);
    expect(assembler.bufferedBytes).toBe(1000);
    chunk.fill(0); // the chunk's bytes were copied, not kept
    assembler.push(new Uint8Array(size - 1000).fill(6), (frame) => frames.push(frame));
    expect(frames).toHaveLength(1);
    expect(frames[0]![0]).toBe(5);
    expect(frames[0]![999]).toBe(5);
    expect(frames[0]![1000]).toBe(6);
    // With no idle buffer (the frame above still lent), the next split frame keeps its pieces instead.
    assembler.push(chunk.subarray(0, 4).fill(0).map((_, i) => [0, 0x10, 0, 0][i]!), () => {});
    expect(pool.pooledBytes).toBe(idle - size);
  });

  test("a size over the limit (or negative) throws before anything is buffered", () => {
    expect(() => new FrameAssembler(10).push(new Uint8Array([0, 0, 0, 11]), () => {})).toThrow(FrameTooLargeError);
    expect(() => new FrameAssembler(10).push(new Uint8Array([0xff, 0xff, 0xff, 0xff]), () => {})).toThrow(FrameTooLargeError);
  });
});

// The assembler keeps views into data() chunks, which is only safe while Bun hands each call a fresh buffer.
test("Bun.listen hands data() a fresh buffer on every call", async () => {
  const chunks: Uint8Array[] = [];
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data(_socket, chunk) { chunks.push(chunk); } } });
  const socket = await Bun.connect({ hostname: "127.0.0.1", port: listener.port, socket: { data() {} } });
  for (let i = 0; i < 5; i++) {
    socket.write(new Uint8Array([i, i, i]));
    socket.flush();
    const before = chunks.length;
    for (let wait = 0; wait < 2_000 && chunks.length === before; wait++) await Bun.sleep(5);
  }
  socket.end();
  listener.stop(true);
  expect(chunks.length).toBeGreaterThan(1);
  expect(new Set(chunks.map((chunk) => chunk.buffer)).size).toBe(chunks.length);
  // Earlier chunks were not overwritten by later reads.
  expect(chunks.flatMap((chunk) => [...chunk])).toEqual([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]);
});
