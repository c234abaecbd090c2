#!/usr/bin/env bun
// The interoperability matrix: every installed real client × every scenario, against the compiled gateway.
//
// Each cell gets its own gateway (dist/kgate, --data in a fresh folder) behind a recording proxy (proxy.ts) that the
// gateway advertises, so every connection of the client, bootstrap or not, passes through it and the runner learns
// which API keys and versions the client sent. A client program (clients/) runs one scenario, checks what it
// claims, and ends with one line: `PASS`, `NS: <reason>` (the client cannot do this at all) or `FAIL: <reason>`.
// The restart scenario prints `RESTART` and waits for `RESTARTED` on stdin while the runner restarts the gateway.
// In the uplink scenario the gateway is an edge whose uplink forwards `uplink-*` topics to a second gateway, the
// central one, behind its own recording proxy; the program gets that proxy's address as a third argument.
//
// Usage: bun interop/run.ts [--no-build] [--no-readme] [--only client[/scenario],...] [--jobs N] [--binary PATH]
// (--only and --binary leave the README alone.)
// Exit status: non-zero for a failed cell not in `expectedFailures` (allowed.ts). A cell fails on `FAIL:`, a time-out,
// a `PASS` with a non-zero exit code, an `NS:` from a cell not in `notSupported` (allowed.ts) or with a non-zero exit
// code, and on any gateway ERROR or WARN line that `expectedGatewayLines` (allowed.ts) does not list for it.

import { spawn } from "bun";
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { apiTable } from "../src/protocol/messages/index.ts";
import { ensureBinary, startGatewayProcess, type GatewayProcess } from "../test/helpers/gateway-process.ts";
import { expectedFailures, expectedGatewayLines, notSupported, type ExpectedGatewayLine } from "./allowed.ts";
import { RecordingProxy } from "./proxy.ts";

const interopDir = import.meta.dir;
const repoRoot = join(interopDir, "..");
const buildDir = join(interopDir, ".build");

const scenarios = ["basic", "admin", "group", "compression", "large", "versions", "restart", "idempotent", "transactions", "uplink"] as const;
type Scenario = (typeof scenarios)[number];

interface Client {
  name: string;
  /** What the matrix row says about the client's version. */
  label: string;
  command: (scenario: Scenario, bootstrap: string) => string[];
  /** Why the client cannot run here, or null. */
  missing: () => string | null;
  /** Built before the cells run (Go programs). */
  build?: () => Promise<string | null>;
  /** Scenarios this client can only do through a consumer group (kafkajs has no assign-style consumer). */
  consumesThroughGroup?: Scenario[];
}

const bun = process.execPath;
const python = "/usr/bin/python3";

function goClient(name: string, label: string, debPackage: string): Client {
  const binary = join(buildDir, name);
  return {
    name,
    label,
    command: (scenario, bootstrap) => [binary, scenario, bootstrap],
    missing: () => (existsSync("/usr/bin/go") ? (existsSync(`/usr/share/doc/${debPackage}`) ? null : `${debPackage} not installed (interop/install.sh)`) : "golang-go not installed (interop/install.sh)"),
    build: async () => {
      const child = spawn(["go", "build", "-o", binary, "."], {
        cwd: join(interopDir, "clients", name),
        env: { ...process.env, GOPATH: "/usr/share/gocode", GO111MODULE: "off", GOFLAGS: "" },
        stdout: "pipe",
        stderr: "pipe",
      });
      if ((await child.exited) === 0) return null;
      return `go build failed: ${(await new Response(child.stderr).text()).trim().split("\n").slice(0, 3).join(" ")}`;
    },
  };
}

