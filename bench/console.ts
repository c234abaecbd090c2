// Measures the web console (#18) against a gateway process (`bun src/main.ts --memory`):
// - the bytes a browser transfers to open it (gzip over HTTP, from the browser's resource timing) and each asset's
//   plain and gzip size;
// - time to first render of the overview: first contentful paint and the console's own mark once the overview's
//   plots are drawn (median of 5 cold loads);
// - the gateway's CPU (utime+stime from /proc) over 30 s at idle traffic, without browsers and with 5 headless
//   browsers watching the overview;
// - a 1 KiB produce benchmark (rdkafka_performance, acks=all; bench/setup.sh builds it) without and with the 5
//   browsers watching, 3 runs each, alternating.
// - the same produce benchmark with 5 event streams read by plain HTTP clients instead (the gateway's own cost,
//   without five browsers drawing plots on the same cores).
// Usage: bun bench/console.ts [sizes] [render] [cpu] [produce]   (default: all; needs /usr/bin/chromium,
// KGATE_CHROMIUM overrides)

import { spawn } from "bun";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Page } from "playwright-core";
import { assetSizes } from "../src/console/assets.ts";
import { parseProduce, produceArgs, runPerf } from "./lib.ts";

const CHROMIUM = process.env.KGATE_CHROMIUM ?? "/usr/bin/chromium";
const CPU_WINDOW_MS = 30_000;
const root = join(import.meta.dir, "..");
const ticksPerSecond = 100;

