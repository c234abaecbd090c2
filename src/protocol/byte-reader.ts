// Bounds-checked reads of Kafka's primitive types over a Uint8Array view. Bytes fields come back as views into the
// same buffer (no copy); every read past the end raises ProtocolDecodeError, which the server turns into an error
// code or a closed connection.

export class ProtocolDecodeError extends Error {
  override name = "ProtocolDecodeError";
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new ProtocolDecodeError("string is not valid UTF-8");
  }
}

export class ByteReader {
  readonly buffer: Uint8Array;
  readonly view: DataView;
  offset: number;
  readonly end: number;

  constructor(buffer: Uint8Array, offset = 0, end = buffer.length) {
    this.buffer = buffer;
    this.view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    this.offset = offset;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.offset;
  }

  /** Advances past n bytes, returning the start position; fails before moving when fewer remain. */
  private take(n: number): number {
    const start = this.offset;
    if (n < 0 || start + n > this.end) {
      throw new ProtocolDecodeError(`read of ${n} bytes at ${start} overruns the ${this.end}-byte buffer`);
    }
    this.offset = start + n;
    return start;
  }

  readInt8(): number {
    return this.view.getInt8(this.take(1));
  }
  readUint8(): number {
    return this.buffer[this.take(1)]!;
  }
  readBoolean(): boolean {
    return this.readUint8() !== 0;
  }
  readInt16(): number {
    return this.view.getInt16(this.take(2));
  }
  readUint16(): number {
    return this.view.getUint16(this.take(2));
  }
  readInt32(): number {
    return this.view.getInt32(this.take(4));
  }
  readUint32(): number {
    return this.view.getUint32(this.take(4));
  }
  readInt64(): bigint {
    return this.view.getBigInt64(this.take(8));
  }
  readFloat64(): number {
    return this.view.getFloat64(this.take(8));
  }

  readUnsignedVarint(): number {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const byte = this.readUint8();
      value |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return value >>> 0;
    }
    throw new ProtocolDecodeError("unsigned varint longer than 5 bytes");
  }

  /** Zigzag-encoded 32-bit varint (record fields). */
  readVarint(): number {
    const raw = this.readUnsignedVarint();
    return (raw >>> 1) ^ -(raw & 1);
  }

  /**
   * Zigzag-encoded 64-bit varint as a number, exact for every safe integer (record timestamps and offsets stay
   * within 2^53 in practice). The zigzag value 2m + sign can exceed 2^53 for safe negatives, so the sign bit is
   * split off the first byte and m is accumulated alone.
   */
  readVarlong(): number {
    let byte = this.readUint8();
    const negative = (byte & 1) === 1;
    let magnitude = (byte & 0x7f) >>> 1;
    let scale = 64;
    for (let length = 1; byte & 0x80; length++) {
      if (length === 10) throw new ProtocolDecodeError("varlong longer than 10 bytes");
      byte = this.readUint8();
      magnitude += (byte & 0x7f) * scale;
      scale *= 128;
    }
    return negative ? -magnitude - 1 : magnitude;
  }

  readUuid(): Uint8Array {
    const start = this.take(16);
    return this.buffer.subarray(start, start + 16);
  }

  private readUtf8(length: number): string {
    const start = this.take(length);
    const buffer = this.buffer;
    // Short ASCII strings (topic names, client ids) decode faster by hand than through TextDecoder.
    if (length <= 64) {
      let text = "";
      for (let i = start; i < start + length; i++) {
        const code = buffer[i]!;
        if (code >= 0x80) return decodeUtf8(buffer.subarray(start, start + length));
        text += String.fromCharCode(code);
      }
      return text;
    }
    return decodeUtf8(buffer.subarray(start, start + length));
  }

  readString(): string {
    const length = this.readInt16();
    if (length < 0) throw new ProtocolDecodeError("null where a string is required");
    return this.readUtf8(length);
  }
  readNullableString(): string | null {
    const length = this.readInt16();
    return length < 0 ? null : this.readUtf8(length);
  }
  readCompactString(): string {
    const length = this.readUnsignedVarint() - 1;
    if (length < 0) throw new ProtocolDecodeError("null where a compact string is required");
    return this.readUtf8(length);
  }
  readCompactNullableString(): string | null {
    const length = this.readUnsignedVarint() - 1;
    return length < 0 ? null : this.readUtf8(length);
  }

  /** A view of the next n bytes. */
  readView(length: number): Uint8Array {
    const start = this.take(length);
    return this.buffer.subarray(start, start + length);
  }
  readBytes(): Uint8Array {
    const length = this.readInt32();
    if (length < 0) throw new ProtocolDecodeError("null where bytes are required");
    return this.readView(length);
  }
  readNullableBytes(): Uint8Array | null {
    const length = this.readInt32();
    return length < 0 ? null : this.readView(length);
  }
  readCompactBytes(): Uint8Array {
    const length = this.readUnsignedVarint() - 1;
    if (length < 0) throw new ProtocolDecodeError("null where compact bytes are required");
    return this.readView(length);
  }
  readCompactNullableBytes(): Uint8Array | null {
    const length = this.readUnsignedVarint() - 1;
    return length < 0 ? null : this.readView(length);
  }

  /**
   * Array length (-1 = null). Each element takes at least minElementBytes, so a count that cannot fit in the
   * remaining bytes is rejected before anything is allocated for it.
   */
  readArrayLength(minElementBytes = 1): number {
    return this.checkCount(this.readInt32(), minElementBytes);
  }
  readCompactArrayLength(minElementBytes = 1): number {
    return this.checkCount(this.readUnsignedVarint() - 1, minElementBytes);
  }
  private checkCount(count: number, minElementBytes: number): number {
    if (count < -1) throw new ProtocolDecodeError(`negative array length ${count}`);
    if (count > 0 && count * minElementBytes > this.remaining) {
      throw new ProtocolDecodeError(`array of ${count} elements cannot fit in ${this.remaining} bytes`);
    }
    return count;
  }

  /**
   * Reads a tagged-field section. Known tags go to onTag, which must consume exactly the field's bytes;
   * unknown tags are skipped, as KIP-482 requires.
   */
  readTaggedFields(onTag?: (tag: number, reader: ByteReader, size: number) => boolean): void {
    const count = this.readUnsignedVarint();
    for (let i = 0; i < count; i++) {
      const tag = this.readUnsignedVarint();
      const size = this.readUnsignedVarint();
      const start = this.take(size);
      if (onTag) {
        const fieldReader = new ByteReader(this.buffer, start, start + size);
        onTag(tag, fieldReader, size);
      }
    }
  }
}