const clients: Client[] = [
  {
    name: "kafkajs",
    label: "kafkajs 2.2.4 (npm, under Bun)",
    command: (scenario, bootstrap) => [bun, join(interopDir, "clients/kafkajs.ts"), scenario, bootstrap],
    missing: () => null,
    consumesThroughGroup: ["basic", "compression", "large", "versions", "restart", "idempotent", "transactions"],
  },
  {
    name: "platformatic",
    label: "@platformatic/kafka 2.x (npm, under Bun)",
    command: (scenario, bootstrap) => [bun, join(interopDir, "clients/platformatic.ts"), scenario, bootstrap],
    missing: () => null,
  },
  {
    name: "node-rdkafka",
    label: "node-rdkafka 3.x on Debian's librdkafka 2.0.2 (under Node.js)",
    command: (scenario, bootstrap) => ["node", join(interopDir, "clients/node-rdkafka.mjs"), scenario, bootstrap],
    missing: () =>
      existsSync(join(interopDir, "node_modules/node-rdkafka/build/Release/node-librdkafka.node")) ? null : "node-rdkafka not built (interop/install.sh)",
  },
  {
    name: "kcat",
    label: "kcat 1.7.1, librdkafka 2.0.2 (Debian)",
    command: (scenario, bootstrap) => [bun, join(interopDir, "clients/kcat.ts"), scenario, bootstrap],
    missing: () => (existsSync("/usr/bin/kcat") ? null : "kcat not installed (interop/install.sh)"),
  },
  {
    name: "confluent-kafka-python",
    label: "confluent-kafka-python 1.7.0, librdkafka 2.0.2 (Debian)",
    command: (scenario, bootstrap) => [python, join(interopDir, "clients/confluent_kafka_client.py"), scenario, bootstrap],
    missing: () => (existsSync("/usr/lib/python3/dist-packages/confluent_kafka") ? null : "python3-confluent-kafka not installed (interop/install.sh)"),
  },
  {
    name: "kafka-python",
    label: "kafka-python 2.0.2 (Debian)",
    command: (scenario, bootstrap) => [python, join(interopDir, "clients/kafka_python_client.py"), scenario, bootstrap],
    missing: () => (existsSync("/usr/lib/python3/dist-packages/kafka") ? null : "python3-kafka not installed (interop/install.sh)"),
  },
  goClient("sarama", "Sarama 1.22.1 (Debian, Go 1.19)", "golang-github-shopify-sarama-dev"),
  goClient("kafka-go", "kafka-go 0.2.1 (Debian, Go 1.19)", "golang-github-segmentio-kafka-go-dev"),
];

/**
 * Seconds a cell may take before it is killed and reported as a timeout. Cells run three at a time, on CI on two
 * cores: about twice what the slowest client's own waits add up to, so that only a hang reaches it.
 */
const cellTimeoutSeconds: Record<Scenario, number> = {
  basic: 90,
  admin: 60,
  group: 120,
  compression: 90,
  large: 120,
  versions: 90,
  restart: 90,
  idempotent: 90,
  transactions: 120,
  uplink: 90,
};

// APIs a scenario cannot do without. When a cell fails and one of these is not advertised, that is named as the cause
// (librdkafka, for one, never sends an API the broker does not advertise: it just waits).
const scenarioNeeds: Partial<Record<Scenario, { keys: number[]; issue: number }>> = {
  group: { keys: [10, 11, 14, 12, 13, 8, 9], issue: 4 },
  idempotent: { keys: [22], issue: 8 },
  transactions: { keys: [22, 24, 25, 26, 28], issue: 8 },
};

const apiIssue: Record<number, number> = {
  8: 4, 9: 4, 10: 4, 11: 4, 12: 4, 13: 4, 14: 4, 15: 4, 16: 4, 42: 4, 47: 4,
  32: 3, 33: 3, 37: 3, 21: 3, 44: 3,
  22: 8, 24: 8, 25: 8, 26: 8, 28: 8,
  17: 9, 36: 9, 29: 9, 30: 9, 31: 9,
};

interface Advertised {
  minVersion: number;
  maxVersion: number;
}

type Status = "pass" | "fail" | "n/s";

interface CellResult {
  client: string;
  scenario: Scenario;
  status: Status;
  reason: string;
  seconds: number;
  requests: Map<string, number>;
  /** ERROR and WARN lines the gateways logged during the cell, each with the allowed.ts entry that expects it. */
  gatewayLines?: { line: string; expected: ExpectedGatewayLine | undefined }[];
  /** Printed, not a failure: an n/s cell whose NS line differs from its allowed.ts entry. */
  note?: string;
}

function cellMatches(pattern: string, client: string, scenario: string): boolean {
  const [patternClient, patternScenario] = pattern.split("/");
  return (patternClient === "*" || patternClient === client) && (patternScenario === "*" || patternScenario === scenario);
}

