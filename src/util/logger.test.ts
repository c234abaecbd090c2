import { afterEach, expect, test } from "bun:test";
import { log, setLogFormat, setLogLevel, setLogSink } from "./logger.ts";

const lines: string[] = [];
setLogSink((line) => lines.push(line));
afterEach(() => {
  lines.length = 0;
  setLogFormat("text");
  setLogLevel("info");
});

test("text lines: time, padded level, message, key=value with quoting", () => {
  setLogLevel("info");
  log.info("listener up", { listen: "127.0.0.1:9092", note: "two words" });
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO  listener up listen=127\.0\.0\.1:9092 note="two words"$/);
});

test("json lines: one object per line with time, level, msg and the fields", () => {
  setLogFormat("json");
  setLogLevel("debug");
  log.warn("closing connection", { client: "10.0.0.1:5555", bytes: 12, error: new Error("bad frame"), offset: 5n, nested: { a: [1, 2] } });
  log.debug("second\nline", { msg: "shadowed" });
  expect(lines).toHaveLength(2);
  for (const line of lines) expect(line.includes("\n")).toBe(false);
  const first = JSON.parse(lines[0]!);
  expect(first).toEqual({ time: expect.any(String), level: "warn", msg: "closing connection", client: "10.0.0.1:5555", bytes: 12, error: "bad frame", offset: "5", nested: { a: [1, 2] } });
  expect(Number.isNaN(Date.parse(first.time))).toBe(false);
  expect(JSON.parse(lines[1]!)).toEqual({ time: expect.any(String), level: "debug", msg: "second\nline", field_msg: "shadowed" });
});

test("the level threshold applies to json too; a cyclic context still logs one line", () => {
  setLogFormat("json");
  setLogLevel("warn");
  log.info("dropped");
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  log.error("cycle", { cyclic });
  expect(lines).toHaveLength(1);
  expect(JSON.parse(lines[0]!)).toMatchObject({ level: "error", msg: "cycle" });
});
