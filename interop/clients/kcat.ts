// kcat 1.7.1 (Debian, librdkafka 2.0.2) scenarios, driving the kcat command line as a user would. kcat has no admin
// commands (topics auto-create, with the runner's --default-partitions 3) and sets no per-record timestamps or
// per-record headers, so basic checks one header on every record and leaves timestamps to the other clients.

import { spawn } from "bun";
import {
  IDEMPOTENT_RECORDS, PARTITIONS, SMALL_RECORDS, TRANSACTIONS, TXN_RECORDS, UPLINK_RECORDS, UPLINK_TIMEOUT_MS, askRestart, basicRecord, checkBasic, checkContiguous, checkTransactions, largeValue, main,
  step, topicName, txnValue, waitUntil,
} from "./common.mjs";
import { Admin, Consumer, Producer, stringSerializers } from "@platformatic/kafka";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

interface Run {
  code: number;
  stdout: Buffer;
  stderr: string;
}

async function kcat(args: string[], input?: string | Uint8Array, timeoutMs = 20_000): Promise<Run> {
  const child = spawn(["kcat", ...args], { stdin: input === undefined ? "ignore" : "pipe", stdout: "pipe", stderr: "pipe" });
  if (input !== undefined) {
    child.stdin!.write(input);
    await child.stdin!.end();
  }
  const timer = setTimeout(() => child.kill(9), timeoutMs);
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).arrayBuffer(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(timer);
  return { code, stdout: Buffer.from(stdout), stderr };
}

function must(run: Run, _what: string): Run {
  if (run.code !== 0) throw new Error(`kcat exit ${run.code}: ${run.stderr.trim().split("\n").filter(Boolean).slice(-2).join(" ") || "(nothing on stderr)"}`);
  return run;
}

const quiet = ["-q", "-X", "log_level=3"];

/** Produces basicRecord(from..to) as key\tvalue lines with one header on every record. */
async function produceBasic(bootstrap: string, topic: string, from: number, to: number, extra: string[] = []) {
  const lines = [];
  for (let i = from; i < to; i++) lines.push(`${basicRecord(i).key}\t${basicRecord(i).value}`);
  // Without -q: kcat then reports failed deliveries on stderr.
  must(await kcat(["-b", bootstrap, "-P", "-t", topic, "-K", "\t", "-H", "origin=interop", "-X", "acks=all", "-X", "log_level=3", ...extra], lines.join("\n") + "\n"), "produce");
}

interface Received {
  partition: number;
  offset: number;
  key: string;
  value: string;
  valueBytes: Buffer;
  headers: Record<string, string>;
  timestamp: number;
}

/** Parses `%p %o %T %K%k %S%s %h` records: sizes make binary keys and values safe. */
function parse(output: Buffer): Received[] {
  const records: Received[] = [];
  let at = 0;
  const word = () => {
    const end = output.indexOf(0x20, at);
    const text = output.subarray(at, end).toString();
    at = end + 1;
    return text;
  };
  while (at < output.length) {
    const partition = Number(word());
    const offset = Number(word());
    const timestamp = Number(word());
    const keySize = Number(word());
    const key = output.subarray(at, at + Math.max(0, keySize)).toString();
    at += Math.max(0, keySize) + 1;
    const valueSize = Number(word());
    const valueBytes = output.subarray(at, at + Math.max(0, valueSize));
    at += Math.max(0, valueSize) + 1;
    const end = output.indexOf(0x0a, at);
    const headerText = output.subarray(at, end).toString();
    at = end + 1;
    const headers: Record<string, string> = {};
    for (const pair of headerText.split(",").filter(Boolean)) {
      const [name, ...rest] = pair.split("=");
      headers[name!] = rest.join("=");
    }
    records.push({ partition, offset, timestamp, key, value: valueBytes.toString(), valueBytes: Buffer.from(valueBytes), headers });
  }
  return records;
}

