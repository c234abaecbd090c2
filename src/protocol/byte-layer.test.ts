import { describe, expect, test } from "bun:test";
import { ByteReader, ProtocolDecodeError } from "./byte-reader.ts";
import { ByteWriter, INLINE_VIEW_BYTES_MAX } from "./byte-writer.ts";

function bytes(...values: number[]): Uint8Array {
  return Uint8Array.from(values);
}

function written(write: (writer: ByteWriter) => void): Uint8Array {
  const writer = new ByteWriter(16);
  write(writer);
  return writer.toUint8Array();
}

function reader(data: Uint8Array): ByteReader {
  return new ByteReader(data);
}

describe("fixed-width integers", () => {
  test("round trip at the limits, big-endian", () => {
    const out = written((w) => {
      w.writeInt8(-128);
      w.writeInt8(127);
      w.writeInt16(-32768);
      w.writeInt16(32767);
      w.writeUint16(65535);
      w.writeInt32(-2147483648);
      w.writeInt32(2147483647);
      w.writeUint32(4294967295);
      w.writeInt64(-(2n ** 63n));
      w.writeInt64(2n ** 63n - 1n);
      w.writeFloat64(-1.5);
      w.writeBoolean(true);
      w.writeBoolean(false);
    });
    expect(out.length).toBe(1 + 1 + 2 + 2 + 2 + 4 + 4 + 4 + 8 + 8 + 8 + 1 + 1);
    expect([...out.subarray(2, 4)]).toEqual([0x80, 0x00]);
    const r = reader(out);
    expect(r.readInt8()).toBe(-128);
    expect(r.readInt8()).toBe(127);
    expect(r.readInt16()).toBe(-32768);
    expect(r.readInt16()).toBe(32767);
    expect(r.readUint16()).toBe(65535);
    expect(r.readInt32()).toBe(-2147483648);
    expect(r.readInt32()).toBe(2147483647);
    expect(r.readUint32()).toBe(4294967295);
    expect(r.readInt64()).toBe(-(2n ** 63n));
    expect(r.readInt64()).toBe(2n ** 63n - 1n);
    expect(r.readFloat64()).toBe(-1.5);
    expect(r.readBoolean()).toBe(true);
    expect(r.readBoolean()).toBe(false);
    expect(r.remaining).toBe(0);
  });

  test("a boolean is any non-zero byte", () => {
    expect(reader(bytes(2)).readBoolean()).toBe(true);
  });

  test("writeInt64Number matches writeInt64 for safe integers", () => {
    for (const value of [0, 1, -1, 2 ** 32, -(2 ** 32) - 1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]) {
      expect(written((w) => w.writeInt64Number(value))).toEqual(written((w) => w.writeInt64(BigInt(value))));
    }
  });
});

