import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildRecordBatch, decodeRecords, validateBatchForAppend } from "../../protocol/records/record-batch.ts";
import { randomUuid } from "../../metadata/uuid.ts";
import { FileLogStore } from "./file-log-store.ts";
import type { FilePartitionLog } from "./file-log.ts";
import { cacheKeptFrom } from "./page-cache.ts";

const MiB = 1 << 20;
const folders: string[] = [];
const stores: FileLogStore[] = [];
afterEach(() => {
  for (const store of stores.splice(0)) store.close();
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

/** util-linux's fincore: bytes of the file resident in the page cache; null when the tool is missing. */
function residentBytes(path: string): number | null {
  if (Bun.which("fincore") === null) return null;
  const result = Bun.spawnSync(["fincore", "--bytes", "--noheadings", "--raw", "--output", "RES", path]);
  if (result.exitCode !== 0) return null;
  return Number(result.stdout.toString().trim());
}

function openLog(windowBytes: number, configs = new Map<string, string>()): { log: FilePartitionLog; folder: string } {
  const dataDir = mkdtempSync(join(tmpdir(), "kgate-page-cache-"));
  folders.push(dataDir);
  const store = new FileLogStore(dataDir, { mode: "always" }, { pageCacheWindowBytes: windowBytes });
  stores.push(store);
  return { log: store.createLog("cached", 0, { topicId: randomUuid(), configs }), folder: join(dataDir, "cached-0") };
}

/** Appends `count` synced batches of 16 records × 16 KiB, each value naming its batch and record. */
async function appendSynced(log: FilePartitionLog, count: number): Promise<void> {
  for (let batchIndex = 0; batchIndex < count; batchIndex++) {
    const records = Array.from({ length: 16 }, (_, recordIndex) => {
      const value = Buffer.alloc(16 << 10, 97 + ((batchIndex + recordIndex) % 26));
      value.write(`${batchIndex}/${recordIndex}/`);
      return { value };
    });
    const batch = buildRecordBatch({ records });
    const validated = validateBatchForAppend(batch);
    if (!validated.ok) throw new Error(validated.message);
    log.append(batch, validated.info);
    await log.sync!();
  }
  // A round drops pages after its answers, in the next turn.
  await new Promise((resolve) => setImmediate(resolve));
}

function segmentFiles(folder: string): string[] {
  return readdirSync(folder)
    .filter((name) => name.endsWith(".log"))
    .sort()
    .map((name) => join(folder, name));
}

describe("cacheKeptFrom", () => {
  test("keeps the last window bytes of the partition, page-aligned, counting newer segments", () => {
    expect(cacheKeptFrom(10 * MiB, 0, 4 * MiB)).toBe(6 * MiB);
    expect(cacheKeptFrom(10 * MiB, 3 * MiB, 4 * MiB)).toBe(9 * MiB);
    expect(cacheKeptFrom(10 * MiB, 5 * MiB, 4 * MiB)).toBe(10 * MiB);
    expect(cacheKeptFrom(10_000, 0, 0)).toBe(12_288); // wholly outside: through its partial last page
    expect(cacheKeptFrom(10_000, 0, 5_000)).toBe(4_096);
    expect(cacheKeptFrom(1 * MiB, 0, 4 * MiB)).toBe(0);
  });
});

/**
 * Why this machine cannot show the window, or null when it can: fincore must be there, and the temporary folder must
 * be on a filesystem that drops pages on request (tmpfs keeps them: its pages are the files). Decided without the
 * code under test, so that a dropCachedPages that does nothing fails the tests below instead of skipping them.
 */
function pageDropsUnmeasurable(): string | null {
  if (Bun.which("fincore") === null) return "fincore (util-linux) is not installed";
  const filesystem = Bun.spawnSync(["stat", "--file-system", "--format", "%T", tmpdir()]).stdout.toString().trim();
  if (filesystem === "tmpfs" || filesystem === "ramfs") return `${tmpdir()} is on ${filesystem}, whose pages are the files`;
  return null;
}

const unmeasurable = pageDropsUnmeasurable();
if (unmeasurable !== null) console.warn(`SKIPPED page-cache window tests: ${unmeasurable}`);

describe.skipIf(unmeasurable !== null)("page-cache window (measured with fincore)", () => {
  test("synced pages beyond the window leave the cache; the window's stay; every record still reads back", async () => {
    const { log, folder } = openLog(1 * MiB);
    await appendSynced(log, 32); // ~8 MiB
    const [segment] = segmentFiles(folder);
    const size = Bun.file(segment!).size;
    expect(size).toBeGreaterThan(8 * MiB);
    const resident = residentBytes(segment!)!;
    expect(resident).toBeLessThanOrEqual(1 * MiB + 2 * 256 * 1024);
    expect(resident).toBeGreaterThanOrEqual(1 * MiB - 4096);

    // A consumer from the start reads from disk, and what it read outside the window goes back (drop-behind).
    let offset = 0;
    let records = 0;
    while (offset < log.logEndOffset) {
      const read = log.read(offset, 1 * MiB, true);
      for (const batch of read.batches) {
        for (const record of decodeRecords(batch)) {
          const [batchIndex, recordIndex] = Buffer.from(record.value!.subarray(0, 12)).toString().split("/").map(Number);
          expect(record.value![20]).toBe(97 + ((batchIndex! + recordIndex!) % 26));
          records++;
        }
      }
      offset = Number(new DataView(read.batches.at(-1)!.buffer, read.batches.at(-1)!.byteOffset).getBigInt64(0)) + 16;
      read.release?.();
    }
    expect(records).toBe(32 * 16);
    expect(residentBytes(segment!)!).toBeLessThanOrEqual(1 * MiB + 2 * 256 * 1024);
  });

  test("a rolled segment keeps only what the window still covers", async () => {
    const { log, folder } = openLog(1 * MiB, new Map([["segment.bytes", String(2 * MiB)]]));
    await appendSynced(log, 24); // ~6 MiB over three or four segments
    const segments = segmentFiles(folder);
    expect(segments.length).toBeGreaterThanOrEqual(3);
    const residentTotal = segments.reduce((sum, path) => sum + residentBytes(path)!, 0);
    expect(residentTotal).toBeLessThanOrEqual(1 * MiB + 2 * 256 * 1024);
    for (const path of segments.slice(0, -2)) expect(residentBytes(path)!).toBe(0);
  });

  test("--page-cache-window all (-1) keeps every page, as Kafka does", async () => {
    const { log, folder } = openLog(-1);
    await appendSynced(log, 16);
    const [segment] = segmentFiles(folder);
    expect(residentBytes(segment!)!).toBeGreaterThanOrEqual(Bun.file(segment!).size - 4096);
  });
});
