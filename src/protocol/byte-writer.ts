// Writes Kafka's primitive types into a reusable buffer. Large views (record batches) are not copied: the output is
// a list of chunks, and a big view becomes a chunk of its own. Written bytes never move (growth starts a new buffer
// instead of copying), so a reserved slot can be patched after later writes.

const utf8 = new TextEncoder();

/** A classic string has an int16 length; a longer one would wrap into a negative (null) length on the wire. */
function checkStringLength(length: number): number {
  if (length > 0x7fff) throw new RangeError(`string of ${length} bytes exceeds the int16 length limit`);
  return length;
}

/** Views at least this long go out as chunks of their own; shorter ones are cheaper to copy than to send apart. */
export const INLINE_VIEW_BYTES_MAX = 16 * 1024;
const INITIAL_CAPACITY_BYTES = 64 * 1024;

export class ByteWriter {
  private buffer: Uint8Array;
  private view: DataView;
  private position = 0;
  /** Start of the bytes in `buffer` not yet sealed into `chunks`. */
  private segmentStart = 0;
  private readonly chunks: Uint8Array[] = [];
  private sealedBytes = 0;

  constructor(initialCapacity = INITIAL_CAPACITY_BYTES) {
    this.buffer = new Uint8Array(initialCapacity);
    this.view = new DataView(this.buffer.buffer);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.sealedBytes + this.position - this.segmentStart;
  }

  /** Forgets what was written and reuses the current buffer. Only safe once the output was consumed or copied. */
  reset(): void {
    this.position = 0;
    this.segmentStart = 0;
    this.chunks.length = 0;
    this.sealedBytes = 0;
  }

  private seal(): void {
    if (this.position > this.segmentStart) {
      this.chunks.push(this.buffer.subarray(this.segmentStart, this.position));
      this.sealedBytes += this.position - this.segmentStart;
    }
    this.segmentStart = this.position;
  }

  private ensure(bytes: number): void {
    if (this.position + bytes <= this.buffer.length) return;
    this.seal();
    const capacity = Math.max(bytes, this.buffer.length * 2);
    this.buffer = new Uint8Array(capacity);
    this.view = new DataView(this.buffer.buffer);
    this.position = 0;
    this.segmentStart = 0;
  }

  writeInt8(value: number): void {
    this.ensure(1);
    this.view.setInt8(this.position, value);
    this.position += 1;
  }
  writeUint8(value: number): void {
    this.ensure(1);
    this.buffer[this.position++] = value;
  }
  writeBoolean(value: boolean): void {
    this.writeUint8(value ? 1 : 0);
  }
  writeInt16(value: number): void {
    this.ensure(2);
    this.view.setInt16(this.position, value);
    this.position += 2;
  }
  writeUint16(value: number): void {
    this.ensure(2);
    this.view.setUint16(this.position, value);
    this.position += 2;
  }
  writeInt32(value: number): void {
    this.ensure(4);
    this.view.setInt32(this.position, value);
    this.position += 4;
  }
  writeUint32(value: number): void {
    this.ensure(4);
    this.view.setUint32(this.position, value);
    this.position += 4;
  }
  writeInt64(value: bigint): void {
    this.ensure(8);
    this.view.setBigInt64(this.position, value);
    this.position += 8;
  }
  /** An int64 given as a safe-integer number (offsets, timestamps), without a bigint round trip. */
  writeInt64Number(value: number): void {
    this.ensure(8);
    const high = Math.floor(value / 2 ** 32);
    this.view.setInt32(this.position, high);
    this.view.setUint32(this.position + 4, value - high * 2 ** 32);
    this.position += 8;
  }
  writeFloat64(value: number): void {
    this.ensure(8);
    this.view.setFloat64(this.position, value);
    this.position += 8;
  }

  writeUnsignedVarint(value: number): void {
    this.ensure(5);
    let rest = value >>> 0;
    while (rest >= 0x80) {
      this.buffer[this.position++] = (rest & 0x7f) | 0x80;
      rest >>>= 7;
    }
    this.buffer[this.position++] = rest;
  }

  writeVarint(value: number): void {
    this.writeUnsignedVarint((value << 1) ^ (value >> 31));
  }