function expectedGatewayLine(client: string, scenario: string, line: string): ExpectedGatewayLine | undefined {
  return expectedGatewayLines.find((entry) => cellMatches(entry.cell, client, scenario) && entry.line.test(line));
}

function apiName(apiKey: number): string {
  return apiTable[apiKey]?.name ?? `ApiKey${apiKey}`;
}

/** Asks the gateway for its ApiVersions (v0, the form every broker answers). */
async function fetchAdvertised(port: number): Promise<Map<number, Advertised>> {
  const clientId = new TextEncoder().encode("interop");
  const request = new Uint8Array(4 + 2 + 2 + 4 + 2 + clientId.length);
  const view = new DataView(request.buffer);
  view.setInt32(0, request.length - 4);
  view.setInt16(4, 18);
  view.setInt16(6, 0);
  view.setInt32(8, 1);
  view.setInt16(12, clientId.length);
  request.set(clientId, 14);
  let received = new Uint8Array(0);
  const done = Promise.withResolvers<void>();
  const socket = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      data(_socket, chunk) {
        const joined = new Uint8Array(received.length + chunk.length);
        joined.set(received);
        joined.set(chunk, received.length);
        received = joined;
        if (received.length >= 4 && received.length >= 4 + new DataView(received.buffer).getInt32(0)) done.resolve();
      },
      close() {
        done.resolve();
      },
    },
  });
  socket.write(request);
  await Promise.race([done.promise, Bun.sleep(30_000)]);
  socket.end();
  if (received.length < 14) throw new Error(`the gateway did not answer ApiVersions (${received.length} bytes)`);
  const response = new DataView(received.buffer);
  const advertised = new Map<number, Advertised>();
  const count = response.getInt32(10);
  for (let i = 0, at = 14; i < count; i++, at += 6) {
    advertised.set(response.getInt16(at), { minVersion: response.getInt16(at + 2), maxVersion: response.getInt16(at + 4) });
  }
  return advertised;
}

const groupKeys = [10, 11, 14, 12, 13, 8, 9];

/**
 * What the recorded requests (and the client's own words) show the gateway could not serve, worded for a matrix
 * cell. Only called for failed cells.
 */
function gaps(requests: Map<string, number>, advertised: Map<number, Advertised>, scenario: Scenario, client: Client, said: string, gatewayLog: string): string[] {
  const found: string[] = [];
  const byKey = new Map<number, number[]>();
  for (const key of requests.keys()) {
    const [apiKey, apiVersion] = key.split("/").map(Number) as [number, number];
    byKey.set(apiKey, [...(byKey.get(apiKey) ?? []), apiVersion]);
  }
  for (const [apiKey, versions] of [...byKey].sort((a, b) => a[0] - b[0])) {
    const range = advertised.get(apiKey);
    const issue = apiIssue[apiKey] ? ` (#${apiIssue[apiKey]})` : "";
    const list = versions.sort((a, b) => a - b).map((v) => `v${v}`).join("/");
    if (!range) found.push(`sent ${apiName(apiKey)} ${list}, not served yet${issue}`);
    else if (versions.some((v) => v < range.minVersion || v > range.maxVersion)) {
      const legacy = apiKey === 1 && versions.some((v) => v < 4) ? ": legacy message format, #5" : "";
      found.push(`sent ${apiName(apiKey)} ${list}, outside served ${range.minVersion}–${range.maxVersion}${legacy}`);
    }
  }
  // The scenario's own needs, then the group APIs for a client that reads back only through a group.
  const needs: { keys: number[]; issue: number; via: string }[] = [];
  if (scenarioNeeds[scenario]) needs.push({ ...scenarioNeeds[scenario]!, via: "" });
  if (client.consumesThroughGroup?.includes(scenario) && scenario !== "group") needs.push({ keys: groupKeys, issue: 4, via: `${client.name} consumes only through a group: ` });
  for (const { keys, issue, via } of needs) {
    const absent = keys.filter((key) => !advertised.has(key) && !byKey.has(key));
    if (absent.length > 0) found.push(`${via}${absent.map(apiName).join(", ")} not served yet (#${issue})`);
  }
  // Legacy message formats: the request versions are advertised (Produce from v0, as Kafka does), so only the
  // client's UNSUPPORTED_VERSION error shows they were refused.
  const legacy = (byKey.get(0) ?? []).filter((v) => v < 3).concat((byKey.get(1) ?? []).filter((v) => v < 4));
  if (legacy.length > 0 && /unsupported.?version|version.*not supported|\[35\]|error 35/i.test(said)) {
    const sent = [...byKey.get(0) ?? []].filter((v) => v < 3).map((v) => `Produce v${v}`).concat([...byKey.get(1) ?? []].filter((v) => v < 4).map((v) => `Fetch v${v}`));
    found.push(`sent ${sent.join(", ")} (message format v0/v1), refused with UNSUPPORTED_VERSION until #5`);
  }
  if (scenario === "restart" && /durable file-segment log is not built yet/.test(gatewayLog)) {
    found.push("the gateway keeps --data in memory until the durable log lands (#3)");
  }
  return found;
}

