// librdkafka's mock cluster (bench/mock-broker.c over rdkafka_mock.h, Debian's librdkafka-dev 2.0.x) as a Kafka
// cluster that is not kgate: `await using mock = await startMockCluster({ brokers: 3, topics: [...] })`.
//
// The binary is built on first use with one gcc call into bench/out/ (gitignored), the folder and file name that
// bench/setup.sh uses, rebuilt when mock-broker.c is newer; setup.sh itself is not run because it also builds
// rdkafka_performance and may call apt-get. gcc and librdkafka-dev come from `npm run setup` (interop/install.sh).
// mockClusterUnavailable() says why the mock cannot run here (null when it can), so that a test can skip locally
// and fail on CI.

import { spawn, type Subprocess } from "bun";
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";

const repoRoot = join(import.meta.dir, "../..");
const source = join(repoRoot, "bench/mock-broker.c");
const outDir = join(repoRoot, "bench/out");
export const mockBrokerPath = join(outDir, "mock-broker");

export interface MockTopic {
  name: string;
  partitions?: number;
  /** Leader broker id of each partition (ids run 1..brokers); default: partition p on broker (p % brokers) + 1. */
  leaders?: number[];
}

export interface MockClusterOptions {
  /** Brokers 1..N, each on its own port (default 1). */
  brokers?: number;
  /** Created before the listeners are announced. Topics a Metadata request v0–3 names are auto-created (4 partitions). */
  topics?: (string | MockTopic)[];
  /** Pinned coordinators (otherwise crc32(key) % brokers). */
  coordinators?: { type: "transaction" | "group"; key: string; broker: number }[];
  startTimeoutMs?: number;
}

export interface MockCluster extends AsyncDisposable {
  readonly process: Subprocess<"ignore", "pipe", "pipe">;
  /** Every broker, "host:port,host:port,...", broker 1 first. */
  readonly bootstrap: string;
  /** "host:port" of broker id i + 1. */
  readonly brokers: string[];
  /** What it wrote to stderr so far. */
  output(): string;
}

let built: Promise<string | null> | null = null;

/** Builds bench/out/mock-broker unless it is newer than its source; resolves to why it cannot, or null. */
function ensureMockBroker(): Promise<string | null> {
  built ??= (async () => {
    if (existsSync(mockBrokerPath) && statSync(mockBrokerPath).mtimeMs >= statSync(source).mtimeMs) return null;
    if (!Bun.which("gcc")) return "gcc is not installed (npm run setup installs it)";
    if (!existsSync("/usr/include/librdkafka/rdkafka_mock.h")) return "librdkafka-dev is not installed (no rdkafka_mock.h; npm run setup installs it)";
    mkdirSync(outDir, { recursive: true });
    // Another test process may build at the same time: each writes its own file, the rename is atomic.
    const temporary = `${mockBrokerPath}.tmp-${process.pid}`;
    const gcc = spawn(["gcc", "-O2", "-Wall", "-o", temporary, source, "-lrdkafka"], { stdout: "pipe", stderr: "pipe" });
    const [code, errors] = await Promise.all([gcc.exited, new Response(gcc.stderr).text()]);
    if (code !== 0) {
      rmSync(temporary, { force: true });
      return `gcc could not build bench/mock-broker.c: ${errors.trim().split("\n").slice(0, 3).join(" ")}`;
    }
    renameSync(temporary, mockBrokerPath);
    return null;
  })();
  return built;
}

/** Why librdkafka's mock cluster cannot run here, or null (builds it if needed). */
export async function mockClusterUnavailable(): Promise<string | null> {
  return ensureMockBroker();
}

/**
 * For a test that needs the mock: true when it can run. Otherwise prints "SKIPPED: ..." and returns false, or
 * throws under CI (process.env.CI set), where a missing dependency must not pass as green.
 */
export async function mockClusterOrSkip(testName: string): Promise<boolean> {
  const reason = await mockClusterUnavailable();
  if (reason === null) return true;
  if (process.env.CI) throw new Error(`${testName}: librdkafka's mock cluster is required on CI: ${reason}`);
  console.log(`SKIPPED: ${testName}: librdkafka's mock cluster is unavailable: ${reason}`);
  return false;
}

function topicArgument(topic: string | MockTopic): string {
  if (typeof topic === "string") return topic;
  return `${topic.name}:${topic.partitions ?? 1}${topic.leaders ? `:${topic.leaders.join(",")}` : ""}`;
}

/** Starts bench/out/mock-broker and waits for its BOOTSTRAP line. */
export async function startMockCluster({ brokers = 1, topics = [], coordinators = [], startTimeoutMs = 10_000 }: MockClusterOptions = {}): Promise<MockCluster> {
  const problem = await ensureMockBroker();
  if (problem !== null) throw new Error(`librdkafka's mock cluster is unavailable: ${problem}`);
  const args = [mockBrokerPath, "--brokers", String(brokers)];
  for (const { type, key, broker } of coordinators) args.push("--coordinator", `${type}:${key}=${broker}`);
  args.push(...topics.map(topicArgument));
  const child = spawn(args, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  let stdout = "";
  let stderr = "";
  const decoder = new TextDecoder();
  const pumped = Promise.all([
    (async () => {
      for await (const chunk of child.stdout) stdout += decoder.decode(chunk, { stream: true });
    })(),
    (async () => {
      for await (const chunk of child.stderr) stderr += new TextDecoder().decode(chunk);
    })(),
  ]);
  const deadline = Date.now() + startTimeoutMs;
  let line: RegExpExecArray | null = null;
  while (!(line = /^BOOTSTRAP (\S+)$/m.exec(stdout))) {
    if (child.exitCode !== null) {
      await pumped;
      throw new Error(`mock-broker exited with ${child.exitCode}: ${stderr.trim()}`);
    }
    if (Date.now() > deadline) {
      child.kill(9);
      throw new Error(`mock-broker printed no BOOTSTRAP line within ${startTimeoutMs} ms: ${stderr.trim()}`);
    }
    await Bun.sleep(10);
  }
  const addresses = line[1]!.split(",");
  return {
    process: child,
    bootstrap: addresses.join(","),
    brokers: addresses,
    output: () => stderr,
    async [Symbol.asyncDispose]() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        if ((await Promise.race([child.exited, Bun.sleep(5_000).then(() => null)])) === null) child.kill(9);
        await child.exited;
      }
      await pumped;
    },
  };
}