describe("varints", () => {
  test("unsigned varint bytes and limits", () => {
    expect(written((w) => w.writeUnsignedVarint(0))).toEqual(bytes(0));
    expect(written((w) => w.writeUnsignedVarint(127))).toEqual(bytes(0x7f));
    expect(written((w) => w.writeUnsignedVarint(128))).toEqual(bytes(0x80, 0x01));
    expect(written((w) => w.writeUnsignedVarint(300))).toEqual(bytes(0xac, 0x02));
    expect(written((w) => w.writeUnsignedVarint(4294967295))).toEqual(bytes(0xff, 0xff, 0xff, 0xff, 0x0f));
    for (const value of [0, 1, 127, 128, 16383, 16384, 2 ** 21, 2 ** 28, 2 ** 31, 4294967295]) {
      expect(reader(written((w) => w.writeUnsignedVarint(value))).readUnsignedVarint()).toBe(value);
    }
  });

  test("an unsigned varint longer than 5 bytes is rejected", () => {
    expect(() => reader(bytes(0x80, 0x80, 0x80, 0x80, 0x80, 0x01)).readUnsignedVarint()).toThrow(ProtocolDecodeError);
  });

  test("zigzag varint: negative values and int32 limits", () => {
    // Zigzag: 0 → 0, -1 → 1, 1 → 2, -2 → 3 (Kafka ByteUtils.writeVarint).
    expect(written((w) => w.writeVarint(0))).toEqual(bytes(0));
    expect(written((w) => w.writeVarint(-1))).toEqual(bytes(1));
    expect(written((w) => w.writeVarint(1))).toEqual(bytes(2));
    expect(written((w) => w.writeVarint(-2))).toEqual(bytes(3));
    expect(written((w) => w.writeVarint(-64))).toEqual(bytes(0x7f));
    expect(written((w) => w.writeVarint(64))).toEqual(bytes(0x80, 0x01));
    expect(written((w) => w.writeVarint(2147483647))).toEqual(bytes(0xfe, 0xff, 0xff, 0xff, 0x0f));
    expect(written((w) => w.writeVarint(-2147483648))).toEqual(bytes(0xff, 0xff, 0xff, 0xff, 0x0f));
    for (const value of [0, 1, -1, 63, -64, 64, -65, 2147483647, -2147483648, 123456, -123456]) {
      expect(reader(written((w) => w.writeVarint(value))).readVarint()).toBe(value);
    }
  });

  test("zigzag varlong: every safe integer magnitude round trips", () => {
    const values = [
      0, 1, -1, 63, -64, 64, -65, 2 ** 31, -(2 ** 31) - 1, 2 ** 32, 1_700_000_000_000, -1_700_000_000_000,
      2 ** 52, -(2 ** 52), 2 ** 52 + 1, -(2 ** 52) - 1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER,
    ];
    for (const value of values) {
      expect(reader(written((w) => w.writeVarlong(value))).readVarlong()).toBe(value);
    }
  });

  test("varlong bytes match Kafka's zigzag encoding", () => {
    // Reference: zigzag in 64-bit two's complement ((n << 1) ^ (n >> 63)), then 7 bits per byte, low first.
    const reference = (value: number): Uint8Array => {
      const n = BigInt(value);
      let zigzag = BigInt.asUintN(64, (n << 1n) ^ (n >> 63n));
      const out: number[] = [];
      while (zigzag >= 0x80n) {
        out.push(Number(zigzag & 0x7fn) | 0x80);
        zigzag >>= 7n;
      }
      out.push(Number(zigzag));
      return Uint8Array.from(out);
    };
    expect(written((w) => w.writeVarlong(-1))).toEqual(bytes(1));
    expect(written((w) => w.writeVarlong(64))).toEqual(bytes(0x80, 0x01));
    // MIN_SAFE_INTEGER = -(2^53 - 1): zigzag 2^54 - 3, 54 bits = seven 7-bit groups and 5 bits.
    expect(written((w) => w.writeVarlong(Number.MIN_SAFE_INTEGER))).toEqual(
      bytes(0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f),
    );
    for (const value of [0, 1, -1, 63, -64, -65, 2 ** 40 + 3, -(2 ** 40) - 3, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]) {
      expect(written((w) => w.writeVarlong(value))).toEqual(reference(value));
    }
  });

  test("a 10-byte varlong (int64 limits) reads; 11 bytes are rejected", () => {
    // zigzag(Long.MIN_VALUE) = 2^64 - 1: nine 0xff and 0x01. Beyond 2^53 the number is approximate.
    const min = bytes(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01);
    expect(reader(min).readVarlong()).toBe(-(2 ** 63));
    const tooLong = bytes(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00);
    expect(() => reader(tooLong).readVarlong()).toThrow(ProtocolDecodeError);
  });
});

describe("strings", () => {
  const multibyte = "zß€😀"; // 1 + 2 + 3 + 4 UTF-8 bytes

  test("classic string: int16 length then UTF-8", () => {
    expect(written((w) => w.writeString("ab"))).toEqual(bytes(0, 2, 0x61, 0x62));
    const out = written((w) => w.writeString(multibyte));
    expect([...out.subarray(0, 2)]).toEqual([0, 10]);
    expect(reader(out).readString()).toBe(multibyte);
    expect(reader(written((w) => w.writeString(""))).readString()).toBe("");
  });

  test("long strings take the non-inlined paths", () => {
    const ascii = "x".repeat(1000);
    const mixed = `${"y".repeat(100)}${multibyte}`;
    for (const text of [ascii, mixed]) {
      expect(reader(written((w) => w.writeString(text))).readString()).toBe(text);
      expect(reader(written((w) => w.writeCompactString(text))).readCompactString()).toBe(text);
    }
  });

  test("nullable string: -1 length is null; readString rejects it", () => {
    expect(written((w) => w.writeNullableString(null))).toEqual(bytes(0xff, 0xff));
    expect(reader(bytes(0xff, 0xff)).readNullableString()).toBeNull();
    expect(() => reader(bytes(0xff, 0xff)).readString()).toThrow(ProtocolDecodeError);
    expect(reader(written((w) => w.writeNullableString("k"))).readNullableString()).toBe("k");
  });

  test("compact string: uvarint(length + 1), 0 is null", () => {
    expect(written((w) => w.writeCompactString("ab"))).toEqual(bytes(3, 0x61, 0x62));
    expect(written((w) => w.writeCompactString(""))).toEqual(bytes(1));
    expect(written((w) => w.writeCompactNullableString(null))).toEqual(bytes(0));
    expect(reader(bytes(0)).readCompactNullableString()).toBeNull();
    expect(() => reader(bytes(0)).readCompactString()).toThrow(ProtocolDecodeError);
    const out = written((w) => w.writeCompactString(multibyte));
    expect(out[0]).toBe(11);
    expect(reader(out).readCompactString()).toBe(multibyte);
    expect(reader(written((w) => w.writeCompactNullableString(multibyte))).readCompactNullableString()).toBe(multibyte);
  });

  test("invalid UTF-8 is a decode error, short or long", () => {
    expect(() => reader(bytes(0, 2, 0xc3, 0x28)).readString()).toThrow(ProtocolDecodeError);
    const long = new Uint8Array(2 + 100).fill(0x61);
    long[0] = 0;
    long[1] = 100;
    long[50] = 0xff;
    expect(() => reader(long).readString()).toThrow(ProtocolDecodeError);
  });

  test("a classic string longer than 32767 bytes cannot be written", () => {
    expect(() => written((w) => w.writeString("x".repeat(32768)))).toThrow(RangeError);
    expect(reader(written((w) => w.writeString("x".repeat(32767)))).readString().length).toBe(32767);
  });
});

