// One interface over Kafka's four codecs (record batch attribute bits 0-2: 1 gzip, 2 snappy, 3 lz4, 4 zstd).
// Choices, measured in bench/codecs.ts inside the compiled binary and under `bun`: gzip and zstd use Bun's
// built-in native libraries, snappy and lz4 napi packages (see each file for why and for the framings read).
// decompress never expands past maxBytes (limits.decompressedBatchBytesMax for Produce): a bomb is refused as
// `{ ok: false, tooLarge: true }` after at most maxBytes of work, usually before any.

import { compressGzip, decompressGzip } from "./gzip.ts";
import { compressLz4, decompressLz4 } from "./lz4.ts";
import { malformed, type DecompressResult } from "./result.ts";
import { compressSnappy, decompressSnappy } from "./snappy.ts";
import { compressZstd, decompressZstd } from "./zstd.ts";

export type { DecompressResult } from "./result.ts";

export const Codec = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;
export type Codec = (typeof Codec)[keyof typeof Codec];

export const codecNames: Record<Codec, string> = { 0: "none", 1: "gzip", 2: "snappy", 3: "lz4", 4: "zstd" };

export interface CodecOptions {
  /** LZ4 in magic 0 messages: the pre-KIP-57 frame header checksum (accepted on read, written on write). */
  lz4BrokenHeaderChecksum?: boolean;
}

export function compress(codec: Codec, data: Uint8Array, options: CodecOptions = {}): Uint8Array {
  switch (codec) {
    case Codec.none:
      return data;
    case Codec.gzip:
      return compressGzip(data);
    case Codec.snappy:
      return compressSnappy(data);
    case Codec.lz4:
      return compressLz4(data, options.lz4BrokenHeaderChecksum === true);
    case Codec.zstd:
      return compressZstd(data);
  }
  throw new RangeError(`unknown codec ${codec}`);
}

export function decompress(codec: number, data: Uint8Array, maxBytes: number, options: CodecOptions = {}): DecompressResult {
  switch (codec) {
    case Codec.none:
      return data.length > maxBytes ? { ok: false, tooLarge: true, message: `${data.length} bytes exceed ${maxBytes}` } : { ok: true, data };
    case Codec.gzip:
      return decompressGzip(data, maxBytes);
    case Codec.snappy:
      return decompressSnappy(data, maxBytes);
    case Codec.lz4:
      return decompressLz4(data, maxBytes, options.lz4BrokenHeaderChecksum === true);
    case Codec.zstd:
      return decompressZstd(data, maxBytes);
  }
  return malformed(`unknown compression type id ${codec}`);
}

/** A topic's compression.type as a codec, or null for `producer` (keep what the producer sent). */
export function codecForCompressionType(compressionType: string | undefined): Codec | null {
  switch (compressionType) {
    case "uncompressed":
      return Codec.none;
    case "gzip":
      return Codec.gzip;
    case "snappy":
      return Codec.snappy;
    case "lz4":
      return Codec.lz4;
    case "zstd":
      return Codec.zstd;
    default:
      return null;
  }
}