/** A private copy of dist/kgate, so that a rebuild during the run does not change the binary under test. */
let gatewayBinary = join(repoRoot, "dist/kgate");

async function startGateway(proxy: RecordingProxy, dataDir: string, extraArgs: string[] = []): Promise<GatewayProcess> {
  const gateway = await startGatewayProcess([
    gatewayBinary,
    "--listen",
    "127.0.0.1:0",
    "--advertise",
    `127.0.0.1:${proxy.port}`,
    "--data",
    dataDir,
    "--default-partitions",
    "3",
    ...extraArgs,
  ]);
  proxy.setUpstream(gateway.port);
  return gateway;
}

async function runCell(client: Client, scenario: Scenario, advertised: Map<number, Advertised>): Promise<CellResult> {
  const started = performance.now();
  const base: Pick<CellResult, "client" | "scenario" | "requests" | "gatewayLines"> = { client: client.name, scenario, requests: new Map<string, number>() };
  const proxy = await RecordingProxy.start();
  const dataDir = mkdtempSync(join(tmpdir(), "kgate-interop-"));
  const central = scenario === "uplink" ? await startCentral() : null;
  let gateway = await startGateway(proxy, dataDir, central ? uplinkArgs(central.proxy.port) : []).catch(async (error) => {
    await central?.[Symbol.asyncDispose]();
    throw error;
  });
  let output = "";
  let gatewayLog = "";
  let timedOut = false;
  let restartProblem = "";
  try {
    const child = spawn([...client.command(scenario, `127.0.0.1:${proxy.port}`), ...(central ? [`127.0.0.1:${central.proxy.port}`] : [])], {
      cwd: interopDir,
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
      env: { ...process.env, KGATE_INTEROP: "1" },
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill(9);
    }, cellTimeoutSeconds[scenario] * 1000);
    const decoder = new TextDecoder();
    let restarts = 0;
    const pumpOut = (async () => {
      for await (const chunk of child.stdout) {
        output += decoder.decode(chunk, { stream: true });
        // Counted over the whole output: a chunk may end inside the marker's line.
        if ((output.match(/^RESTART$/gm)?.length ?? 0) > restarts) {
          restarts++;
          proxy.setUpstream(null);
          await gateway[Symbol.asyncDispose]();
          gatewayLog += gateway.output();
          try {
            gateway = await startGateway(proxy, dataDir);
            child.stdin.write("RESTARTED\n");
            child.stdin.flush();
          } catch (error) {
            restartProblem = `gateway did not come back: ${String(error).split("\n")[0]}`;
            child.kill(9);
          }
        }
      }
    })();
    const pumpErr = (async () => {
      for await (const chunk of child.stderr) output += new TextDecoder().decode(chunk);
    })();
    const exitCode = await child.exited;
    clearTimeout(timer);
    await Promise.all([pumpOut, pumpErr]);
    const last = output.trim().split("\n").filter((line) => /^(PASS|NS:|FAIL:)/.test(line)).at(-1) ?? "";
    const requests = new Map(proxy.requests);
    for (const [key, count] of central?.proxy.requests ?? []) requests.set(key, (requests.get(key) ?? 0) + count);
    const centralLog = central ? central.gateway.output().replace(/^(?=.)/gm, "central: ") : "";
    const gatewayLines = (gatewayLog + gateway.output() + centralLog)
      .split("\n")
      .filter((line) => / (ERROR|WARN) /.test(line))
      .map((line) => ({ line, expected: expectedGatewayLine(client.name, scenario, line) }));
    if (gatewayLines.length > 0) base.gatewayLines = gatewayLines;
    const unexpectedLines = gatewayLines.filter(({ expected }) => !expected).map(({ line }) => line);
    const logged = unexpectedLines.length > 0 ? `the gateway logged ${unexpectedLines.length} ERROR/WARN line(s) not expected in interop/allowed.ts, the first: ${unexpectedLines[0]!.slice(0, 200)}` : "";
    const gatewayDied = [gateway.process.exitCode !== null ? `the gateway exited (${gateway.process.exitCode})` : "", central && central.gateway.process.exitCode !== null ? `the central gateway exited (${central.gateway.process.exitCode})` : ""].filter(Boolean).join("; ");
    const seconds = (performance.now() - started) / 1000;
    if (process.env.INTEROP_VERBOSE) process.stderr.write(`--- ${client.name}/${scenario} output:\n${output}\n--- gateway:\n${gatewayLog}${gateway.output()}\n${centralLog}`);
    const passed = last === "PASS" && exitCode === 0;
    if (passed && !logged) return { ...base, requests, status: "pass", reason: "", seconds };
    if (last.startsWith("NS:")) {
      const said = last.slice(3).trim();
      const listed = notSupported[`${client.name}/${scenario}`];
      const problem =
        listed === undefined ? `NS from a cell not listed in notSupported (interop/allowed.ts): ${said}` : exitCode !== 0 ? `NS with exit code ${exitCode}: ${said}` : logged;
      if (!problem) {
        const note = said === listed ? undefined : `its NS line differs from notSupported in interop/allowed.ts: ${said}`;
        return { ...base, requests, status: "n/s", reason: said, seconds, ...(note ? { note } : {}) };
      }
      return { ...base, requests, status: "fail", reason: [problem, gatewayDied].filter(Boolean).join("; "), seconds };
    }
    const said = passed
      ? ""
      : last.startsWith("FAIL:")
        ? last.slice(5).trim()
        : timedOut
          ? `timed out after ${cellTimeoutSeconds[scenario]} s`
          : `exit ${exitCode}: ${output.trim().split("\n").at(-1)?.slice(0, 200) ?? ""}`;
    const found = passed ? [] : gaps(requests, advertised, scenario, client, said, gatewayLog + gateway.output());
    const reason = [...found, restartProblem, gatewayDied, timedOut && last ? `timed out after ${cellTimeoutSeconds[scenario]} s` : "", logged, said].filter(Boolean).join("; ");
    return { ...base, requests, status: "fail", reason, seconds };
  } finally {
    await gateway[Symbol.asyncDispose]();
    await proxy.stop();
    rmSync(dataDir, { recursive: true, force: true });
    await central?.[Symbol.asyncDispose]();
  }
}

