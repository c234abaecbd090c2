// Simulated power loss for a data folder: after the gateway is killed, cut every file back to what an fsync made
// durable and drop directory entries no folder fsync covered, as a machine losing power would. It replays the
// durability journal the gateway writes when KGATE_DURABILITY_JOURNAL is set (src/log/file/file-io.ts).
// Simplifications: renames count as durable at once (the gateway fsyncs the folder right after each), and
// unlinks are never undone.

import { existsSync, readFileSync, readdirSync, rmSync, statSync, truncateSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

/** Sizes of every file under root: what survives at start (the previous cut left only durable bytes). */
export function snapshotSizes(root: string): Map<string, number> {
  const sizes = new Map<string, number>();
  const walk = (directory: string) => {
    for (const entry of readdirSync(directory, { withFileTypes: true })) {
      const path = join(directory, entry.name);
      if (entry.isDirectory()) walk(path);
      else sizes.set(resolve(path), statSync(path).size);
    }
  };
  walk(resolve(root));
  return sizes;
}

export interface PowerLossReport {
  removed: string[];
  truncated: { path: string; fromBytes: number; toBytes: number }[];
}

export function simulatePowerLoss(root: string, journalPath: string, initialSizes: Map<string, number>): PowerLossReport {
  const durableSizes = new Map(initialSizes);
  const pendingEntries = new Set<string>();
  const journal = existsSync(journalPath) ? readFileSync(journalPath, "utf8") : "";
  for (const line of journal.split("\n")) {
    if (!line) continue;
    const [event, path, detail] = JSON.parse(line) as [string, string, number | string | null];
    if (event === "create") {
      pendingEntries.add(path);
      durableSizes.set(path, 0);
    } else if (event === "sync") {
      durableSizes.set(path, detail as number);
    } else if (event === "rename") {
      const target = detail as string;
      durableSizes.set(target, durableSizes.get(path) ?? 0);
      durableSizes.delete(path);
      pendingEntries.delete(path);
      pendingEntries.delete(target);
    } else if (event === "dirsync") {
      for (const pending of pendingEntries) if (dirname(pending) === path) pendingEntries.delete(pending);
    }
  }

  const report: PowerLossReport = { removed: [], truncated: [] };
  const isPending = (path: string) => {
    for (let current = path; current !== dirname(current); current = dirname(current)) {
      if (pendingEntries.has(current)) return true;
    }
    return false;
  };
  const walk = (directory: string) => {
    for (const entry of readdirSync(directory, { withFileTypes: true })) {
      const path = join(directory, entry.name);
      if (isPending(path)) {
        rmSync(path, { recursive: true, force: true });
        report.removed.push(path);
      } else if (entry.isDirectory()) {
        walk(path);
      } else {
        const size = statSync(path).size;
        const durable = Math.min(size, durableSizes.get(path) ?? 0);
        if (durable < size) {
          truncateSync(path, durable);
          report.truncated.push({ path, fromBytes: size, toBytes: durable });
        }
      }
    }
  };
  walk(resolve(root));
  return report;
}
