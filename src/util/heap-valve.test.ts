import { expect, test } from "bun:test";
import { heapSize } from "bun:jsc";
import { HeapValve } from "./heap-valve.ts";

test("the heap valve asks for a full collection only once the heap grew by its limit, and not twice in a row", () => {
  Bun.gc(true);
  const valve = new HeapValve(8 << 20, 1_000);
  valve.check();
  expect(valve.collections).toBe(0);
  // Objects and buffers that outlive the check: the heap grew past 8 MiB (buffers alone are counted lazily).
  let held: object[] | null = Array.from({ length: 400_000 }, (_, i) => ({ i, text: `record-${i}` }));
  held.push(...Array.from({ length: 16 }, () => new Uint8Array(1 << 20).fill(1)));
  expect(heapSize()).toBeGreaterThan(8 << 20);
  valve.check();
  expect(valve.collections).toBe(1);
  // Still live and over the limit, but the interval keeps it from collecting again at once.
  held.push(...Array.from({ length: 400_000 }, (_, i) => ({ i })));
  valve.check();
  expect(valve.collections).toBe(1);
  held = null;
  expect(held).toBeNull();
});