describe("bytes and views", () => {
  test("classic and compact bytes, with nulls", () => {
    const data = bytes(1, 2, 3);
    expect(written((w) => w.writeBytes(data))).toEqual(bytes(0, 0, 0, 3, 1, 2, 3));
    expect(written((w) => w.writeNullableBytes(null))).toEqual(bytes(0xff, 0xff, 0xff, 0xff));
    expect(written((w) => w.writeCompactBytes(data))).toEqual(bytes(4, 1, 2, 3));
    expect(written((w) => w.writeCompactNullableBytes(null))).toEqual(bytes(0));
    expect(reader(bytes(0, 0, 0, 3, 1, 2, 3)).readBytes()).toEqual(data);
    expect(reader(bytes(0xff, 0xff, 0xff, 0xff)).readNullableBytes()).toBeNull();
    expect(() => reader(bytes(0xff, 0xff, 0xff, 0xff)).readBytes()).toThrow(ProtocolDecodeError);
    expect(reader(bytes(4, 1, 2, 3)).readCompactBytes()).toEqual(data);
    expect(reader(bytes(0)).readCompactNullableBytes()).toBeNull();
    expect(() => reader(bytes(0)).readCompactBytes()).toThrow(ProtocolDecodeError);
    expect(reader(bytes(1)).readCompactBytes()).toEqual(new Uint8Array(0));
  });

  test("bytes and UUIDs decode as views of the input, not copies", () => {
    const input = bytes(0, 0, 0, 2, 9, 8, ...new Array(16).fill(7));
    const r = reader(input);
    const view = r.readBytes();
    expect(view.buffer).toBe(input.buffer);
    expect(view.byteOffset).toBe(4);
    const uuid = r.readUuid();
    expect(uuid.buffer).toBe(input.buffer);
    expect(uuid.length).toBe(16);
  });

  test("a large view is sent as its own chunk, uncopied", () => {
    const big = new Uint8Array(INLINE_VIEW_BYTES_MAX).fill(5);
    const writer = new ByteWriter(64);
    writer.writeInt32(1);
    writer.writeBytes(big);
    writer.writeInt8(2);
    const chunks = writer.finish();
    expect(chunks.some((chunk) => chunk === big)).toBe(true);
    const out = writer.toUint8Array();
    expect(out.length).toBe(4 + 4 + big.length + 1);
    const r = reader(out);
    expect(r.readInt32()).toBe(1);
    expect(r.readBytes()).toEqual(big);
    expect(r.readInt8()).toBe(2);
  });

  test("UUIDs round trip and must be 16 bytes", () => {
    const uuid = Uint8Array.from({ length: 16 }, (_, i) => i * 16);
    expect(reader(written((w) => w.writeUuid(uuid))).readUuid()).toEqual(uuid);
    expect(() => written((w) => w.writeUuid(new Uint8Array(15)))).toThrow(RangeError);
  });

  test("the writer grows across buffers without moving written bytes", () => {
    const writer = new ByteWriter(8);
    const slot = writer.reserveInt32();
    for (let i = 0; i < 100; i++) writer.writeInt32(i);
    slot.setInt32(0, 400);
    const r = reader(writer.toUint8Array());
    expect(r.readInt32()).toBe(400);
    for (let i = 0; i < 100; i++) expect(r.readInt32()).toBe(i);
  });
});