async function consumeAll(bootstrap: string, topic: string, extra: string[] = []) {
  const run = must(await kcat(["-b", bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", ...quiet, ...extra, "-f", "%p %o %T %K %k %S %s %h\n"], undefined, 30_000), "consume");
  return parse(run.stdout);
}

/** Reads `count` records of every partition with @platformatic/kafka's Fetch, for the cross-client check. */
async function platformaticFetch(bootstrap: string, topic: string, count: number): Promise<Received[]> {
  const consumer = new Consumer({ clientId: "interop-helper-platformatic", groupId: "interop-unused", bootstrapBrokers: [bootstrap] });
  const received: Received[] = [];
  try {
    const metadata = (await consumer.metadata({ topics: [topic] })).topics.get(topic)!;
    const next = Array.from({ length: metadata.partitionsCount }, () => 0n);
    const deadline = Date.now() + 15_000;
    while (received.length < count && Date.now() < deadline) {
      const response = await consumer.fetch({
        node: metadata.partitions[0]!.leader, maxWaitTime: 200, minBytes: 1, maxBytes: 1 << 20,
        topics: [{ topicId: metadata.id, partitions: next.map((fetchOffset, partition) => ({ partition, fetchOffset, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, lastFetchedEpoch: -1 })) }],
      });
      for (const data of response.responses[0]!.partitions) {
        if (data.errorCode !== 0) throw new Error(`partition ${data.partitionIndex}: error ${data.errorCode}`);
        for (const batch of data.records ?? []) {
          for (const record of batch.records) {
            const offset = batch.firstOffset + BigInt(record.offsetDelta);
            if (offset < next[data.partitionIndex]!) continue;
            const headers: Record<string, string> = {};
            for (const [name, value] of record.headers) headers[name!.toString()] = value!.toString();
            const valueBytes = Buffer.from(record.value ?? new Uint8Array());
            received.push({ partition: data.partitionIndex, offset: Number(offset), key: record.key?.toString() ?? "", value: valueBytes.toString(), valueBytes, headers, timestamp: Number(batch.firstTimestamp + record.timestampDelta) });
            next[data.partitionIndex] = offset + 1n;
          }
        }
      }
    }
  } finally {
    await consumer.close(true);
  }
  return received;
}

function checkKcatBasic(received: Received[], count: number) {
  for (const record of received) record.headers = { ...record.headers, index: record.key.slice(4) }; // no per-record headers in kcat
  checkBasic(received, count, { timestamps: false });
}

await main({
  async basic(bootstrap: string) {
    const topic = topicName("basic");
    await step("produce (auto-created topic)", () => produceBasic(bootstrap, topic, 0, 1000));
    const received = await step("consume", () => consumeAll(bootstrap, topic));
    await step("check", () => checkKcatBasic(received, 1000));
    await step("timestamps", () => {
      const now = Date.now();
      const stale = received.filter((r: Received) => Math.abs(r.timestamp - now) > 120_000);
      if (stale.length > 0) throw new Error(`${stale.length} records with a CreateTime not near now, e.g. ${stale[0]!.timestamp}`);
    });
  },

  async admin(bootstrap: string) {
    // kcat's admin surface is metadata (-L) and offsets by time (-Q); it cannot create or delete topics.
    const topic = topicName("admin");
    await step("produce", () => produceBasic(bootstrap, topic, 0, 30));
    await step("metadata (-L -J)", async () => {
      const run = must(await kcat(["-b", bootstrap, "-L", "-J", "-t", topic, ...quiet]), "-L");
      const metadata = JSON.parse(run.stdout.toString());
      const entry = metadata.topics.find((t: any) => t.topic === topic);
      if (!entry || entry.partitions.length !== PARTITIONS || metadata.brokers.length !== 1) throw new Error(run.stdout.toString().slice(0, 200));
    });
    await step("offsets by time (-Q)", async () => {
      const args = [0, 1, 2].flatMap((p) => ["-t", `${topic}:${p}:${Date.now() + 60_000}`]);
      const run = must(await kcat(["-b", bootstrap, "-Q", ...args, ...quiet]), "-Q");
      // No record at or after the timestamp: Kafka answers offset -1.
      const late = [...run.stdout.toString().matchAll(/offset (-?\d+)/g)].map((m) => Number(m[1]));
      if (late.length !== 3 || late.some((o) => o !== -1)) throw new Error(`offsets for a timestamp after every record: ${run.stdout.toString().trim()}`);
      const old = must(await kcat(["-b", bootstrap, "-Q", ...[0, 1, 2].flatMap((p) => ["-t", `${topic}:${p}:0`]), ...quiet]), "-Q 0");
      const offsets = [...old.stdout.toString().matchAll(/offset (-?\d+)/g)].map((m) => Number(m[1]));
      if (offsets.length !== 3 || offsets.some((o) => o !== 0)) throw new Error(`offsets for timestamp 0: ${old.stdout.toString().trim()}`);
    });
  },

  async group(bootstrap: string) {
    const topic = topicName("group");
    const groupId = topicName("group-id");
    await step("produce", () => produceBasic(bootstrap, topic, 0, 300));
    const seen = new Map<string, string>();
    const member = (name: string) => {
      const child = spawn(
        ["kcat", "-u", "-b", bootstrap, "-G", groupId, "-X", "auto.offset.reset=earliest", "-X", "auto.commit.interval.ms=100", "-X", "session.timeout.ms=6000", "-X", "heartbeat.interval.ms=500", ...quiet, "-f", "%k\n", topic],
        { stdout: "pipe", stderr: "pipe" },
      );
      void (async () => {
        let rest = "";
        for await (const chunk of child.stdout) {
          rest += new TextDecoder().decode(chunk);
          const lines = rest.split("\n");
          rest = lines.pop()!;
          for (const line of lines) if (line) seen.set(line, name);
        }
      })();
      return child;
    };
    const a = member("a");
    const b = member("b");
    try {
      await step("two members consume everything", () => waitUntil(() => seen.size >= 300, 25_000, `300 records (got ${seen.size})`));
      await step("members share the partitions", () => {
        const names = new Set(seen.values());
        if (names.size !== 2) throw new Error(`only member(s) ${[...names]} received records`);
      });
      // Silent death: kill -9 sends no LeaveGroup; the coordinator must expire b after session.timeout.ms (6 s).
      b.kill("SIGKILL");
      await b.exited;
      await step("produce after b died", () => produceBasic(bootstrap, topic, 300, 400));
      await step("member a gets the rest after b's session expires", () => waitUntil(() => seen.size >= 400, 20_000, `400 records (got ${seen.size})`));
    } finally {
      a.kill("SIGTERM");
      b.kill("SIGTERM");
      await a.exited;
    }
    await step("produce while the group is empty", () => produceBasic(bootstrap, topic, 400, 450));
    seen.clear();
    const c = member("c");
    try {
      await step("a new member resumes from the committed offsets", () => waitUntil(() => seen.size >= 50, 20_000, `50 records (got ${seen.size})`));
      await Bun.sleep(500);
    } finally {
      c.kill("SIGTERM");
      await c.exited;
    }
    const old = [...seen.keys()].filter((key) => Number(key.slice(4)) < 400);
    if (old.length > 0) throw new Error(`resumed member re-read ${old.length} committed records`);
  },

  async compression(bootstrap: string) {
    const failures: string[] = [];
    for (const codec of ["gzip", "snappy", "lz4", "zstd"]) {
      const topic = topicName(`compression-${codec}`);
      try {
        await step("produce", () => produceBasic(bootstrap, topic, 0, 300, ["-z", codec]));
        checkKcatBasic(await step("consume", () => consumeAll(bootstrap, topic)), 300);
      } catch (error) {
        failures.push(`${codec}: ${(error as Error).message}`);
      }
    }
    // Cross-client: batches compressed by @platformatic/kafka's JavaScript codecs read by librdkafka, and batches
    // compressed by librdkafka read by @platformatic/kafka.
    for (const codec of ["gzip", "snappy", "lz4", "zstd"] as const) {
      try {
        const fromPlatformatic = topicName(`cross-${codec}`);
        const admin = new Admin({ clientId: "interop-helper-platformatic", bootstrapBrokers: [bootstrap] });
        await step("platformatic createTopics", () => admin.createTopics({ topics: [fromPlatformatic], partitions: PARTITIONS, replicas: 1 }).finally(() => admin.close()));
        const producer = new Producer({ clientId: "interop-helper-platformatic", bootstrapBrokers: [bootstrap], serializers: stringSerializers, compression: codec });
        try {
          await step("platformatic produce", () =>
            producer.send({ acks: -1, messages: Array.from({ length: 300 }, (_, i) => ({ topic: fromPlatformatic, key: basicRecord(i).key, value: basicRecord(i).value, headers: new Map(Object.entries(basicRecord(i).headers)), timestamp: BigInt(basicRecord(i).timestamp) })) }));
        } finally {
          await producer.close();
        }
        checkBasic(await step("kcat consume", () => consumeAll(bootstrap, fromPlatformatic)), 300);
        const fromKcat = topicName(`cross-${codec}`);
        await step("kcat produce", () => produceBasic(bootstrap, fromKcat, 0, 300, ["-z", codec]));
        const received = await step("platformatic fetch", () => platformaticFetch(bootstrap, fromKcat, 300));
        await step("check", () => checkKcatBasic(received, 300));
      } catch (error) {
        failures.push(`cross-client ${codec}: ${(error as Error).message}`);
      }
    }
    if (failures.length > 0) throw new Error(failures.join("; "));
  },

  async large(bootstrap: string) {
    const topic = topicName("large");
    const dir = mkdtempSync(join(tmpdir(), "interop-kcat-"));
    const file = join(dir, "large.bin");
    writeFileSync(file, largeValue());
    await step("produce 900 KB (file as one message)", async () => must(await kcat(["-b", bootstrap, "-P", "-t", topic, "-p", "0", ...quiet, file]), "produce 900 KB"));
    const lines = Array.from({ length: SMALL_RECORDS }, (_, i) => `small-${i}`).join("\n") + "\n";
    await step("produce 10,000 small", async () => must(await kcat(["-b", bootstrap, "-P", "-t", topic, "-p", "0", ...quiet], lines), "produce small"));
    const variants: [string, string[]][] = [
      ["fetch.message.max.bytes=1024", ["-X", "fetch.message.max.bytes=1024", "-X", "fetch.max.bytes=1024", "-X", "message.max.bytes=1000", "-X", "receive.message.max.bytes=2000000"]],
      ["fetch.max.bytes=50 MB", ["-X", "fetch.message.max.bytes=10000000", "-X", "fetch.max.bytes=50000000", "-X", "receive.message.max.bytes=60000000"]],
    ];
    for (const [label, extra] of variants) {
      const received = (await step(`consume ${label}`, () => consumeAll(bootstrap, topic, ["-p", "0", ...extra]))).sort((x: Received, y: Received) => x.offset - y.offset);
      await step(label, () => {
        if (received.length !== SMALL_RECORDS + 1) throw new Error(`received ${received.length} of ${SMALL_RECORDS + 1}`);
        if (!received[0]!.valueBytes.equals(largeValue())) throw new Error(`the 900 KB record came back as ${received[0]!.valueBytes.length} different bytes`);
        for (let i = 0; i < SMALL_RECORDS; i++)
          if (received[i + 1]!.value !== `small-${i}` || received[i + 1]!.offset !== i + 1) throw new Error(`offset ${received[i + 1]!.offset}: ${received[i + 1]!.value}`);
      });
    }
  },

  async versions(bootstrap: string) {
    // Default: ApiVersions, then the newest versions librdkafka 2.0.2 has. Without ApiVersions librdkafka takes its
    // feature set from broker.version.fallback: 0.9.0 = message format v0 (Produce v1/Fetch v1), 0.10.0 = v1.
    const variants: [string, string[]][] = [
      ["default", []],
      ["broker.version.fallback=0.11.0", ["-X", "api.version.request=false", "-X", "broker.version.fallback=0.11.0"]],
      ["broker.version.fallback=0.10.0", ["-X", "api.version.request=false", "-X", "broker.version.fallback=0.10.0"]],
      ["broker.version.fallback=0.9.0", ["-X", "api.version.request=false", "-X", "broker.version.fallback=0.9.0"]],
    ];
    const failures: string[] = [];
    for (const [label, extra] of variants) {
      const topic = topicName("versions");
      try {
        await step("produce", () => produceBasic(bootstrap, topic, 0, 30, extra));
        const received = await step("consume", () => consumeAll(bootstrap, topic, extra));
        // message format v0/v1 carries no headers: check keys and values only there.
        const legacy = label.includes("0.9") || label.includes("0.10");
        for (const r of received) r.headers = { index: r.key.slice(4), origin: "interop" };
        await step("check", () => checkBasic(received, 30, { timestamps: false, headers: !legacy }));
      } catch (error) {
        failures.push(`${label}: ${(error as Error).message}`);
      }
    }
    if (failures.length > 0) throw new Error(failures.join("; "));
  },

  async restart(bootstrap: string) {
    // kcat -P sends only once its input ends, and kcat -C exits when all brokers are down (its error callback treats
    // ALL_BROKERS_DOWN as fatal), so each phase is its own kcat process: what this checks is that nothing is lost.
    const topic = topicName("restart");
    await step("produce before restart", () => produceBasic(bootstrap, topic, 0, 500));
    const before = await step("consume before restart", () => consumeAll(bootstrap, topic));
    if (before.length !== 500) throw new Error(`read ${before.length} of 500 before the restart`);
    await askRestart();
    await step("produce after restart", () => produceBasic(bootstrap, topic, 500, 1000));
    const received = await step("consume after restart", () => consumeAll(bootstrap, topic));
    await step("check", () => checkKcatBasic(received, 1000));
  },
  async idempotent(bootstrap: string) {
    // One kcat process, one producer id: batch.num.messages=50 makes the 500 records several batches per partition,
    // each with its own sequence numbers.
    const topic = topicName("idempotent");
    await step("produce (enable.idempotence=true)", () => produceBasic(bootstrap, topic, 0, IDEMPOTENT_RECORDS, ["-X", "enable.idempotence=true", "-X", "batch.num.messages=50"]));
    const received = await step("consume (read_committed)", () => consumeAll(bootstrap, topic, ["-X", "isolation.level=read_committed"]));
    await step("check", () => {
      checkKcatBasic(received, IDEMPOTENT_RECORDS);
      checkContiguous(received);
    });
  },

  async transactions(bootstrap: string) {
    // kcat -P -X transactional.id=.. sends its whole input as one transaction: committed when stdin ends, aborted
    // when kcat gets a termination signal. It has no way to send consumer offsets with a transaction. Keys spread
    // each transaction over the auto-created topic's partitions.
    const topic = topicName("txn");
    const transactionalId = topicName("txn-id");
    const producerArgs = ["-b", bootstrap, "-P", "-t", topic, "-K", "\t", "-X", `transactional.id=${transactionalId}`, "-X", "log_level=3"];
    const lines = (name: string) => Array.from({ length: TXN_RECORDS }, (_, i) => `${txnValue(name, i)}\t${txnValue(name, i)}\n`);
    const read = async (isolation: string) => consumeAll(bootstrap, topic, ["-X", `isolation.level=${isolation}`]);
    let visible = 0;
    for (const [name, commit] of TRANSACTIONS as [string, boolean][]) {
      if (commit) {
        await step(`transaction ${name} (commit: stdin ends)`, async () => {
          const run = must(await kcat(producerArgs, lines(name).join("")), "produce");
          if (!/committed/i.test(run.stderr)) throw new Error(`kcat did not report a commit: ${run.stderr.trim()}`);
        });
        visible += TXN_RECORDS;
        continue;
      }
      await step(`transaction ${name} (abort: SIGINT)`, async () => {
        const child = spawn(["kcat", ...producerArgs], { stdin: "pipe", stdout: "ignore", stderr: "pipe" });
        const timer = setTimeout(() => child.kill(9), 30_000);
        try {
          // kcat 1.7.1 reads stdin in 1,024-byte blocks (fixed in 1.8.0) and produces only whole blocks while stdin
          // is open: pad the last key so the input is whole blocks and every record reaches the gateway.
          const input = lines(name);
          const pad = (1024 - (input.join("").length % 1024)) % 1024;
          input[input.length - 1] = `${txnValue(name, TXN_RECORDS - 1)}${"_".repeat(pad)}\t${txnValue(name, TXN_RECORDS - 1)}\n`;
          child.stdin.write(input.join(""));
          child.stdin.flush();
          const everything = visible + TXN_RECORDS;
          let seen = 0;
          await waitUntil(async () => (seen = (await read("read_uncommitted")).length) >= everything, 15_000, `the open transaction's records in read_uncommitted (${seen} of ${everything})`);
          const held = (await read("read_committed")).length;
          if (held !== visible) throw new Error(`read_committed saw ${held} records while the transaction was open, want ${visible} (the LSO holds it back)`);
          // The signal only sets kcat's stop flag; it acts on it once its stdin read returns.
          child.kill("SIGINT");
          await Bun.sleep(200);
          await child.stdin.end();
          await child.exited;
          const stderr = await new Response(child.stderr).text();
          if (!/abort/i.test(stderr)) throw new Error(`kcat did not report an abort: ${stderr.trim()}`);
        } finally {
          clearTimeout(timer);
        }
      });
    }
    const committed = await step("consume read_committed", () => read("read_committed"));
    await step("check read_committed", () => checkTransactions(committed, { committedOnly: true }));
    const everything = await step("consume read_uncommitted", () => read("read_uncommitted"));
    await step("check read_uncommitted", () => checkTransactions(everything, { committedOnly: false }));
  },

  async uplink(bootstrap: string, central: string) {
    const topic = topicName("uplink");
    await step("produce (edge, auto-created topic)", () => produceBasic(bootstrap, topic, 0, UPLINK_RECORDS));
    // -e stops at the current end: read again until the uplink has forwarded everything. A consumer does not
    // auto-create topics: until the uplink has created it on the central cluster, kcat exits on an unknown topic.
    let received: Received[] = [];
    await step("consume (central)", () =>
      waitUntil(async () => {
        received = await consumeAll(central, topic).catch((error) => {
          if (/Unknown topic or partition/.test(String(error))) return [];
          throw error;
        });
        if (received.length >= UPLINK_RECORDS) return true;
        await Bun.sleep(500);
        return false;
      }, UPLINK_TIMEOUT_MS, `${UPLINK_RECORDS} records`));
    await step("check", () => checkKcatBasic(received, UPLINK_RECORDS));
  },
});
