// Buffers for large request frames, reused across requests and connections. A fresh buffer costs a page fault per
// 4 KiB on first touch (~12 µs each on the target machine, ~3 CPU-s per GB): a producer sending 1 MB Produce
// requests would otherwise fault in a megabyte per request. A frame goes back to the pool only when the handler
// said it keeps no view of it (Produce: both logs write or copy a batch before the answer); the rest are left
// to the garbage collector as before. The pool holds at most maxBytes of idle buffers; past that a returned buffer
// is dropped.

export class FramePool {
  /** Idle buffers by capacity (a power of two ≥ minBytes). */
  private readonly idle = new Map<number, ArrayBuffer[]>();
  private idleBytes = 0;
  /** Buffers handed out and not returned: a buffer is given back once, never twice. */
  private readonly lent = new WeakSet<ArrayBuffer>();

  constructor(
    /** Idle bytes kept at most. */
    readonly maxBytes: number,
    /** Frames below this size are not pooled: small allocations reuse warm heap memory anyway. */
    readonly minBytes: number,
  ) {}

  get pooledBytes(): number {
    return this.idleBytes;
  }

  /** A buffer of exactly `size` bytes (a view of a pooled one when size ≥ minBytes); its contents are stale. */
  take(size: number): Uint8Array {
    if (size < this.minBytes || size > this.maxBytes) return new Uint8Array(size);
    const capacity = capacityFor(size);
    const buffers = this.idle.get(capacity);
    let buffer = buffers?.pop();
    if (buffer) this.idleBytes -= capacity;
    else buffer = new ArrayBuffer(capacity);
    this.lent.add(buffer);
    return new Uint8Array(buffer, 0, size);
  }

  /** Like take(), but only from an idle buffer: null when none of the size's capacity is idle (nothing allocated). */
  takeIdle(size: number): Uint8Array | null {
    if (size < this.minBytes || size > this.maxBytes) return null;
    const capacity = capacityFor(size);
    const buffer = this.idle.get(capacity)?.pop();
    if (!buffer) return null;
    this.idleBytes -= capacity;
    this.lent.add(buffer);
    return new Uint8Array(buffer, 0, size);
  }

  /** Returns a frame from take(): its bytes may be overwritten from now on. Other buffers are ignored. */
  give(frame: Uint8Array): void {
    const buffer = frame.buffer as ArrayBuffer;
    if (!this.lent.has(buffer)) return;
    this.lent.delete(buffer);
    const capacity = buffer.byteLength;
    if (this.idleBytes + capacity > this.maxBytes) return;
    let buffers = this.idle.get(capacity);
    if (!buffers) this.idle.set(capacity, (buffers = []));
    buffers.push(buffer);
    this.idleBytes += capacity;
  }
}

function capacityFor(size: number): number {
  return 2 ** Math.ceil(Math.log2(size));
}
