import { expect, test } from "bun:test";
import { QuotaManager, userOf } from "./quota-manager.ts";
import { QuotaStore } from "./quota-store.ts";

const rate = (value: number) => new Map([["producer_byte_rate" as const, value]]);

test("the most specific quota wins, in Kafka's order, and defaults apply to each user or client separately", () => {
  const store = new QuotaStore(null);
  const manager = new QuotaManager(store, { windowMs: 1_000, windowCount: 11 });
  store.alter({ "client-id": null }, rate(8), new Set());
  expect(manager.resolve("produce", "bob", "app")).toEqual({ quota: 8, sensorKey: "produce\u0000\u0000app" });
  store.alter({ "client-id": "app" }, rate(7), new Set());
  expect(manager.resolve("produce", "bob", "app")!.quota).toBe(7);
  store.alter({ user: null }, rate(6), new Set());
  expect(manager.resolve("produce", "bob", "app")).toEqual({ quota: 6, sensorKey: "produce\u0000bob\u0000" });
  store.alter({ user: null, "client-id": null }, rate(5), new Set());
  expect(manager.resolve("produce", "bob", "app")!.quota).toBe(5);
  store.alter({ user: null, "client-id": "app" }, rate(4), new Set());
  expect(manager.resolve("produce", "bob", "app")!.quota).toBe(4);
  store.alter({ user: "bob" }, rate(3), new Set());
  expect(manager.resolve("produce", "bob", "app")!.quota).toBe(3);
  store.alter({ user: "bob", "client-id": null }, rate(2), new Set());
  expect(manager.resolve("produce", "bob", "app")!.quota).toBe(2);
  store.alter({ user: "bob", "client-id": "app" }, rate(1), new Set());
  expect(manager.resolve("produce", "bob", "app")).toEqual({ quota: 1, sensorKey: "produce\u0000bob\u0000app" });
  // Fetch has none of these.
  expect(manager.resolve("fetch", "bob", "app")).toBeNull();
  expect(userOf("User:ANONYMOUS")).toBe("ANONYMOUS");
});

test("clients sharing a client-id quota share its rate; each client under a default has its own", () => {
  const store = new QuotaStore(null);
  const manager = new QuotaManager(store, { windowMs: 1_000, windowCount: 11 });
  store.alter({ "client-id": "shared" }, rate(1_000), new Set());
  store.alter({ "client-id": null }, rate(1_000), new Set());
  // 10 s padded window: 10 kB is exactly the quota, anything more throttles.
  expect(manager.record("produce", "User:a", "shared", 10_000, 0)).toBe(0);
  expect(manager.record("produce", "User:b", "shared", 5_000, 0)).toBe(5_000);
  expect(manager.record("produce", "User:a", "one", 10_000, 0)).toBe(0);
  expect(manager.record("produce", "User:a", "two", 10_000, 0)).toBe(0);
});
