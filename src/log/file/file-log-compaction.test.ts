// File-log compaction: the swap's crash safety (a copy of the folder taken at every step of the swap stands for a
// kill -9 there, and must recover to the old or the new segments, whole), leftovers from a stopped pass, restarts.

import { afterEach, describe, expect, test } from "bun:test";
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { limits } from "../../config.ts";
import { randomUuid } from "../../metadata/uuid.ts";
import { appendKeyed, readAll, summary } from "../compaction-test-helpers.ts";
import { FileLogStore } from "./file-log-store.ts";
import type { FilePartitionLog } from "./file-log.ts";
import { setSwapStepHook, type SwapStep } from "./segment-cleaning.ts";

const directories: string[] = [];
const stores: FileLogStore[] = [];
afterEach(() => {
  setSwapStepHook(null);
  for (const store of stores.splice(0)) store.close();
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

function temporaryDirectory(): string {
  const directory = mkdtempSync(join(tmpdir(), "kgate-file-compaction-"));
  directories.push(directory);
  return directory;
}

function open(dataDir: string, topicId: Uint8Array, configs: Map<string, string>): { store: FileLogStore; log: FilePartitionLog } {
  const store = new FileLogStore(dataDir, { mode: "always" });
  stores.push(store);
  return { store, log: store.createLog("compacted", 0, { topicId, configs }) };
}

const NOW = 1_000_000;

/** Ten keys written three times, one batch per segment, then one record in the active segment. */
function fill(log: FilePartitionLog): void {
  for (let round = 0; round < 3; round++) {
    for (let key = 0; key < 10; key++) appendKeyed(log, [{ key: `k${key}`, value: `r${round}` }]);
  }
  appendKeyed(log, [{ key: "end", value: "1" }]);
}

function partitionFiles(dataDir: string): string[] {
  return readdirSync(join(dataDir, "compacted-0")).sort();
}

describe("file log compaction", () => {
  test("a copy of the folder taken at every step of the swap recovers to the old or the new segments", async () => {
    const dataDir = temporaryDirectory();
    const topicId = randomUuid();
    const configs = new Map([["cleanup.policy", "compact"], ["segment.bytes", "1"], ["min.cleanable.dirty.ratio", "0.01"]]);
    const { log } = open(dataDir, topicId, configs);
    fill(log);
    const before = summary(readAll(log));
    // Merge every cleaned segment into one output, so the whole pass is one swap.
    configs.set("segment.bytes", "1000000");
    const snapshots: { step: SwapStep; directory: string }[] = [];
    setSwapStepHook((step) => {
      const copy = temporaryDirectory();
      cpSync(dataDir, copy, { recursive: true });
      snapshots.push({ step, directory: copy });
    });
    expect((await log.compact!(NOW)).cleaned).toBe(true);
    setSwapStepHook(null);
    configs.set("segment.bytes", "1");
    const after = summary(readAll(log));
    expect(after).toEqual([...Array.from({ length: 10 }, (_, key) => `${20 + key} k${key}=r2`), "30 end=1"]);
    expect(snapshots.map((snapshot) => snapshot.step)).toEqual(["cleaned-synced", "swap-renamed", "old-deleted", "swap-completed"]);

    for (const { step, directory } of snapshots) {
      const recovered = open(directory, topicId, configs);
      const expected = step === "cleaned-synced" ? before : after;
      expect({ step, records: summary(readAll(recovered.log)) }).toEqual({ step, records: expected });
      expect(partitionFiles(directory).filter((name) => name.endsWith(".cleaned") || name.endsWith(".swap"))).toEqual([]);
      // The recovered log goes on working: appends, and a later pass.
      appendKeyed(recovered.log, [{ key: "k0", value: "r3" }]);
      appendKeyed(recovered.log, [{ key: "end", value: "2" }]);
      expect((await recovered.log.compact!(NOW)).cleaned).toBe(true);
      const records = summary(readAll(recovered.log));
      expect(records).toContain("31 k0=r3");
      expect(records).not.toContain("20 k0=r2");
      expect(records.filter((record) => record.includes(" k1="))).toEqual(["21 k1=r2"]);
    }
  });

  test("closing the log in the middle of a pass abandons it and removes its output", async () => {
    const dataDir = temporaryDirectory();
    const topicId = randomUuid();
    const configs = new Map([["cleanup.policy", "compact"], ["segment.bytes", "1"], ["min.cleanable.dirty.ratio", "0.01"]]);
    const first = open(dataDir, topicId, configs);
    fill(first.log);
    const before = summary(readAll(first.log));
    const mutable = limits as { cleanerStepBytes: number };
    const stepBytes = mutable.cleanerStepBytes;
    mutable.cleanerStepBytes = 100;
    try {
      const pass = first.log.compact!(NOW);
      // Into pass 2 (a cleaned segment is being written), then close. Each step yields; wait turn by turn (bounded)
      // until the output file is there, whatever the machine's speed.
      for (let turn = 0; turn < 5_000 && !partitionFiles(dataDir).some((name) => name.endsWith(".cleaned")); turn++) {
        await new Promise((resolve) => setImmediate(resolve));
      }
      expect(partitionFiles(dataDir).some((name) => name.endsWith(".cleaned"))).toBe(true);
      first.store.close();
      stores.splice(stores.indexOf(first.store), 1);
      expect((await pass).cleaned).toBe(false);
    } finally {
      mutable.cleanerStepBytes = stepBytes;
    }
    expect(partitionFiles(dataDir).filter((name) => name.endsWith(".cleaned") || name.endsWith(".swap"))).toEqual([]);
    const reopened = open(dataDir, topicId, configs);
    expect(summary(readAll(reopened.log))).toEqual(before);
  });

  test("a half-written cleaned segment left by a kill is discarded at start", () => {
    const dataDir = temporaryDirectory();
    const topicId = randomUuid();
    const configs = new Map([["cleanup.policy", "compact"], ["segment.bytes", "1"]]);
    const first = open(dataDir, topicId, configs);
    fill(first.log);
    const before = summary(readAll(first.log));
    first.store.close();
    stores.splice(stores.indexOf(first.store), 1);
    const partitionDir = join(dataDir, "compacted-0");
    writeFileSync(join(partitionDir, "00000000000000000000.00000000000000000010.cleaned"), new Uint8Array(100).fill(7));
    const reopened = open(dataDir, topicId, configs);
    expect(summary(readAll(reopened.log))).toEqual(before);
    expect(existsSync(join(partitionDir, "00000000000000000000.00000000000000000010.cleaned"))).toBe(false);
  });

  test("cleaned data, the cleaner checkpoint and tombstone horizons survive a restart", async () => {
    const dataDir = temporaryDirectory();
    const topicId = randomUuid();
    const configs = new Map([
      ["cleanup.policy", "compact,delete"],
      ["segment.bytes", "1"],
      ["min.cleanable.dirty.ratio", "0.01"],
      ["delete.retention.ms", "1000"],
      ["retention.ms", "-1"],
    ]);
    const first = open(dataDir, topicId, configs);
    fill(first.log);
    appendKeyed(first.log, [{ key: "k3", value: null }]);
    appendKeyed(first.log, [{ key: "end", value: "2" }]);
    expect((await first.log.compact!(NOW)).cleaned).toBe(true);
    const cleaned = summary(readAll(first.log));
    expect(cleaned).toContain("31 k3=null");
    first.store.close();
    stores.splice(stores.indexOf(first.store), 1);

    const reopened = open(dataDir, topicId, configs);
    expect(summary(readAll(reopened.log))).toEqual(cleaned);
    expect(reopened.log.compactionDue!(NOW)).toBe(false);
    expect(reopened.log.compactionDue!(NOW + 1000)).toBe(true);
    expect((await reopened.log.compact!(NOW + 1000)).cleaned).toBe(true);
    const final = summary(readAll(reopened.log));
    expect(final.some((record) => record.includes("k3="))).toBe(false);
    expect(final).toContain("32 end=2");
    expect(reopened.log.logEndOffset).toBe(33);
  });
});
