// Clients that pipeline Fetch requests for megabytes of records and never read a byte of the answers: the gateway
// (a separate process, so its RSS is its own) must stop reading such a connection once pendingWriteBytesMax of
// answers wait, hold no more than its memory budget over all of them, close the ones that stall it, keep serving
// others, and its memory must stay bounded. Unbounded, 400 answers of ~3.5 MiB would be 1.4 GB.

import { expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildRecordBatch } from "../../../src/protocol/records/record-batch.ts";
import { RawClient, decodeResponse, requestFrame } from "../../helpers/raw-client.ts";
import { startGatewayProcess } from "../../helpers/gateway-process.ts";
import { waitFor } from "../../helpers/server.ts";

const repoRoot = join(import.meta.dir, "../../..");

function rssBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(match![1]) * 1024;
}

/** The /metrics address of a gateway started with `--registry-listen 127.0.0.1:0`, once it is up. */
async function metricsUrlOf(gateway: { output(): string }): Promise<string> {
  await waitFor(() => /schema registry up listen=\S+:\d+/.test(gateway.output()));
  return `http://${/schema registry up listen=(\S+:\d+)/.exec(gateway.output())![1]}/metrics`;
}

/** Produces `count` batches of one ~900 KB record to partition 0 of `topic`, acks=all, each acknowledged. */
async function produceLargeBatches(port: number, topic: string, count: number): Promise<void> {
  const producer = await RawClient.connect(port);
  const value = new Uint8Array(900 * 1024).fill(120);
  for (let i = 0; i < count; i++) {
    const records = buildRecordBatch({ records: [{ key: null, value, timestamp: Date.now() }] });
    const body = await producer.call(0, 9, { transactionalId: null, acks: -1, timeoutMs: 5_000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] });
    expect(body.responses[0].partitionResponses[0].errorCode).toBe(0);
  }
  producer.close();
}

test("a client that never reads its responses is paused and the gateway's RSS stays bounded", async () => {
  await using gateway = await startGatewayProcess(
    [process.execPath, "src/main.ts", "--memory", "--registry-listen", "127.0.0.1:0", "--pending-write-bytes-max", String(4 << 20)],
    { cwd: repoRoot },
  );
  const metricsUrl = await metricsUrlOf(gateway);
  // 4 batches of ~900 KB in one partition.
  await produceLargeBatches(gateway.port, "never-read", 4);
  await Bun.sleep(200);
  Bun.gc(true);
  const rssBefore = rssBytes(gateway.process.pid);

  // The flooder pauses its own socket at once: nothing it is sent is ever read.
  const flooder = await Bun.connect({ hostname: "127.0.0.1", port: gateway.port, socket: { open: (socket) => socket.pause(), data() {} } });
  flooder.pause();
  const maxBytes = 4 << 20;
  const frames: Uint8Array[] = [];
  for (let id = 1; id <= 400; id++) {
    frames.push(requestFrame(1, 4, id, { replicaId: -1, maxWaitMs: 0, minBytes: 1, maxBytes, isolationLevel: 0, topics: [{ topic: "never-read", partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: maxBytes }] }] }));
  }
  const flood = Buffer.concat(frames);
  let written = 0;
  for (let attempt = 0; attempt < 200 && written < flood.length; attempt++) {
    written += Math.max(0, flooder.write(flood.subarray(written)));
    await Bun.sleep(10);
  }

  const scrape = async () => await (await fetch(metricsUrl)).text();
  await waitFor(async () => /kgate_connection_read_pauses_total\{reason="pending_writes"\} [1-9]/.test(await scrape()), { timeoutMs: 10_000 });
  let rssPeak = 0;
  for (let i = 0; i < 10; i++) {
    rssPeak = Math.max(rssPeak, rssBytes(gateway.process.pid));
    await Bun.sleep(100);
  }
  const text = await scrape();
  expect(text).toMatch(/kgate_connections_paused 1\b/);
  // A well-behaved client is served meanwhile.
  const other = await RawClient.connect(gateway.port);
  other.write(requestFrame(18, 3, 9, {}));
  const answer = await other.nextFrame(5_000);
  expect(answer).not.toBeNull();
  expect(decodeResponse(18, 3, answer!).correlationId).toBe(9);
  other.close();

  const growth = rssPeak - rssBefore;
  console.log(`gateway RSS before ${(rssBefore / 2 ** 20).toFixed(1)} MiB, peak while flooded ${(rssPeak / 2 ** 20).toFixed(1)} MiB`);
  // 4 MiB of unsent answers, one answer being written, kernel buffers and GC slack: far below the unbounded 1.4 GB.
  expect(growth).toBeLessThan(64 * 2 ** 20);
  flooder.end();
}, 40_000);