const gateway = spawn([process.execPath, ...(process.env.KGATE_BENCH_PRELOAD ? ["--preload", process.env.KGATE_BENCH_PRELOAD] : []), "src/main.ts", "--listen", "127.0.0.1:0", "--registry-listen", "127.0.0.1:0", "--memory"], { cwd: root, stdout: "pipe", stderr: "pipe" });
let output = "";
const reader = (stream: ReadableStream<Uint8Array>) => void (async () => {
  for await (const chunk of stream) output += new TextDecoder().decode(chunk);
})();
reader(gateway.stdout);
reader(gateway.stderr);
const deadline = Date.now() + 20_000;
while (!/schema registry up.*listen=\S+:(\d+)/.test(output) && Date.now() < deadline) await Bun.sleep(50);
const kafkaPort = Number(/kafka listener up.*listen=\S+:(\d+)/.exec(output)?.[1]);
const httpPort = Number(/schema registry up.*listen=\S+:(\d+)/.exec(output)?.[1]);
if (!kafkaPort || !httpPort) throw new Error(`the gateway did not start:\n${output}`);
const base = `http://127.0.0.1:${httpPort}`;
const bootstrap = `127.0.0.1:${kafkaPort}`;

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}
async function cpuPercentOver(ms: number): Promise<number> {
  const before = cpuSeconds(gateway.pid);
  await Bun.sleep(ms);
  return ((cpuSeconds(gateway.pid) - before) / (ms / 1000)) * 100;
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const phases = new Set(process.argv.slice(2).length > 0 ? process.argv.slice(2) : ["sizes", "render", "cpu", "produce"]);
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
try {
  // Sizes.
  if (phases.has("sizes")) {
  console.log("asset                bytes   gzip");
  for (const asset of assetSizes()) console.log(`${asset.name.padEnd(18)} ${String(asset.bytes).padStart(7)} ${String(asset.gzipBytes).padStart(6)}`);
  const total = assetSizes().reduce((sum, asset) => sum + asset.gzipBytes, 0);
  console.log(`total gzip ${total} B (${(total / 1024).toFixed(1)} KiB)`);
  }

  // First render, cold (a new context: no cache).
  if (phases.has("render")) {
  const firstPaint: number[] = [];
  const ready: number[] = [];
  let transferred = 0;
  for (let run = 0; run < 5; run++) {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${base}/ui/#/overview`);
    await page.locator("main > div[data-ready=true]").waitFor();
    const timing = await page.evaluate(() => ({
      fcp: performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? -1,
      ready: performance.getEntriesByName("kgate-first-page")[0]?.startTime ?? -1,
      transferred: [...performance.getEntriesByType("navigation"), ...performance.getEntriesByType("resource")].reduce((sum, entry) => sum + ((entry as PerformanceResourceTiming).transferSize || 0), 0),
    }));
    firstPaint.push(timing.fcp);
    ready.push(timing.ready);
    transferred = timing.transferred;
    await context.close();
  }
  console.log(`transferred to open the overview (HTML, CSS, JS, API answers before the event stream): ${transferred} B (${(transferred / 1024).toFixed(1)} KiB)`);
  console.log(`first contentful paint: median ${median(firstPaint).toFixed(0)} ms (${firstPaint.map((v) => v.toFixed(0)).join(", ")})`);
  console.log(`overview drawn (plots and cards): median ${median(ready).toFixed(0)} ms (${ready.map((v) => v.toFixed(0)).join(", ")})`);
  }

  // CPU at idle traffic.
  const pages: Page[] = [];
  if (phases.has("cpu")) {
  await Bun.sleep(6_000); // past the sampler's linger
  const idle = await cpuPercentOver(CPU_WINDOW_MS);
  for (let i = 0; i < 5; i++) {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${base}/ui/#/overview`);
    pages.push(page);
  }
  await Bun.sleep(3_000);
  const watched = await cpuPercentOver(CPU_WINDOW_MS);
  console.log(`gateway CPU over ${CPU_WINDOW_MS / 1000} s at idle traffic: ${idle.toFixed(2)}% of one core without browsers, ${watched.toFixed(2)}% with 5 browsers on the overview (+${(watched - idle).toFixed(2)})`);
  }

  // 1 KiB produce benchmark, with and without the browsers.
  const perf = join(root, "bench/out/rdkafka_performance");
  if (!phases.has("produce")) {
    // skipped
  } else if (!existsSync(perf)) console.log("produce benchmark skipped: bench/out/rdkafka_performance is missing (bash bench/setup.sh)");
  else {
    const produce = async () => {
      const run = await runPerf([...produceArgs(bootstrap, "console-bench", 1024, 300_000), "-X", "linger.ms=5"], 120_000);
      return parseProduce(run.stdout + run.stderr)?.msgsPerSec ?? NaN;
    };
    await produce(); // creates the topic, warms up
    const watching: number[] = [];
    const alone: number[] = [];
    for (let run = 0; run < 3; run++) {
      watching.push(await produce());
      for (const page of pages) await page.goto("about:blank");
      await Bun.sleep(6_000);
      alone.push(await produce());
      for (const page of pages) await page.goto(`${base}/ui/#/overview`);
      await Bun.sleep(2_000);
    }
    const loss = (1 - median(watching) / median(alone)) * 100;
    console.log(`1 KiB produce (acks=all): ${median(alone)} msgs/s alone (${alone.join(", ")}), ${median(watching)} msgs/s with 5 browsers watching (${watching.join(", ")}): ${loss.toFixed(1)}% loss`);
    for (const page of pages) await page.goto("about:blank");
    // The gateway's side alone: 5 event streams read by this process, no browser drawing.
    const streamed: number[] = [];
    const quiet: number[] = [];
    for (let run = 0; run < 3; run++) {
      await Bun.sleep(6_000);
      quiet.push(await produce());
      const aborts = Array.from({ length: 5 }, () => new AbortController());
      for (const abort of aborts) void fetch(`${base}/ui/api/events`, { signal: abort.signal }).then(async (response) => { for await (const _ of response.body!) {} }).catch(() => {});
      await Bun.sleep(2_000);
      streamed.push(await produce());
      for (const abort of aborts) abort.abort();
    }
    const streamLoss = (1 - median(streamed) / median(quiet)) * 100;
    console.log(`1 KiB produce (acks=all): ${median(quiet)} msgs/s alone (${quiet.join(", ")}), ${median(streamed)} msgs/s with 5 event streams read without a browser (${streamed.join(", ")}): ${streamLoss.toFixed(1)}% loss`);
  }
} finally {
  await browser.close();
  gateway.kill();
  await gateway.exited;
}
