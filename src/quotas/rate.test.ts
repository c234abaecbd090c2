import { expect, test } from "bun:test";
import { RateSensor } from "./rate.ts";

const window = { windowMs: 1_000, windowCount: 11 };

test("a fresh sensor measures over at least count - 1 windows, like Kafka's Rate", () => {
  const sensor = new RateSensor(window);
  sensor.record(10_000, 0);
  // One sample, 0 ms old: the window is padded to 10 s, so 10 kB is 1 kB/s.
  expect(sensor.windowSizeMs(0)).toBe(10_000);
  expect(sensor.ratePerSecond(0)).toBe(1_000);
  expect(sensor.throttleTimeMs(1_000, 0)).toBe(0);
});

test("throttle time is (rate - quota) / quota × window, so that waiting it brings the rate back to the quota", () => {
  const sensor = new RateSensor(window);
  sensor.record(30_000, 0);
  // 30 kB over the padded 10 s = 3 kB/s against 1 kB/s: (3 - 1) / 1 × 10 s = 20 s, capped at the 11 s window.
  expect(sensor.throttleTimeMs(1_000, 0)).toBe(11_000);
  const mild = new RateSensor(window);
  mild.record(15_000, 0);
  // 1.5 kB/s against 1 kB/s: 0.5 × 10 s = 5 s; after those 5 s the rate is 15 kB / 15 s = 1 kB/s.
  expect(mild.throttleTimeMs(1_000, 0)).toBe(5_000);
  expect(mild.windowSizeMs(5_000)).toBe(10_000);
  mild.record(0, 10_500);
  expect(mild.ratePerSecond(10_500)).toBeCloseTo(15_000 / 10.5, 5);
});

test("samples older than the whole window are forgotten", () => {
  const sensor = new RateSensor(window);
  sensor.record(50_000, 0);
  expect(sensor.isStale(5_000)).toBe(false);
  expect(sensor.isStale(11_000)).toBe(true);
  expect(sensor.ratePerSecond(11_000)).toBe(0);
  // Twelve samples recorded: only the last eleven count.
  const busy = new RateSensor(window);
  for (let second = 0; second < 12; second++) busy.record(1_000, second * 1_000);
  expect(busy.ratePerSecond(11_000)).toBeCloseTo(11_000 / 10, 5);
});