  /**
   * Zigzag 64-bit varint of a safe integer. The zigzag value 2m + sign (m = value, or -value - 1 below zero) can
   * exceed 2^53, so it is never formed: the first byte takes six bits of m and the sign, the rest 7 bits each.
   */
  writeVarlong(value: number): void {
    this.ensure(10);
    const negative = value < 0;
    let rest = negative ? -value - 1 : value;
    let byte = (rest % 64) * 2 + (negative ? 1 : 0);
    rest = Math.floor(rest / 64);
    while (rest > 0) {
      this.buffer[this.position++] = byte | 0x80;
      byte = rest % 128;
      rest = Math.floor(rest / 128);
    }
    this.buffer[this.position++] = byte;
  }

  writeUuid(value: Uint8Array): void {
    if (value.length !== 16) throw new RangeError("a UUID is 16 bytes");
    this.writeRaw(value);
  }

  /** Copies bytes into the output. */
  writeRaw(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    this.buffer.set(bytes, this.position);
    this.position += bytes.length;
  }

  /** Appends a view; a large one is sent as its own chunk without copying. Its bytes must not change until sent. */
  writeView(bytes: Uint8Array): void {
    if (bytes.length < INLINE_VIEW_BYTES_MAX) return this.writeRaw(bytes);
    this.seal();
    this.chunks.push(bytes);
    this.sealedBytes += bytes.length;
  }

  /** Writes UTF-8 and returns the byte length, with room for the worst case reserved first. */
  private writeUtf8(text: string): number {
    this.ensure(text.length * 3);
    const { written } = utf8.encodeInto(text, this.buffer.subarray(this.position));
    this.position += written;
    return written;
  }

  private static isAscii(text: string): boolean {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) >= 0x80) return false;
    return true;
  }

  writeString(text: string): void {
    if (ByteWriter.isAscii(text)) {
      this.writeInt16(checkStringLength(text.length));
      this.writeAscii(text);
      return;
    }
    const bytes = utf8.encode(text);
    this.writeInt16(checkStringLength(bytes.length));
    this.writeRaw(bytes);
  }
  writeNullableString(text: string | null): void {
    if (text === null) this.writeInt16(-1);
    else this.writeString(text);
  }
  writeCompactString(text: string): void {
    if (ByteWriter.isAscii(text)) {
      this.writeUnsignedVarint(text.length + 1);
      this.writeAscii(text);
      return;
    }
    const bytes = utf8.encode(text);
    this.writeUnsignedVarint(bytes.length + 1);
    this.writeRaw(bytes);
  }
  writeCompactNullableString(text: string | null): void {
    if (text === null) this.writeUnsignedVarint(0);
    else this.writeCompactString(text);
  }
  private writeAscii(text: string): void {
    if (text.length > 32) {
      this.writeUtf8(text);
      return;
    }
    this.ensure(text.length);
    for (let i = 0; i < text.length; i++) this.buffer[this.position++] = text.charCodeAt(i);
  }

  writeBytes(bytes: Uint8Array): void {
    this.writeInt32(bytes.length);
    this.writeView(bytes);
  }
  writeNullableBytes(bytes: Uint8Array | null): void {
    if (bytes === null) this.writeInt32(-1);
    else this.writeBytes(bytes);
  }
  writeCompactBytes(bytes: Uint8Array): void {
    this.writeUnsignedVarint(bytes.length + 1);
    this.writeView(bytes);
  }
  writeCompactNullableBytes(bytes: Uint8Array | null): void {
    if (bytes === null) this.writeUnsignedVarint(0);
    else this.writeCompactBytes(bytes);
  }

  writeArrayLength(count: number): void {
    this.writeInt32(count);
  }
  writeCompactArrayLength(count: number): void {
    this.writeUnsignedVarint(count + 1);
  }
  writeEmptyTaggedFields(): void {
    this.writeUint8(0);
  }

  /** Reserves a 4-byte slot to fill later (frame and size prefixes); returns a view of the slot. */
  reserveInt32(): DataView {
    this.ensure(4);
    const slot = new DataView(this.buffer.buffer, this.buffer.byteOffset + this.position, 4);
    this.position += 4;
    return slot;
  }

  /** Whether `bytes` lies in the buffer the next reset() writes over (the views written into the output do not). */
  ownsBuffer(bytes: Uint8Array): boolean {
    return bytes.buffer === this.buffer.buffer;
  }

  /** The output as chunks, in order. Valid until the next reset or write. */
  finish(): Uint8Array[] {
    this.seal();
    return this.chunks.slice();
  }

  /** The output as one contiguous copy (tests, small messages). */
  toUint8Array(): Uint8Array {
    const chunks = this.finish();
    if (chunks.length === 1) return chunks[0]!.slice();
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const chunk of chunks) {
      out.set(chunk, at);
      at += chunk.length;
    }
    return out;
  }
}
