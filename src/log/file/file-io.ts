// Small synchronous file helpers the file log and the topic catalog share: whole writes, positioned reads,
// directory fsync and atomic replacement (write temp, fsync, rename, fsync the folder).

import { closeSync, fsyncSync, openSync, readSync, renameSync, writeSync, writevSync } from "node:fs";
import { dirname, resolve } from "node:path";

/**
 * Test seam for simulated power loss (test/crash/): when KGATE_DURABILITY_JOURNAL names a file, every event that
 * decides what survives a power cut is appended to it as a JSON line before the code goes on: a file or folder
 * created, a file synced (with the size the sync covers), a rename, a folder synced. The test replays the journal
 * to cut the data folder back to what stable storage would hold.
 */
const durabilityJournalFd = process.env.KGATE_DURABILITY_JOURNAL ? openSync(process.env.KGATE_DURABILITY_JOURNAL, "a") : -1;

export type DurabilityEvent = "create" | "sync" | "rename" | "dirsync";

export function recordDurability(event: DurabilityEvent, path: string, detail: number | string | null = null): void {
  if (durabilityJournalFd < 0) return;
  writeSync(durabilityJournalFd, JSON.stringify([event, resolve(path), detail]) + "\n");
}

/** Writes all of `parts` at the end of an append-mode descriptor; writev may take less than asked, so it loops. */
export function writeAll(fd: number, parts: Uint8Array[]): void {
  let total = 0;
  for (const part of parts) total += part.length;
  let written = writevSync(fd, parts);
  if (written === total) return;
  // Rare (signals, full disk about to fail): finish part by part.
  for (const part of parts) {
    if (written >= part.length) {
      written -= part.length;
      continue;
    }
    let at = written;
    written = 0;
    while (at < part.length) at += writeSync(fd, part, at, part.length - at);
  }
}

/** Reads exactly `length` bytes at `position` into `target[targetOffset…]`; throws if the file is shorter. */
export function readExactly(fd: number, target: Uint8Array, targetOffset: number, length: number, position: number): void {
  let done = 0;
  while (done < length) {
    const count = readSync(fd, target, targetOffset + done, length - done, position + done);
    if (count === 0) throw new Error(`short read: wanted ${length} bytes at ${position}, file ends after ${done}`);
    done += count;
  }
}

/** Makes a folder's entries (files created, renamed or deleted in it) durable. */
export function fsyncDirectory(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  recordDurability("dirsync", path);
}

/**
 * Replaces `path` with `bytes` so that a crash leaves either the old or the new content, never a mix. `durable`
 * (default) also makes the new content survive a power cut (fsync of the file, then of its folder); without it a
 * power cut may leave the old content, which suits hints that may lag (the uplink's checkpoint copies).
 */
export function writeFileAtomic(path: string, bytes: Uint8Array | string, { durable = true } = {}): void {
  const temporaryPath = `${path}.tmp`;
  const fd = openSync(temporaryPath, "w");
  recordDurability("create", temporaryPath);
  try {
    const data = typeof bytes === "string" ? Buffer.from(bytes) : bytes;
    let at = 0;
    while (at < data.length) at += writeSync(fd, data, at, data.length - at);
    if (durable) {
      fsyncSync(fd);
      recordDurability("sync", temporaryPath, data.length);
    }
  } finally {
    closeSync(fd);
  }
  renameSync(temporaryPath, path);
  recordDurability("rename", temporaryPath, resolve(path));
  if (durable) fsyncDirectory(dirname(path));
}
