// Codec framings as clients write them, with frames hand-written from each format's spec where they are short, and
// the refusals: bombs (declared or real), truncated and corrupt streams.

import { describe, expect, test } from "bun:test";
import { createZstdCompress, gzipSync } from "node:zlib";
import { Codec, compress, decompress, codecForCompressionType } from "./index.ts";
import { compressSnappyXerial } from "./snappy.ts";
import { zstdOutputBound } from "./zstd.ts";

const text = (value: string) => new TextEncoder().encode(value);
const bytes = (...values: (number | string)[]) =>
  Uint8Array.from(values.flatMap((value) => (typeof value === "string" ? [...text(value)] : [value])));
const MiB = 1024 * 1024;

const sample = text(
  Array.from({ length: 3000 }, (_, i) => JSON.stringify({ id: i, user: `user-${i % 31}`, event: "click" })).join("\n"),
);

function expectData(result: ReturnType<typeof decompress>): Uint8Array {
  if (!result.ok) throw new Error(`expected data, got: ${result.message}`);
  return result.data;
}
function expectRefused(result: ReturnType<typeof decompress>, tooLarge: boolean): void {
  expect(result.ok).toBe(false);
  if (!result.ok) expect(result.tooLarge).toBe(tooLarge);
}

describe("round trips", () => {
  for (const codec of [Codec.none, Codec.gzip, Codec.snappy, Codec.lz4, Codec.zstd]) {
    test(`codec ${codec}`, () => {
      for (const data of [sample, text("x"), sample.subarray(0, 70_000)]) {
        const packed = compress(codec, data);
        if (codec !== Codec.none && data.length > 1000) expect(packed.length).toBeLessThan(data.length);
        expect(expectData(decompress(codec, packed, 4 * MiB))).toEqual(data);
      }
    });
  }

  test("compression.type names", () => {
    expect(codecForCompressionType("producer")).toBeNull();
    expect(codecForCompressionType("uncompressed")).toBe(Codec.none);
    expect(codecForCompressionType("zstd")).toBe(Codec.zstd);
  });
});

describe("gzip", () => {
  test("a stream of several members decompresses to all of them (Java GZIPInputStream does the same)", () => {
    const twoMembers = Buffer.concat([gzipSync(text("first,")), gzipSync(text("second"))]);
    expect(new TextDecoder().decode(expectData(decompress(Codec.gzip, twoMembers, MiB)))).toBe("first,second");
  });
  test("a bomb stops at maxBytes; a truncated stream is refused", () => {
    const bomb = gzipSync(new Uint8Array(64 * MiB));
    expect(bomb.length).toBeLessThan(100 * 1024);
    // CPU time, not wall time: what stopping at maxBytes saves (inflating all 64 MiB) is CPU, and a loaded machine's
    // preemptions do not count against it.
    const started = process.cpuUsage();
    expectRefused(decompress(Codec.gzip, bomb, MiB), true);
    const used = process.cpuUsage(started);
    expect((used.user + used.system) / 1_000).toBeLessThan(500);
    expectRefused(decompress(Codec.gzip, gzipSync(sample).subarray(0, 100), MiB), false);
  });
});

describe("snappy", () => {
  // Raw block "hello": preamble varint 5, a literal tag ((5 - 1) << 2 = 0x10), the bytes (snappy format_description.txt).
  const rawHello = bytes(0x05, 0x10, "hello");
  // xerial (snappy-java SnappyOutputStream): magic \x82SNAPPY\0, version 1, compatible version 1, then int32 length + raw block.
  const xerialHello = bytes(0x82, "SNAPPY", 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 7, 0x05, 0x10, "hello");

  test("raw blocks and the xerial framing written by hand both read", () => {
    expect(expectData(decompress(Codec.snappy, rawHello, 100))).toEqual(text("hello"));
    expect(expectData(decompress(Codec.snappy, xerialHello, 100))).toEqual(text("hello"));
  });
  test("xerial with several chunks; our writer produces raw blocks", () => {
    expect(expectData(decompress(Codec.snappy, compressSnappyXerial(sample, 4096), MiB))).toEqual(sample);
    expect(compress(Codec.snappy, text("hello"))[0]).toBe(5);
  });
  test("a preamble claiming more than maxBytes is refused before expanding; corrupt and truncated blocks too", () => {
    expectRefused(decompress(Codec.snappy, bytes(0xff, 0xff, 0xff, 0xff, 0x07, 0x10, "hello"), MiB), true);
    expectRefused(decompress(Codec.snappy, bytes(0x05, 0x10, "hel"), 100), false);
    expectRefused(decompress(Codec.snappy, xerialHello.subarray(0, xerialHello.length - 2), 100), false);
    const bomb = compressSnappyXerial(new Uint8Array(8 * MiB), 64 * 1024);
    expectRefused(decompress(Codec.snappy, bomb, MiB), true);
  });
});

