// The page-cache window: segment bytes that are durable and older than a partition's last `window` bytes are dropped
// from the page cache (posix_fadvise DONTNEED), after the sync that made them durable and after a read of them.
// Why: on the target machine (a VM whose fresh memory costs ~12 µs per 4 KiB page on first touch) a page cache that
// keeps growing costs more kernel time than the write itself (3 GB appended with fsyncs: ~1.8 s/GB of system time
// and ~420 MB/s, against ~0.26 s/GB and ~1.7 GB/s when the synced pages are handed back and reused). Readers near
// the end of the log, the usual consumers, still read from the cache; older data comes from disk, and a box with
// little memory keeps it for its processes. A window of -1 keeps every page, as Kafka does.

import { libcPosixFadvise, POSIX_FADV_DONTNEED } from "../../util/libc.ts";

const PAGE_BYTES = 4096;

/**
 * A sequential reader of cold data (a Fetch, recovery's scan) drops the pages up to this far behind where it reads:
 * pages its earlier reads and the kernel's readahead brought in, which it will not want again. It must cover the
 * readahead window (read_ahead_kb, 8 MiB on the development VM): with 1 or 2 MiB, pages still being read ahead at
 * the last drop stayed cached and cold reads cost 2x the system time; 8, 16 and 32 MiB measured alike.
 */
export const DROP_BEHIND_BYTES = 8 * 1024 * 1024;

/** Drops the whole pages of [start, end) of `fd` from the page cache; dirty pages stay (the kernel skips them). */
export function dropCachedPages(fd: number, start: number, end: number): void {
  const alignedStart = start - (start % PAGE_BYTES);
  const alignedEnd = end - (end % PAGE_BYTES);
  if (alignedEnd <= alignedStart || fd < 0) return;
  libcPosixFadvise()?.(fd, alignedStart, alignedEnd - alignedStart, POSIX_FADV_DONTNEED);
}

/**
 * Where the cached part of a segment of `sizeBytes` followed by `newerBytes` of newer data starts, page-aligned;
 * past its last (partial) page when the window does not reach it at all.
 */
export function cacheKeptFrom(sizeBytes: number, newerBytes: number, windowBytes: number): number {
  const keptHere = Math.max(0, windowBytes - newerBytes);
  if (keptHere === 0) return Math.ceil(sizeBytes / PAGE_BYTES) * PAGE_BYTES;
  const keptFrom = Math.max(0, sizeBytes - keptHere);
  return keptFrom - (keptFrom % PAGE_BYTES);
}
