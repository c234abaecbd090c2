// What an operator sees of a link: /uplinks (JSON), `kgate status` (tables, or --json) and /metrics, while the
// central cluster is down (state backing-off with the last error, lag growing) and once it is back (connected,
// lag 0, forwarded offsets at the log end), and a pull's copied records.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { runStatus } from "../../../src/cli/status.ts";
import { waitFor } from "../../helpers/server.ts";
import { Central, createTopic, kafkaAt, startEdge, waitForwarded } from "./rig.ts";

let central: Central;

beforeAll(async () => {
  central = await Central.start();
});
afterAll(async () => {
  await central?.[Symbol.asyncDispose]();
});

async function status(bootstrap: string, http: string, json: boolean): Promise<string> {
  let out = "";
  const code = await runStatus(["--bootstrap", bootstrap, "--http", http, ...(json ? ["--json"] : [])], {}, (text) => (out += text), (text) => (out += text));
  expect(code).toBe(0);
  return out;
}

test("state, last error, lag in records, bytes and seconds, forwarded offsets and throughput in /uplinks, kgate status and /metrics", async () => {
  central.proxy.cut();
  await using edge = await startEdge([`central bootstrap.servers=${central.bootstrap} topics=events create.remote.topics=true pull.topics=commands request.timeout.ms=2000`], { extraArgs: ["--registry-listen", "127.0.0.1:0"] });
  const http = `http://127.0.0.1:${edge.registry!.server.port}`;
  await createTopic(edge.bootstrap, "events", 2);
  const producer = kafkaAt(edge.bootstrap).producer();
  await producer.connect();
  await producer.send({ topic: "events", acks: -1, messages: Array.from({ length: 40 }, (_, i) => ({ partition: i % 2, value: `e${i}` })) });

  await waitFor(() => edge.links()[0]!.state === "backing-off", { timeoutMs: 10_000 });
  await Bun.sleep(1_100);
  const down = (await (await fetch(`${http}/uplinks`)).json()) as { edgeId: string; links: any[] };
  expect(down.edgeId).toBe("edge1");
  expect(down.links[0].state).toBe("backing-off");
  expect(down.links[0].lastError).toContain(central.bootstrap);
  expect(down.links[0].partitions.map((p: any) => [p.partition, p.forwardedOffset, p.lagRecords])).toEqual([
    [0, 0, 20],
    [1, 0, 20],
  ]);
  expect(down.links[0].partitions.every((p: any) => p.lagBytes > 0 && p.lagSeconds >= 1)).toBe(true);
  const table = await status(edge.bootstrap, http, false);
  expect(table).toContain("uplinks of edge edge1");
  expect(table).toMatch(/link central {2}backing-off for \d+ s {2}(auto|exactly-once) .*last error: /);
  expect(table).toMatch(/events\s+0\s+events\s+0\s+20\s+20/);
  const metricsDown = await (await fetch(`${http}/metrics`)).text();
  expect(metricsDown).toContain('kgate_uplink_state{link="central",state="backing-off"} 1');
  expect(metricsDown).toContain('kgate_uplink_lag_records{link="central",topic="events",partition="0"} 20');

  central.proxy.pass();
  await createTopic(central.gateway.bootstrap, "commands", 1);
  const commands = kafkaAt(central.gateway.bootstrap).producer();
  await commands.connect();
  await commands.send({ topic: "commands", acks: -1, messages: Array.from({ length: 5 }, (_, i) => ({ value: `c${i}` })) });
  await commands.disconnect();
  await waitForwarded(edge.links);
  await waitFor(() => edge.uplink!.status().pulls[0]?.copiedRecords === 5, { timeoutMs: 20_000 });
  const pullTable = await status(edge.bootstrap, http, false);
  expect(pullTable).toMatch(/pull central {2}connected for \d+ s {2}copied 5 {2}skipped 0/);
  expect(pullTable).toMatch(/commands\s+0\s+commands\s+5\s+5\s+0\s+5\s+0/);
  const up = JSON.parse(await status(edge.bootstrap, http, true));
  expect(up.uplinks.links[0].state).toBe("connected");
  expect(up.uplinks.links[0].delivery).toBe("exactly-once");
  expect(up.uplinks.links[0].partitions.map((p: any) => [p.forwardedOffset, p.logEndOffset, p.lagRecords, p.lagSeconds])).toEqual([
    [20, 20, 0, 0],
    [20, 20, 0, 0],
  ]);
  const metricsUp = await (await fetch(`${http}/metrics`)).text();
  expect(metricsUp).toContain('kgate_uplink_state{link="central",state="connected"} 1');
  expect(metricsUp).toContain('kgate_uplink_forwarded_offset{link="central",topic="events",partition="1"} 20');
  expect(metricsUp).toMatch(/kgate_uplink_forwarded_records_total\{link="central",topic="events",partition="0"\} 20/);
  await producer.disconnect();
}, 60_000);