interface Central extends AsyncDisposable {
  proxy: RecordingProxy;
  gateway: GatewayProcess;
}

/** The uplink scenario's central cluster: a second gateway behind its own recording proxy, which it advertises. */
async function startCentral(): Promise<Central> {
  const proxy = await RecordingProxy.start();
  const dataDir = mkdtempSync(join(tmpdir(), "kgate-interop-central-"));
  const gateway = await startGateway(proxy, dataDir);
  return {
    proxy,
    gateway,
    async [Symbol.asyncDispose]() {
      await gateway[Symbol.asyncDispose]();
      await proxy.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * The edge's link: `uplink-*` topics to the central gateway, created there with the edge's partition count, in the
 * default delivery (exactly-once, as a kgate central cluster has transactions) and with the provenance header.
 */
function uplinkArgs(centralPort: number): string[] {
  return ["--edge-id", "interop", "--uplink", `central bootstrap.servers=127.0.0.1:${centralPort} topics.regex=uplink-.* create.remote.topics=true`];
}

function parseArgs(argv: string[]) {
  const options = { build: true, readme: true, only: [] as string[], jobs: 3, binary: "" };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--no-build") options.build = false;
    else if (arg === "--no-readme") options.readme = false;
    else if (arg === "--only") options.only = argv[++i]!.split(",");
    else if (arg === "--jobs") options.jobs = Number(argv[++i]);
    else if (arg === "--binary") options.binary = argv[++i]!;
    else throw new Error(`unknown option ${arg}`);
  }
  return options;
}

function markdownCell(result: CellResult | undefined): string {
  if (!result) return "—";
  const expected = result.status === "fail" && expectedFailures[`${result.client}/${result.scenario}`];
  const text = result.status === "pass" ? "pass" : `${result.status}: ${result.reason}${expected ? ` (known: ${expected})` : ""}`;
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

function renderMarkdown(results: CellResult[], advertised: Map<number, Advertised>): string {
  const lines: string[] = [];
  lines.push(`Generated by \`npm run interop\` (${results.length} cells).`);
  lines.push("Each cell is a real program of that client (`interop/clients/`) against the compiled gateway; `n/s` = the client cannot do it.");
  lines.push("");
  lines.push(`| client | ${scenarios.join(" | ")} |`);
  lines.push(`|---|${scenarios.map(() => "---").join("|")}|`);
  for (const client of clients) {
    const row = scenarios.map((scenario) => markdownCell(results.find((r) => r.client === client.name && r.scenario === scenario)));
    lines.push(`| ${client.label} | ${row.join(" | ")} |`);
  }
  lines.push("");
  lines.push("Requests each client sent during the run (API vN, recorded by the runner's proxy):");
  lines.push("");
  lines.push("| client | requests |");
  lines.push("|---|---|");
  const exercised = new Map<number, Set<number>>();
  for (const client of clients) {
    const perKey = new Map<number, Set<number>>();
    for (const result of results.filter((r) => r.client === client.name)) {
      for (const key of result.requests.keys()) {
        const [apiKey, apiVersion] = key.split("/").map(Number) as [number, number];
        if (!perKey.has(apiKey)) perKey.set(apiKey, new Set());
        perKey.get(apiKey)!.add(apiVersion);
        if (!exercised.has(apiKey)) exercised.set(apiKey, new Set());
        exercised.get(apiKey)!.add(apiVersion);
      }
    }
    const text = [...perKey].sort((a, b) => a[0] - b[0]).map(([apiKey, versions]) => `${apiName(apiKey)} ${[...versions].sort((a, b) => a - b).map((v) => `v${v}`).join(",")}`);
    lines.push(`| ${client.name} | ${text.join("; ") || "—"} |`);
  }
  const unexercised: string[] = [];
  for (const [apiKey, range] of [...advertised].sort((a, b) => a[0] - b[0])) {
    const missing: number[] = [];
    for (let v = range.minVersion; v <= range.maxVersion; v++) if (!exercised.get(apiKey)?.has(v)) missing.push(v);
    if (missing.length > 0) unexercised.push(`${apiName(apiKey)} ${compressRanges(missing)}`);
  }
  lines.push("");
  lines.push(`Advertised versions no client sent (covered only by the codec round trips): ${unexercised.join("; ") || "none"}.`);
  return lines.join("\n");
}

function compressRanges(values: number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < values.length; ) {
    let j = i;
    while (j + 1 < values.length && values[j + 1] === values[j]! + 1) j++;
    parts.push(i === j ? `v${values[i]}` : `v${values[i]}–${values[j]}`);
    i = j + 1;
  }
  return parts.join(",");
}

function writeReadme(markdown: string): void {
  const path = join(repoRoot, "README.md");
  const readme = readFileSync(path, "utf8");
  const start = "<!-- interop:start -->";
  const end = "<!-- interop:end -->";
  const from = readme.indexOf(start);
  const to = readme.indexOf(end);
  if (from < 0 || to < from) {
    process.stderr.write("README.md has no interop markers; not updated\n");
    return;
  }
  writeFileSync(path, `${readme.slice(0, from + start.length)}\n${markdown}\n${readme.slice(to)}`);
}

async function main(): Promise<number> {
  const options = parseArgs(process.argv.slice(2));
  const runStarted = performance.now();
  if (options.build && !options.binary) await ensureBinary();
  const binaryDir = mkdtempSync(join(tmpdir(), "kgate-interop-bin-"));
  gatewayBinary = join(binaryDir, "kgate");
  copyFileSync(options.binary || join(repoRoot, "dist/kgate"), gatewayBinary);
  chmodSync(gatewayBinary, 0o755);
  const wanted = (client: string, scenario: string) =>
    options.only.length === 0 || options.only.some((only) => only === client || only === `${client}/${scenario}`);

  const probeProxy = await RecordingProxy.start();
  const probeDir = mkdtempSync(join(tmpdir(), "kgate-interop-"));
  const probe = await startGateway(probeProxy, probeDir);
  const advertised = await fetchAdvertised(probe.port);
  await probe[Symbol.asyncDispose]();
  await probeProxy.stop();
  rmSync(probeDir, { recursive: true, force: true });

  const results: CellResult[] = [];
  const queue: [Client, Scenario][] = [];
  const buildProblems = new Map<string, string>();
  await Promise.all(
    clients.map(async (client) => {
      if (!clients.some(() => scenarios.some((s) => wanted(client.name, s)))) return;
      const missing = client.missing();
      if (missing) buildProblems.set(client.name, missing);
      else if (client.build && scenarios.some((s) => wanted(client.name, s))) {
        const problem = await client.build();
        if (problem) buildProblems.set(client.name, problem);
      }
    }),
  );
  for (const client of clients) {
    for (const scenario of scenarios) {
      if (!wanted(client.name, scenario)) continue;
      const problem = buildProblems.get(client.name);
      if (problem) {
        results.push({ client: client.name, scenario, status: "fail", reason: problem, seconds: 0, requests: new Map() });
        process.stdout.write(`${`${client.name}/${scenario}`.padEnd(34)}     - s  fail: ${problem}\n`);
      }
      else queue.push([client, scenario]);
    }
  }
  const workers = Array.from({ length: options.jobs }, async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const [client, scenario] = next;
      const result = await runCell(client, scenario, advertised);
      results.push(result);
      const text = result.status === "pass" ? "pass" : `${result.status}: ${result.reason}`;
      process.stdout.write(`${`${client.name}/${scenario}`.padEnd(34)} ${result.seconds.toFixed(1).padStart(5)} s  ${text}\n`);
      if (result.note) process.stdout.write(`${"".padEnd(44)}note: ${result.note}\n`);
      const lines = result.gatewayLines ?? [];
      for (const { line, expected } of lines.slice(0, 5)) {
        process.stdout.write(`${"".padEnd(44)}gateway: ${line.slice(0, 300)}${expected ? ` (expected: ${expected.why})` : ""}\n`);
      }
      if (lines.length > 5) process.stdout.write(`${"".padEnd(44)}gateway: ${lines.length - 5} more ERROR/WARN lines (INTEROP_VERBOSE=1 prints them)\n`);
    }
  });
  await Promise.all(workers);

  let unexpected = 0;
  const nowPassing: string[] = [];
  const nowSupported: string[] = [];
  for (const result of results) {
    const id = `${result.client}/${result.scenario}`;
    if (result.status === "fail" && !expectedFailures[id]) unexpected++;
    if (result.status !== "fail" && expectedFailures[id]) nowPassing.push(id);
    if (result.status === "pass" && notSupported[id]) nowSupported.push(id);
  }
  const seconds = (performance.now() - runStarted) / 1000;
  const markdown = renderMarkdown(results, advertised);
  process.stdout.write(`\n${markdown}\n\n`);
  if (options.readme && options.only.length === 0 && !options.binary) writeReadme(markdown);
  for (const id of nowPassing) process.stdout.write(`now passes, remove from expectedFailures (interop/allowed.ts): ${id}\n`);
  for (const id of nowSupported) process.stdout.write(`now passes, remove from notSupported (interop/allowed.ts): ${id}\n`);
  const counts = { pass: 0, fail: 0, "n/s": 0 } as Record<Status, number>;
  for (const result of results) counts[result.status]++;
  process.stdout.write(
    `${counts.pass} cells pass, ${counts.fail} fail (${counts.fail - unexpected} of them expected for now, see expectedFailures), ${counts["n/s"]} not supported by the client (notSupported), in ${seconds.toFixed(0)} s\n`,
  );
  // The closing line CI reads: expected failures and n/s cells count as skipped.
  process.stdout.write(`interop: ${counts.pass} passed, ${unexpected} failed, ${counts.fail - unexpected + counts["n/s"]} skipped\n`);
  rmSync(binaryDir, { recursive: true, force: true });
  return unexpected > 0 ? 1 : 0;
}

process.exit(await main());
