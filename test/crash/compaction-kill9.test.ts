// Compaction under kill -9 and power loss, in a real gateway process: the process kills itself (SIGKILL, through the
// KGATE_CRASH_AT_SWAP_STEP seam) at each step of a segment swap in turn, its unsynced writes are dropped
// (test/helpers/power-loss.ts replays its durability journal), and it restarts on the same folder. Every record a
// consumer then reads is one that was acknowledged at that offset, every key's latest acknowledged value is there,
// and the restarted cleaner finishes the job: one record per key, at its original offset.

import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { startGatewayProcess, type GatewayProcess } from "../helpers/gateway-process.ts";
import { waitFor } from "../helpers/server.ts";
import { simulatePowerLoss, snapshotSizes } from "../helpers/power-loss.ts";

const repoRoot = join(import.meta.dir, "../..");
const KCAT = Bun.which("kcat");
const TOPIC = "compacted";
const KEYS = 20;
const ROUNDS = 3;
const STEPS = ["cleaned-synced", "swap-renamed", "old-deleted", "swap-completed"] as const;

async function consumeAll(gateway: GatewayProcess): Promise<string[]> {
  const child = Bun.spawn([KCAT!, "-b", gateway.bootstrap, "-C", "-t", TOPIC, "-p", "0", "-o", "beginning", "-e", "-q", "-f", "%o %k %s\\n"], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => child.kill(9), 20_000);
  const [out, code] = await Promise.all([new Response(child.stdout).text(), child.exited]);
  clearTimeout(timer);
  if (code !== 0) throw new Error(`kcat exited ${code}: ${await new Response(child.stderr).text()}`);
  return out.trim().split("\n").filter(Boolean);
}

if (!KCAT) console.log("SKIPPED: kill -9 and power loss during a compaction swap: kcat is not installed (npm run setup installs it)");
test.skipIf(!KCAT)("kill -9 and power loss at every step of a compaction swap: old or new segments, never a mix", async () => {
  for (const step of STEPS) {
    const root = mkdtempSync(join(tmpdir(), "kgate-compaction-crash-"));
    const dataDir = join(root, "data");
    const journalPath = join(root, "durability.jsonl");
    const command = [process.execPath, "src/main.ts", "--data", dataDir, "--registry-listen", "off", "--log-cleaner-interval", "50"];
    try {
      const initialSizes = snapshotSizes(root);
      const crashing = await startGatewayProcess(command, {
        cwd: repoRoot,
        env: { ...process.env, KGATE_DURABILITY_JOURNAL: journalPath, KGATE_CRASH_AT_SWAP_STEP: step },
      });
      const kafka = new Kafka({ clientId: `compaction-crash-${step}`, brokers: [crashing.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({
        topics: [
          {
            topic: TOPIC,
            numPartitions: 1,
            configEntries: [
              { name: "cleanup.policy", value: "compact" },
              // One batch per segment, and any dirt calls for a pass: the first swap comes once round 1 repeats a key.
              { name: "segment.bytes", value: "1" },
              { name: "min.cleanable.dirty.ratio", value: "0.01" },
            ],
          },
        ],
      });
      await admin.disconnect();
      // Acknowledged "offset key value" lines; each send is one batch (one segment).
      const acknowledged = new Map<number, string>();
      const latest = new Map<string, string>();
      const previous = new Map<string, string>();
      let lastKey = "";
      const producer = kafka.producer();
      await producer.connect();
      try {
        for (let round = 0; round < ROUNDS; round++) {
          for (let key = 0; key < KEYS; key++) {
            const [result] = await producer.send({ topic: TOPIC, acks: -1, messages: [{ key: `k${key}`, value: `r${round}` }] });
            const offset = Number(result!.baseOffset);
            acknowledged.set(offset, `${offset} k${key} r${round}`);
            if (latest.has(`k${key}`)) previous.set(`k${key}`, latest.get(`k${key}`)!);
            latest.set(`k${key}`, `${offset} k${key} r${round}`);
            lastKey = `k${key}`;
          }
        }
      } catch {
        // The process killed itself once the cleaner reached the step: sends after that fail.
      }
      await producer.disconnect().catch(() => {});
      const exit = await Promise.race([crashing.process.exited, Bun.sleep(30_000).then(() => null)]);
      expect({ step, killed: exit !== null && exit !== 0 }).toEqual({ step, killed: true });
      simulatePowerLoss(root, journalPath, initialSizes);

      await using restarted = await startGatewayProcess(command, { cwd: repoRoot });
      const afterCrash = await consumeAll(restarted);
      let previousOffset = -1;
      for (const line of afterCrash) {
        const offset = Number(line.split(" ")[0]);
        expect({ step, line }).toEqual({ step, line: acknowledged.get(offset) ?? "not acknowledged" });
        expect(offset).toBeGreaterThan(previousOffset);
        previousOffset = offset;
      }
      for (const [key, line] of latest) {
        // The newest segment is the active one, never cleaned: its key's latest record is there whatever happened.
        expect({ step, key, present: afterCrash.includes(line) }).toEqual({ step, key, present: true });
      }
      // The restarted cleaner finishes: one record per key (the latest), at its original offset. The key of the last
      // record may keep its previous value too: that record's segment is the active one (never cleaned) unless the
      // crash left an empty segment after it (a roll whose unacknowledged batch the power cut dropped).
      const expected = [...latest.values()].sort((left, right) => Number(left.split(" ")[0]) - Number(right.split(" ")[0]));
      const settled = async () => (await consumeAll(restarted)).filter((line) => line !== previous.get(lastKey));
      await waitFor(async () => (await settled()).length === expected.length, { timeoutMs: 30_000, intervalMs: 100 });
      expect(await settled()).toEqual(expected);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }
}, 120_000);
