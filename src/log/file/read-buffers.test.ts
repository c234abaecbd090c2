import { expect, test } from "bun:test";
import { SlabPool } from "../memory-log.ts";
import { ReadBuffers } from "./read-buffers.ts";

function buffers(): ReadBuffers {
  return new ReadBuffers(new SlabPool({ slabBytes: 1024, pooledBytesMax: 8 * 1024, reuseDelayMs: 0 }));
}

test("released reads reuse one slab from its start; no fresh memory per read", () => {
  const reads = buffers();
  const first = reads.reserve(600);
  reads.release(first);
  const second = reads.reserve(600);
  expect(second.buffer).toBe(first.buffer);
  expect(second.byteOffset).toBe(first.byteOffset);
  reads.release(second);
});

test("a view never released is never overwritten; a full slab comes back once all its views are released", () => {
  const reads = buffers();
  const kept = reads.reserve(400);
  kept.fill(7);
  const released = reads.reserve(400);
  reads.release(released);
  // The slab is full for the next 400 bytes: a new one; the first is retired with `kept` still leased.
  for (let i = 0; i < 50; i++) {
    const view = reads.reserve(400);
    view.fill(9);
    reads.release(view);
  }
  expect(kept.every((byte) => byte === 7)).toBe(true);

  const a = reads.reserve(500);
  const b = reads.reserve(500);
  const c = reads.reserve(500); // retires the slab holding a and b
  reads.release(a);
  reads.release(c);
  expect(reads.reserve(900).buffer).not.toBe(a.buffer); // b still leased: a's slab is not back
  reads.release(b);
  const again = reads.reserve(1000);
  expect(again.buffer === a.buffer || again.buffer === c.buffer).toBe(true);
});

test("shrinkLast gives back the unused end of the last reservation", () => {
  const reads = buffers();
  const view = reads.reserve(800);
  reads.shrinkLast(view, 100);
  const next = reads.reserve(900);
  expect(next.buffer).toBe(view.buffer);
  expect(next.byteOffset).toBe(view.byteOffset + 100);
});