describe("arrays and tagged fields", () => {
  test("array lengths: classic int32 and compact uvarint(n + 1), -1 is null", () => {
    expect(written((w) => w.writeArrayLength(2))).toEqual(bytes(0, 0, 0, 2));
    expect(written((w) => w.writeArrayLength(-1))).toEqual(bytes(0xff, 0xff, 0xff, 0xff));
    expect(written((w) => w.writeCompactArrayLength(2))).toEqual(bytes(3));
    expect(written((w) => w.writeCompactArrayLength(-1))).toEqual(bytes(0));
    expect(reader(bytes(0xff, 0xff, 0xff, 0xff)).readArrayLength()).toBe(-1);
    expect(reader(bytes(0)).readCompactArrayLength()).toBe(-1);
    expect(reader(bytes(1)).readCompactArrayLength()).toBe(0);
    expect(reader(bytes(0, 0, 0, 2, 1, 1)).readArrayLength(1)).toBe(2);
  });

  test("a count larger than the remaining bytes allow is rejected before allocating", () => {
    expect(() => reader(bytes(0x7f, 0xff, 0xff, 0xff, 1, 2)).readArrayLength(1)).toThrow(ProtocolDecodeError);
    expect(() => reader(bytes(0, 0, 0, 2, 1, 2, 3, 4, 5, 6, 7)).readArrayLength(4)).toThrow(ProtocolDecodeError);
    expect(() => reader(bytes(0xff, 0xff, 0xff, 0xff, 0x0f)).readCompactArrayLength(1)).toThrow(ProtocolDecodeError);
  });

  test("a negative count other than -1 is rejected", () => {
    expect(() => reader(bytes(0xff, 0xff, 0xff, 0xfe)).readArrayLength()).toThrow(ProtocolDecodeError);
  });

  test("tagged fields: unknown tags are skipped, known ones reach the callback", () => {
    // 2 fields: tag 0 size 2 [0xab, 0xcd], tag 5 size 1 [0x07]; then an int8 after the section.
    const data = bytes(2, 0, 2, 0xab, 0xcd, 5, 1, 0x07, 0x42);
    const skipping = reader(data);
    skipping.readTaggedFields();
    expect(skipping.readInt8()).toBe(0x42);
    const seen: [number, number, number][] = [];
    const listening = reader(data);
    listening.readTaggedFields((tag, fieldReader, size) => {
      seen.push([tag, size, fieldReader.readUint8()]);
      return true;
    });
    expect(seen).toEqual([
      [0, 2, 0xab],
      [5, 1, 0x07],
    ]);
    expect(listening.readInt8()).toBe(0x42);
    expect(written((w) => w.writeEmptyTaggedFields())).toEqual(bytes(0));
  });

  test("a tagged field that overruns the buffer is rejected", () => {
    expect(() => reader(bytes(1, 0, 5, 1, 2)).readTaggedFields()).toThrow(ProtocolDecodeError);
  });
});

describe("reading past the end", () => {
  test("every primitive throws ProtocolDecodeError and leaves the offset", () => {
    const reads: ((r: ByteReader) => unknown)[] = [
      (r) => r.readInt8(),
      (r) => r.readInt16(),
      (r) => r.readUint16(),
      (r) => r.readInt32(),
      (r) => r.readUint32(),
      (r) => r.readInt64(),
      (r) => r.readFloat64(),
      (r) => r.readBoolean(),
      (r) => r.readUuid(),
      (r) => r.readUnsignedVarint(),
      (r) => r.readVarint(),
      (r) => r.readVarlong(),
    ];
    for (const read of reads) {
      const r = new ByteReader(bytes(1, 2, 3, 4, 5, 6, 7, 8, 9), 9);
      expect(() => read(r)).toThrow(ProtocolDecodeError);
      expect(r.offset).toBe(9);
    }
    expect(() => reader(bytes(0)).readInt16()).toThrow(ProtocolDecodeError);
    expect(() => reader(bytes(0, 0, 0)).readInt32()).toThrow(ProtocolDecodeError);
  });

  test("a length prefix promising more than is there throws", () => {
    expect(() => reader(bytes(0, 5, 0x61)).readString()).toThrow(ProtocolDecodeError);
    expect(() => reader(bytes(6, 0x61)).readCompactString()).toThrow(ProtocolDecodeError);
    expect(() => reader(bytes(0, 0, 0, 9, 1)).readBytes()).toThrow(ProtocolDecodeError);
    expect(() => reader(bytes(9, 1)).readCompactNullableBytes()).toThrow(ProtocolDecodeError);
  });

  test("a reader bounded by `end` stops there, not at the buffer's end", () => {
    const r = new ByteReader(bytes(0, 0, 0, 1, 0, 0, 0, 2), 0, 4);
    expect(r.readInt32()).toBe(1);
    expect(() => r.readInt32()).toThrow(ProtocolDecodeError);
  });

  test("a subarray input reads relative to its own start", () => {
    const backing = bytes(9, 9, 0, 7, 9);
    expect(new ByteReader(backing.subarray(2, 4)).readInt16()).toBe(7);
  });
});
