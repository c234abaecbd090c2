// The console's sampler reads the gateway once per interval however many browsers watch, and not at all when none
// does (after a short linger); every subscriber gets the same event bytes.

import { expect, test } from "bun:test";
import { limits, parseConfig } from "../config.ts";
import { Broker } from "../broker.ts";
import { ANONYMOUS_PRINCIPAL } from "../security/sasl.ts";
import { InProcessClient } from "./in-process-client.ts";
import { Sampler } from "./sampler.ts";

function sampler() {
  const broker = new Broker({ ...parseConfig(["--listen", "127.0.0.1:0", "--memory"], {})!, dataDir: null });
  const client = new InProcessClient(broker, ANONYMOUS_PRINCIPAL);
  let statusCalls = 0;
  const counting = { version: client.version.bind(client), call: (apiKey: number, version: number, body: object) => (apiKey === 3 && statusCalls++, client.call(apiKey, version, body)) };
  const instance = new Sampler({ broker, version: "test", startedAtMs: Date.now(), listeners: () => ["PLAINTEXT"], client: counting, lingerMs: 50 });
  return { broker, instance, statusCalls: () => statusCalls };
}

test("one read per interval for five subscribers, the same event bytes to each, none once they all left", async () => {
  const { broker, instance, statusCalls } = sampler();
  try {
    expect(statusCalls()).toBe(0);
    const received: Uint8Array[][] = [];
    const unsubscribes = Array.from({ length: 5 }, (_, i) => {
      received[i] = [];
      return instance.subscribe((event) => received[i]!.push(event))!;
    });
    await Bun.sleep(limits.consoleSampleIntervalMs * 2 + 300);
    const samples = instance.samplesTaken;
    expect(samples).toBeGreaterThanOrEqual(2);
    expect(samples).toBeLessThanOrEqual(4);
    expect(statusCalls()).toBe(samples); // one Metadata per sample, not one per subscriber
    const last = received.map((events) => events[events.length - 1]);
    for (const event of last) expect(event).toBe(last[0]!); // the same bytes, serialized once
    expect(new TextDecoder().decode(received[0]![0]!)).toStartWith("event: history\n");
    for (const unsubscribe of unsubscribes) unsubscribe();
    await Bun.sleep(200);
    const stoppedAt = instance.samplesTaken;
    await Bun.sleep(limits.consoleSampleIntervalMs + 200);
    expect(instance.samplesTaken).toBe(stoppedAt);
    expect(instance.subscriberCount).toBe(0);
  } finally {
    instance.stop();
    broker.close();
  }
});

test("refuses a subscriber beyond consoleSubscribersMax", () => {
  const { broker, instance } = sampler();
  try {
    const unsubscribes = Array.from({ length: limits.consoleSubscribersMax }, () => instance.subscribe(() => {}));
    expect(unsubscribes.every((unsubscribe) => unsubscribe !== null)).toBe(true);
    expect(instance.subscribe(() => {})).toBeNull();
  } finally {
    instance.stop();
    broker.close();
  }
});
