import { expect, test } from "bun:test";
import { heapSize } from "bun:jsc";
import { HeapValve } from "./heap-valve.ts";

test("the heap valve asks for a full collection only once the heap grew by its limit, and not twice in a row", () => {
  Bun.gc(true);
  const valve = new HeapValve(8 << 20, 1_000);
  valve.check();
  expect(valve.collections).toBe(0);
  // 32 MiB of buffers that outlive the check: the heap grew past 8 MiB.
  let held: Uint8Array[] | null = Array.from({ length: 32 }, () => new Uint8Array(1 << 20).fill(1));
  expect(heapSize()).toBeGreaterThan(8 << 20);
  valve.check();
  expect(valve.collections).toBe(1);
  // Still live and over the limit, but the interval keeps it from collecting again at once.
  held.push(new Uint8Array(16 << 20).fill(1));
  valve.check();
  expect(valve.collections).toBe(1);
  held = null;
  expect(held).toBeNull();
});
