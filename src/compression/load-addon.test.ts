import { afterEach, expect, test } from "bun:test";
import { setLogSink } from "../util/logger.ts";
import { loadAddon } from "./load-addon.ts";

afterEach(() => setLogSink((line) => process.stderr.write(line + "\n")));

test("an addon that cannot be loaded is logged once with its cause, and every call still throws", () => {
  const lines: string[] = [];
  setLogSink((line) => lines.push(line));
  const load = () => {
    throw new Error("dlopen failed: /tmp/.bun-0-abc.node: failed to map segment from shared object");
  };
  expect(() => loadAddon("fake", load)).toThrow("failed to map segment");
  expect(() => loadAddon("fake", load)).toThrow("failed to map segment");
  expect(lines.length).toBe(1);
  expect(lines[0]).toContain("the fake addon cannot be loaded");
  expect(lines[0]).toContain("failed to map segment");
  expect(loadAddon("fake", () => 42)).toBe(42);
});