describe("lz4 frame", () => {
  // lz4_Frame_format.md: magic 04 22 4D 18, FLG 0x60 (version 01, independent blocks), BD 0x40 (64 KiB blocks),
  // HC = (xxh32(FLG BD) >> 8) & 0xff, one block stored uncompressed (size | 0x80000000), end mark 0.
  const descriptor = bytes(0x60, 0x40);
  const hc = (Bun.hash.xxHash32(descriptor, 0) >>> 8) & 0xff;
  const frame = (headerChecksum: number) => bytes(0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, headerChecksum, 5, 0, 0, 0x80, "hello", 0, 0, 0, 0);
  // Kafka 0.8–0.9 (magic 0): the checksum also covered the magic number (KIP-57).
  const brokenHc = (Bun.hash.xxHash32(bytes(0x04, 0x22, 0x4d, 0x18, 0x60, 0x40), 0) >>> 8) & 0xff;

  test("a frame written by hand reads", () => {
    expect(expectData(decompress(Codec.lz4, frame(hc), 100))).toEqual(text("hello"));
  });
  test("the broken magic-0 header checksum reads only when asked for, and is written when asked for", () => {
    expect(brokenHc).not.toBe(hc);
    expectRefused(decompress(Codec.lz4, frame(brokenHc), 100), false);
    expect(expectData(decompress(Codec.lz4, frame(brokenHc), 100, { lz4BrokenHeaderChecksum: true }))).toEqual(text("hello"));
    const written = compress(Codec.lz4, sample, { lz4BrokenHeaderChecksum: true });
    expectRefused(decompress(Codec.lz4, written, MiB), false);
    expect(expectData(decompress(Codec.lz4, written, MiB, { lz4BrokenHeaderChecksum: true }))).toEqual(sample);
  });
  test("truncated frames and bombs are refused", () => {
    const packed = compress(Codec.lz4, sample);
    for (const cut of [3, 6, 12, packed.length - 3]) expectRefused(decompress(Codec.lz4, packed.subarray(0, cut), MiB), false);
    const bomb = compress(Codec.lz4, new Uint8Array(32 * MiB));
    expect(bomb.length).toBeLessThan(MiB / 4);
    expectRefused(decompress(Codec.lz4, bomb, MiB), true);
  });
});

describe("zstd", () => {
  // RFC 8878: magic 28 B5 2F FD; one raw last block of 5 bytes: header (5 << 3) | 1 = 0x29 00 00.
  // Without content size: FHD 0x00 and a window descriptor (0x00: 1 KiB). With it: FHD 0x20 (single segment,
  // 1-byte Frame_Content_Size) and the size 5.
  const withoutContentSize = bytes(0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x00, 0x29, 0, 0, "hello");
  const withContentSize = bytes(0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x05, 0x29, 0, 0, "hello");

  test("frames written by hand, with and without content size, read", () => {
    expect(expectData(decompress(Codec.zstd, withoutContentSize, 100))).toEqual(text("hello"));
    expect(expectData(decompress(Codec.zstd, withContentSize, 100))).toEqual(text("hello"));
  });
  test("a streamed frame (no content size, as zstd's streaming API writes) reads", async () => {
    const streamed = await new Promise<Buffer>((resolve) => {
      const parts: Buffer[] = [];
      const stream = createZstdCompress();
      stream.on("data", (part: Buffer) => parts.push(part));
      stream.on("end", () => resolve(Buffer.concat(parts)));
      stream.end(sample);
    });
    expect(streamed[4]! >> 6).toBe(0); // no Frame_Content_Size
    expect(expectData(decompress(Codec.zstd, streamed, MiB))).toEqual(sample);
  });
  test("truncated frames are refused (node:zlib would return an empty buffer for them)", () => {
    const packed = compress(Codec.zstd, sample);
    for (const cut of [2, 5, packed.length - 1]) expectRefused(decompress(Codec.zstd, packed.subarray(0, cut), MiB), false);
    expectRefused(decompress(Codec.zstd, withoutContentSize.subarray(0, 8), 100), false);
  });
  test("RLE blocks claiming gigabytes are refused before expanding", () => {
    // 8,192 RLE blocks of 128 KiB each: 1 GiB from ~32 KiB.
    const parts = [bytes(0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x58)]; // window 2^(10+11) = 2 MiB
    for (let i = 0; i < 8192; i++) {
      const header = ((128 * 1024) << 3) | (1 << 1) | (i === 8191 ? 1 : 0);
      parts.push(bytes(header & 0xff, (header >> 8) & 0xff, (header >> 16) & 0xff, 0x61));
    }
    const bomb = Buffer.concat(parts);
    expect(zstdOutputBound(bomb)).toBe(1024 * MiB);
    expectRefused(decompress(Codec.zstd, bomb, 64 * MiB), true);
  });
});

test("zstd: a content size larger than the blocks can hold is refused before libzstd sees it", () => {
  // FHD 0xE0: 8-byte Frame_Content_Size (2^36), single segment; one raw block of 5 bytes.
  const lying = Uint8Array.from([0x28, 0xb5, 0x2f, 0xfd, 0xe0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0x29, 0, 0, ...new TextEncoder().encode("hello")]);
  expect(zstdOutputBound(lying)).toContain("declares 68719476736 bytes");
  expect(decompress(Codec.zstd, lying, MiB).ok).toBe(false);
});
