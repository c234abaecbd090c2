// Kill -9 of the edge while its uplink forwards: the edge runs as a child process on a data folder with a link to a
// central kgate process; a kafkajs producer sends to the edge; once the central topic has grown in a cycle, the edge
// is killed with SIGKILL and started again, five times. At the end the last edge drains its backlog.
// - exactly-once: every record acknowledged at the edge is on the central topic once (read_committed), in order.
// - at-least-once: every acknowledged record is there, in order of first arrival, and the duplicates are no more than
//   the possible duplicates each restarted edge reported.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { startGatewayProcess, type GatewayProcess } from "../helpers/gateway-process.ts";
import { waitFor } from "../helpers/server.ts";
import { Central, createTopic, exactlyOnceInOrder, kafkaAt, ProduceLoop, readCentral, repoRoot, temporaryFolder } from "../e2e/uplink/rig.ts";
import type { LinkStatus } from "../../src/uplink/link.ts";

const CYCLES = 5;
let central: Central;

beforeAll(async () => {
  central = await Central.start();
});
afterAll(async () => {
  await central?.[Symbol.asyncDispose]();
});

async function startEdge(dataDir: string, link: string): Promise<GatewayProcess & { links(): Promise<LinkStatus[]> }> {
  const gateway = await startGatewayProcess(
    [process.execPath, "src/main.ts", "--data", dataDir, "--registry-listen", "127.0.0.1:0", "--edge-id", "crashy", "--uplink", link],
    { cwd: repoRoot },
  );
  let httpPort = 0;
  await waitFor(() => {
    const match = /schema registry up listen=[^\s]*:(\d+)/.exec(gateway.output());
    if (match) httpPort = Number(match[1]);
    return httpPort !== 0;
  });
  return Object.assign(gateway, { links: async () => ((await (await fetch(`http://127.0.0.1:${httpPort}/uplinks`)).json()) as { links: LinkStatus[] }).links });
}

async function centralEndOffsets(topic: string): Promise<number> {
  const admin = kafkaAt(central.gateway.bootstrap).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic).catch(() => []);
    return offsets.reduce((sum, partition) => sum + Number(partition.high), 0);
  } finally {
    await admin.disconnect();
  }
}

async function crashCycles(topic: string, delivery: string): Promise<{ acknowledged: string[]; outputs: string[] }> {
  const dataDir = temporaryFolder("edge-crash");
  const link = `central bootstrap.servers=${central.bootstrap} topics=${topic} create.remote.topics=true delivery=${delivery} request.timeout.ms=3000`;
  const acknowledged: string[] = [];
  const outputs: string[] = [];
  try {
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const edge = await startEdge(dataDir, link);
      if (cycle === 0) await createTopic(edge.bootstrap, topic, 2);
      const producer = new ProduceLoop(edge.bootstrap, topic, { partitions: 2, batchSize: 10, pauseMs: 2, tag: `c${cycle}`, firstSequence: cycle * 1_000_000 });
      const before = await centralEndOffsets(topic);
      // Killed once this cycle's edge has forwarded something and the producer has been acknowledged meanwhile.
      await waitFor(async () => producer.acknowledged.length > 50 && (await centralEndOffsets(topic)) > before, { timeoutMs: 60_000, intervalMs: 50 });
      edge.process.kill(9);
      await edge.finished();
      await producer.stop();
      acknowledged.push(...producer.acknowledged);
      outputs.push(edge.output());
    }
    // The last start drains what the kills left behind.
    await using edge = await startEdge(dataDir, link);
    await waitFor(async () => (await edge.links()).every((status) => status.state === "connected" && status.partitions.length === 2 && status.partitions.every((partition) => partition.lagRecords === 0)), { timeoutMs: 60_000, intervalMs: 100 });
    outputs.push(edge.output());
    return { acknowledged, outputs };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

test(`exactly-once: ${CYCLES} kill -9 cycles of the edge lose and duplicate nothing acknowledged`, async () => {
  const topic = "crash-eos";
  const { acknowledged } = await crashCycles(topic, "exactly-once");
  expect(acknowledged.length).toBeGreaterThan(CYCLES * 50);
  const records = await readCentral(central.gateway.bootstrap, topic, acknowledged.length);
  const check = exactlyOnceInOrder(acknowledged, records);
  expect(check.missing).toEqual([]);
  expect(check.duplicated).toEqual([]);
  expect(check.outOfOrder).toEqual([]);
}, 300_000);

test(`at-least-once: ${CYCLES} kill -9 cycles lose nothing; duplicates are within what the edge reported`, async () => {
  const topic = "crash-alo";
  const { acknowledged, outputs } = await crashCycles(topic, "at-least-once");
  const records = await readCentral(central.gateway.bootstrap, topic, acknowledged.length);
  const seen = new Map<string, number>();
  for (const record of records) seen.set(record.value, (seen.get(record.value) ?? 0) + 1);
  expect(acknowledged.filter((value) => !seen.has(value))).toEqual([]);
  const duplicates = [...seen.values()].reduce((sum, count) => sum + count - 1, 0);
  const reported = outputs.join("").matchAll(/possible duplicates\)[^\n]*records=(\d+)/g);
  const reportedTotal = [...reported].reduce((sum, match) => sum + Number(match[1]), 0);
  expect(duplicates).toBeLessThanOrEqual(reportedTotal);
  // First arrivals keep produce order within each partition.
  const arrived = new Set<string>();
  const firsts = [...records].sort((a, b) => a.partition - b.partition || a.offset - b.offset).filter((record) => !arrived.has(record.value) && arrived.add(record.value));
  expect(exactlyOnceInOrder([], firsts).outOfOrder).toEqual([]);
}, 300_000);
