// Splits a TCP byte stream into Kafka frames (int32 size + payload). A frame inside one chunk stays a view of that
// chunk (Bun hands data() a fresh buffer each time, so the view stays valid); a frame split across chunks is
// gathered into one buffer of its exact size.

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
  /** The frame being gathered across chunks, and how much of it has arrived. */
  private partial: Uint8Array | null = null;
  private partialFilled = 0;

  constructor(private readonly frameBytesMax: number) {}

  /** Bytes held for an incomplete frame. */
  get bufferedBytes(): number {
    return this.partial ? this.partialFilled : this.sizeFilled;
  }

  /** Calls onFrame with each complete frame's payload (without the size prefix), in order. */
  push(chunk: Uint8Array, onFrame: (frame: Uint8Array) => void): void {
    let at = 0;
    const end = chunk.length;
    while (at < end) {
      if (this.partial) {
        const wanted = this.partial.length - this.partialFilled;
        const taken = Math.min(wanted, end - at);
        this.partial.set(chunk.subarray(at, at + taken), this.partialFilled);
        this.partialFilled += taken;
        at += taken;
        if (this.partialFilled === this.partial.length) {
          const frame = this.partial;
          this.partial = null;
          this.partialFilled = 0;
          onFrame(frame);
        }
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
        this.partial = new Uint8Array(size);
        this.partialFilled = 0;
      }
    }
  }
}
