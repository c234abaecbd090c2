// Splits a TCP byte stream into Kafka frames (int32 size + payload). A frame inside one chunk stays a view of that
// chunk (Bun hands data() a fresh buffer each time, so the view stays valid); a frame split across chunks is
// gathered into one buffer of its exact size. A large split frame is not allocated at the size it announces: its
// pieces are kept as they arrive and joined when complete, so memory follows the bytes received (slowloris); the
// joined buffer comes from the frame pool, warm memory when a previous frame was given back. When the pool has an
// idle buffer for it at the start, the pieces are copied in as they arrive instead (no allocation, so no more
// memory than the idle pool already holds): the socket chunks then die young, where the collector frees them at
// once, instead of surviving a young collection while the frame completes.

import { limits } from "../config.ts";
import type { FramePool } from "./frame-pool.ts";

export class FrameTooLargeError extends Error {
  override name = "FrameTooLargeError";
  constructor(readonly frameBytes: number, readonly frameBytesMax: number) {
    super(`frame of ${frameBytes} bytes exceeds the ${frameBytesMax}-byte limit`);
  }
}

export class FrameAssembler {
  /** Bytes of a size prefix split across chunks. */
  private readonly sizeBytes = new Uint8Array(4);
  private sizeFilled = 0;
  /** Size of the frame being gathered across chunks (-1: none), and how much of it has arrived. */
  private partialSize = -1;
  private partialFilled = 0;
  /** Its buffer when small enough to allocate at once, else the pieces received so far. */
  private partial: Uint8Array | null = null;
  private readonly pieces: Uint8Array[] = [];

  constructor(
    private readonly frameBytesMax: number,
    private readonly pool?: FramePool,
  ) {}

  /** Bytes held for an incomplete frame. */
  get bufferedBytes(): number {
    return this.partialSize >= 0 ? this.partialFilled : this.sizeFilled;
  }

  /** True between the first byte of a frame and its last. */
  get receivingFrame(): boolean {
    return this.partialSize >= 0 || this.sizeFilled > 0;
  }

  /** Calls onFrame with each complete frame's payload (without the size prefix), in order. */
  push(chunk: Uint8Array, onFrame: (frame: Uint8Array) => void): void {
    let at = 0;
    const end = chunk.length;
    while (at < end) {
      if (this.partialSize >= 0) {
        const wanted = this.partialSize - this.partialFilled;
        const taken = Math.min(wanted, end - at);
        if (this.partial) this.partial.set(chunk.subarray(at, at + taken), this.partialFilled);
        else this.pieces.push(chunk.subarray(at, at + taken)); // a view: data() chunks are fresh buffers
        this.partialFilled += taken;
        at += taken;
        if (this.partialFilled === this.partialSize) onFrame(this.takePartial());
        continue;
      }

      let size: number;
      if (this.sizeFilled === 0 && end - at >= 4) {
        size = ((chunk[at]! << 24) | (chunk[at + 1]! << 16) | (chunk[at + 2]! << 8) | chunk[at + 3]!) >>> 0;
        at += 4;
      } else {
        while (this.sizeFilled < 4 && at < end) this.sizeBytes[this.sizeFilled++] = chunk[at++]!;
        if (this.sizeFilled < 4) return;
        const b = this.sizeBytes;
        size = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
        this.sizeFilled = 0;
      }
      // A negative int32 reads as > 2^31 here, so one comparison refuses both lies.
      if (size > this.frameBytesMax) throw new FrameTooLargeError(size, this.frameBytesMax);

      if (end - at >= size) {
        const frame = chunk.subarray(at, at + size);
        at += size;
        onFrame(frame);
      } else {
        this.partialSize = size;
        this.partialFilled = 0;
        this.partial = size <= limits.framePreallocateBytesMax ? new Uint8Array(size) : (this.pool?.takeIdle(size) ?? null);
      }
    }
  }

  private takePartial(): Uint8Array {
    let frame = this.partial;
    if (frame === null) {
      frame = this.pool ? this.pool.take(this.partialSize) : new Uint8Array(this.partialSize);
      let at = 0;
      for (const piece of this.pieces) {
        frame.set(piece, at);
        at += piece.length;
      }
      this.pieces.length = 0;
    }
    this.partial = null;
    this.partialSize = -1;
    this.partialFilled = 0;
    return frame;
  }
}
