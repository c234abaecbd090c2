// C library calls that node:fs lacks, through bun:ffi, loaded on first use. Each is null where the platform's libc
// cannot be opened or lacks the function; callers fall back or skip.

import { dlopen, FFIType } from "bun:ffi";

// "libc.so.6" is glibc's name; musl's loader hands back musl itself for any "libc." name (checked with the musl
// release executables: flock and fallocate reach the kernel).
const LIBC_PATH = process.platform === "darwin" ? "libc.dylib" : "libc.so.6";

function loadFunction<F>(name: string, args: FFIType[], wrap: (symbol: (...args: never[]) => number) => F): () => F | null {
  let loaded: F | null | undefined;
  return () => {
    if (loaded !== undefined) return loaded;
    try {
      const library = dlopen(LIBC_PATH, { [name]: { args, returns: FFIType.i32 } });
      loaded = wrap(library.symbols[name] as (...args: never[]) => number);
    } catch {
      loaded = null;
    }
    return loaded;
  };
}

/** flock(2): 0 or -1. */
export const libcFlock = loadFunction("flock", [FFIType.i32, FFIType.i32], (flock) => (fd: number, operation: number) =>
  (flock as (fd: number, operation: number) => number)(fd | 0, operation | 0),
);

export const POSIX_FADV_DONTNEED = 4;

/** posix_fadvise(2): 0 or an error number. Offsets go as BigInt: files pass 2 GiB. */
export const libcPosixFadvise = loadFunction("posix_fadvise", [FFIType.i32, FFIType.i64, FFIType.i64, FFIType.i32], (fadvise) => (fd: number, offset: number, length: number, advice: number) =>
  (fadvise as (fd: number, offset: bigint, length: bigint, advice: number) => number)(fd | 0, BigInt(offset), BigInt(length), advice | 0),
);

export const FALLOC_FL_KEEP_SIZE = 1;

/** fallocate(2): 0 or -1 (errno not read: callers treat any failure as "no preallocation"). */
export const libcFallocate = loadFunction("fallocate", [FFIType.i32, FFIType.i32, FFIType.i64, FFIType.i64], (fallocate) => (fd: number, mode: number, offset: number, length: number) =>
  (fallocate as (fd: number, mode: number, offset: bigint, length: bigint) => number)(fd | 0, mode | 0, BigInt(offset), BigInt(length)),
);

/** socket(2): a descriptor or -1. */
export const libcSocket = loadFunction("socket", [FFIType.i32, FFIType.i32, FFIType.i32], (socket) => (domain: number, type: number, protocol: number) =>
  (socket as (domain: number, type: number, protocol: number) => number)(domain | 0, type | 0, protocol | 0),
);

/** sendto(2): the bytes sent or -1 (lengths stay far below 2^31). */
export const libcSendto = loadFunction("sendto", [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32, FFIType.ptr, FFIType.u32], (sendto) => (fd: number, data: Uint8Array, flags: number, address: Uint8Array) =>
  (sendto as (fd: number, data: Uint8Array, length: bigint, flags: number, address: Uint8Array, addressLength: number) => number)(fd | 0, data, BigInt(data.length), flags | 0, address, address.length | 0),
);

/** close(2): 0 or -1. */
export const libcClose = loadFunction("close", [FFIType.i32], (close) => (fd: number) => (close as (fd: number) => number)(fd | 0));
