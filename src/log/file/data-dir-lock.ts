// One kgate process per data folder (Kafka's `.lock`, FileLock.tryLock): two brokers appending to the same segments
// would interleave batches and corrupt them. The lock is flock(2) on `<data>/.lock`, taken through libc with bun:ffi:
// the kernel drops it when the process dies, kill -9 included, so a stale file never blocks a restart. The file holds
// the owner's pid, for the error message. Where libc cannot be loaded, the pid alone decides: a pid that is alive
// and not ours holds the folder.

import { closeSync, ftruncateSync, openSync, readFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { libcFlock } from "../../util/libc.ts";

export const LOCK_FILE = ".lock";
const LOCK_EX = 2;
const LOCK_NB = 4;

export class DataDirLockedError extends Error {
  override name = "DataDirLockedError";
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, owned by someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function readOwner(path: string): number | null {
  try {
    const pid = Number(readFileSync(path, "utf8").trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

export class DataDirLock {
  private constructor(private fd: number) {}

  /** Takes the folder's lock or throws DataDirLockedError naming the process that holds it. */
  static acquire(dataDir: string): DataDirLock {
    const path = join(dataDir, LOCK_FILE);
    const fd = openSync(path, "a+");
    const flock = libcFlock();
    const held = (owner: number | null) => {
      closeSync(fd);
      const who = owner === null ? "another process" : `another process (pid ${owner})`;
      return new DataDirLockedError(`data folder ${dataDir} is in use by ${who}: stop it, or give this one another --data`);
    };
    if (flock !== null) {
      if (flock(fd, LOCK_EX | LOCK_NB) !== 0) throw held(readOwner(path));
    } else {
      const owner = readOwner(path);
      if (owner !== null && owner !== process.pid && isAlive(owner)) throw held(owner);
    }
    ftruncateSync(fd, 0);
    writeSync(fd, `${process.pid}\n`);
    return new DataDirLock(fd);
  }

  /** Releases the lock (closing the descriptor drops the flock); the file stays. */
  release(): void {
    if (this.fd < 0) return;
    closeSync(this.fd);
    this.fd = -1;
  }
}
