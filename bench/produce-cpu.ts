// Gateway CPU per uncompressed byte of Produce and produce throughput, for each codec relative to uncompressed, in one
// run: a kgate child process (`bun src/main.ts --memory`) receives pipelined Produce v9 requests (acks=1, one ~1 MiB-
// uncompressed batch of 1 KiB JSON-like records each, pre-built) from a raw client here; its CPU time comes from
// /proc/PID/stat.
// `bun bench/produce-cpu.ts [requests per codec, default 300]`

import { readFileSync } from "node:fs";
import { Compression, buildRecordBatch } from "../src/protocol/records/record-batch.ts";
import { requestFrame } from "../test/helpers/raw-client.ts";
import { connectPipelined } from "./pipelined-client.ts";
import { startGatewayProcess } from "../test/helpers/gateway-process.ts";

const REQUESTS = Number(process.argv[2] ?? 300);
const IN_FLIGHT = 8;
const encoder = new TextEncoder();
const records = Array.from({ length: 1000 }, (_, i) => {
  const fields: Record<string, unknown> = { id: i, user: `user-${i % 97}`, event: ["click", "view", "buy"][i % 3], ts: 1764000000000 + i };
  for (let f = 0; JSON.stringify(fields).length < 1000; f++) fields[`field${f}`] = `value-${(i * 31 + f) % 1013}`;
  return { key: encoder.encode(`key-${i}`), value: encoder.encode(JSON.stringify(fields).slice(0, 1024)), timestamp: Date.now() };
});
const uncompressedBytes = buildRecordBatch({ records }).length;
const ticksPerSecond = 100; // getconf CLK_TCK on Linux

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond; // utime + stime
}

await using gateway = await startGatewayProcess([process.execPath, "src/main.ts", "--memory"]);
const client = await connectPipelined(gateway.port);
// Codecs interleaved over ROUNDS rounds (the machine is shared and noisy); each codec's median round is reported.
const ROUNDS = 7;
const perRound = Math.max(1, Math.round(REQUESTS / ROUNDS));
let correlationId = 1;
const codecs = Object.entries(Compression).map(([name, compression]) => {
  const batch = buildRecordBatch({ records, compression });
  const body = { acks: 1, timeoutMs: 5000, topicData: [{ name: `bench-${name}`, partitionData: [{ index: 0, records: batch }] }] };
  return { name, wireBytes: batch.length, body, cpuMsPerMB: [] as number[], throughputMBps: [] as number[] };
});
for (const codec of codecs) {
  client.write(requestFrame(0, 9, correlationId++, codec.body));
  await client.nextResponse(); // auto-creates the topic, warms up
}
for (let round = 0; round < ROUNDS; round++) {
  for (const codec of codecs) {
    const before = cpuSeconds(gateway.process.pid);
    const startedMs = performance.now();
    let sent = 0;
    let received = 0;
    while (received < perRound) {
      while (sent < perRound && sent - received < IN_FLIGHT) {
        client.write(requestFrame(0, 9, correlationId++, codec.body));
        sent++;
      }
      if (!(await client.nextResponse())) throw new Error("no response");
      received++;
    }
    const cpu = cpuSeconds(gateway.process.pid) - before;
    codec.cpuMsPerMB.push((cpu * 1000) / ((perRound * uncompressedBytes) / 1e6));
    codec.throughputMBps.push((perRound * uncompressedBytes) / 1e6 / ((performance.now() - startedMs) / 1000));
  }
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const results = codecs.map((codec) => ({ ...codec, cpuMsPerMB: median(codec.cpuMsPerMB), throughputMBps: median(codec.throughputMBps) }));
client.close();
const baseline = results[0]!.cpuMsPerMB;
console.log(`${REQUESTS} Produce v9 requests per codec, ${uncompressedBytes} bytes uncompressed each; gateway CPU (user+system); Bun ${Bun.version}`);
const baselineThroughput = results[0]!.throughputMBps;
for (const { name, cpuMsPerMB, wireBytes, throughputMBps } of results) {
  console.log(
    `${name.padEnd(6)} wire ${String(wireBytes).padStart(8)} B  ${cpuMsPerMB.toFixed(3)} CPU-ms per uncompressed MB (${(cpuMsPerMB / baseline).toFixed(2)}x uncompressed)  ` +
      `${throughputMBps.toFixed(0).padStart(5)} uncompressed MB/s (${(throughputMBps / baselineThroughput).toFixed(2)}x)`,
  );
}