test("connections that never read their answers hold at most the memory budget, and are closed once they stall it", async () => {
  // The default store (the file log), a 16 MiB budget, and stalled writers closed after 1 s once it is exhausted.
  const dataDir = mkdtempSync(join(tmpdir(), "kgate-budget-"));
  await using gateway = await startGatewayProcess(
    [process.execPath, "src/main.ts", "--data", dataDir, "--registry-listen", "127.0.0.1:0", "--buffer-memory-max", String(16 << 20), "--stalled-writer-ms", "1000"],
    { cwd: repoRoot },
  );
  try {
    const metricsUrl = await metricsUrlOf(gateway);
    const scrape = async () => await (await fetch(metricsUrl)).text();
    const gauge = (text: string, name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)`, "m").exec(text)?.[1] ?? NaN);

    await produceLargeBatches(gateway.port, "unread-budget", 8);
    await Bun.sleep(200);
    const rssBefore = rssBytes(gateway.process.pid);

    // Four flooders, each pipelining 200 Fetches of up to 8 MiB and Metadata requests, reading nothing.
    const flooders = await Promise.all(
      [0, 1, 2, 3].map(() => Bun.connect({ hostname: "127.0.0.1", port: gateway.port, socket: { open: (socket) => socket.pause(), data() {} } })),
    );
    const maxBytes = 8 << 20;
    const frames: Uint8Array[] = [];
    for (let id = 1; id <= 200; id++) {
      frames.push(requestFrame(1, 4, id, { replicaId: -1, maxWaitMs: 0, minBytes: 1, maxBytes, isolationLevel: 0, topics: [{ topic: "unread-budget", partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: maxBytes }] }] }));
      frames.push(requestFrame(3, 12, 10_000 + id, { topics: null, allowAutoTopicCreation: false }));
    }
    const flood = Buffer.concat(frames);
    for (const flooder of flooders) {
      flooder.pause();
      flooder.write(flood);
    }

    // The budget fills, reading stops everywhere, and what is held never goes past the budget plus one batch.
    let heldPeak = 0;
    let rssPeak = 0;
    let closedStalled = 0;
    const watchUntil = performance.now() + 15_000;
    while (performance.now() < watchUntil) {
      const text = await scrape();
      heldPeak = Math.max(heldPeak, gauge(text, "kgate_buffer_memory_bytes"));
      rssPeak = Math.max(rssPeak, rssBytes(gateway.process.pid));
      closedStalled = gauge(text, 'kgate_connections_closed_by_broker_total\\{reason="stalled_writer"\\}');
      if (closedStalled >= 1 && /kgate_connection_read_pauses_total\{reason="memory_budget"\} [1-9]/.test(text)) break;
      await Bun.sleep(100);
    }
    expect(closedStalled).toBeGreaterThanOrEqual(1);
    expect(heldPeak).toBeGreaterThan(8 << 20);
    expect(heldPeak).toBeLessThanOrEqual((16 << 20) + (1 << 20));

    // Once the stalled writers are gone, a well-behaved client is read and answered again.
    const other = await RawClient.connect(gateway.port);
    const metadata = await other.call(3, 12, { topics: [{ name: "unread-budget" }], allowAutoTopicCreation: false }, 20_000);
    expect(metadata.topics[0].errorCode).toBe(0);
    other.close();

    const growth = rssPeak - rssBefore;
    console.log(`gateway RSS before ${(rssBefore / 2 ** 20).toFixed(1)} MiB, peak while flooded ${(rssPeak / 2 ** 20).toFixed(1)} MiB, budget held at most ${(heldPeak / 2 ** 20).toFixed(1)} MiB`);
    // Unbounded, 4 × 200 answers of ~7 MiB would be 5.6 GB; per-connection limits alone, 4 × 64 MiB. Here: the
    // budget (16 MiB), idle read slabs (readSlabPoolBytesMax, 16 MiB), and the code and heap the new paths warmed.
    expect(growth).toBeLessThan(56 * 2 ** 20);
    for (const flooder of flooders) flooder.end();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 60_000);
