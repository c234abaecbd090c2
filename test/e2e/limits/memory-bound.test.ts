// A client that pipelines Fetch requests for megabytes of records and never reads a byte of the answers: the gateway
// (a separate process, so its RSS is its own) must stop reading that connection once pendingWriteBytesMax of answers
// wait, keep serving others, and its memory must stay bounded. Unbounded, the 400 answers of ~3.5 MiB would be 1.4 GB.

import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
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

test("a client that never reads its responses is paused and the gateway's RSS stays bounded", async () => {
  await using gateway = await startGatewayProcess(
    [process.execPath, "src/main.ts", "--memory", "--registry-listen", "127.0.0.1:0", "--pending-write-bytes-max", String(4 << 20)],
    { cwd: repoRoot },
  );
  await waitFor(() => /schema registry up listen=\S+:\d+/.test(gateway.output()));
  const metricsUrl = `http://${/schema registry up listen=(\S+:\d+)/.exec(gateway.output())![1]}/metrics`;

  // 4 batches of ~900 KB in one partition.
  const producer = await RawClient.connect(gateway.port);
  const value = new Uint8Array(900 * 1024).fill(120);
  for (let i = 0; i < 4; i++) {
    const records = buildRecordBatch({ records: [{ key: null, value, timestamp: Date.now() }] });
    const body = await producer.call(0, 9, { transactionalId: null, acks: -1, timeoutMs: 5_000, topicData: [{ name: "never-read", partitionData: [{ index: 0, records }] }] });
    expect(body.responses[0].partitionResponses[0].errorCode).toBe(0);
  }
  producer.close();
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
