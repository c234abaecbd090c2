import { expect, test } from "bun:test";
import { HeapValve } from "./heap-valve.ts";

const MiB = 1 << 20;

/** A heap whose size the test sets, and whose collection leaves `live` bytes. */
function fakeHeap(live: number) {
  const heap = { size: live, live, collections: 0 };
  return { heap, measure: () => heap.size, collect: () => void (heap.collections++, (heap.size = heap.live)) };
}

test("collects once the heap grew by its allowance, not before, and not twice within the interval", () => {
  const { heap, measure, collect } = fakeHeap(30 * MiB);
  let now = 0;
  const realNow = performance.now;
  performance.now = () => now;
  try {
    const valve = new HeapValve(64 * MiB, 50, measure, collect);
    heap.size = 30 * MiB + 63 * MiB;
    valve.check();
    expect(heap.collections).toBe(0);
    heap.size = 30 * MiB + 64 * MiB;
    valve.check();
    expect(heap.collections).toBe(1);
    expect(valve.collections).toBe(1);
    // Garbage again, but within the interval: not yet.
    now += 10;
    heap.size = 200 * MiB;
    valve.check();
    expect(heap.collections).toBe(1);
    now += 50;
    valve.check();
    expect(heap.collections).toBe(2);
  } finally {
    performance.now = realNow;
  }
});

test("when a collection frees little (the heap grows with live data) the allowance doubles, up to 16x; freeing resets it", () => {
  const { heap, measure, collect } = fakeHeap(30 * MiB);
  let now = 0;
  const realNow = performance.now;
  performance.now = () => (now += 1_000);
  try {
    const valve = new HeapValve(64 * MiB, 50, measure, collect);
    // Everything that grows stays live (the memory log retaining records).
    const growLive = (bytes: number) => {
      heap.live += bytes;
      heap.size = heap.live;
    };
    growLive(64 * MiB);
    valve.check();
    expect(heap.collections).toBe(1);
    growLive(64 * MiB);
    valve.check();
    expect(heap.collections).toBe(1); // the allowance is now 128 MiB
    growLive(64 * MiB);
    valve.check();
    expect(heap.collections).toBe(2);
    for (let i = 0; i < 100; i++) {
      growLive(64 * MiB);
      valve.check();
    }
    // 64, 128, 256, 512, then 1024 MiB each: 6,400 MiB of live growth took 2 + 4 + 5 collections, not 100.
    expect(heap.collections).toBeLessThan(14);
    // Garbage that a collection frees brings the allowance back to 64 MiB.
    const before = heap.collections;
    heap.size = heap.live + 1024 * MiB;
    valve.check();
    heap.size = heap.live + 64 * MiB;
    valve.check();
    expect(heap.collections).toBe(before + 2);
  } finally {
    performance.now = realNow;
  }
});

test("the real heap (a fresh process): buffers allocated past the allowance make it collect", () => {
  // bun test runs every file in one process, whose heap other tests shape: this one gets its own.
  const script = `
    const { HeapValve } = await import(${JSON.stringify(import.meta.dir + "/heap-valve.ts")});
    const valve = new HeapValve(8 << 20, 0);
    valve.check();
    const before = valve.collections;
    const held = Array.from({ length: 32 }, () => new Uint8Array(1 << 20).fill(1));
    valve.check();
    console.log(JSON.stringify({ before, after: valve.collections, held: held.length }));
  `;
  const run = Bun.spawnSync([process.execPath, "-e", script], { stdout: "pipe", stderr: "pipe" });
  expect(run.stderr.toString()).toBe("");
  expect(JSON.parse(run.stdout.toString())).toEqual({ before: 0, after: 1, held: 32 });
});
