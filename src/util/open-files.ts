// The process's open-file limit (the soft RLIMIT_NOFILE; Bun raises it to the hard limit at start), read from
// /proc/self/limits: what caps the file log's partitions (3 open files each).

import { readFileSync } from "node:fs";

/** The soft limit on open files, or null where /proc is missing or says "unlimited". */
export function openFileLimit(): number | null {
  try {
    const line = /^Max open files\s+(\S+)/m.exec(readFileSync("/proc/self/limits", "utf8"));
    const value = line ? Number(line[1]) : NaN;
    return Number.isSafeInteger(value) && value > 0 ? value : null;
  } catch {
    return null;
  }
}
