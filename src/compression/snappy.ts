// snappy, Kafka codec 2: the `snappy` napi package (Rust snap crate), embedded by `bun build --compile`.
// Two framings reach a broker:
// - raw snappy blocks (librdkafka, kafkajs-snappy, @platformatic/kafka, Sarama's default),
// - the xerial/snappy-java stream the Java client writes: the 8-byte magic `\x82SNAPPY\0`, version and compatible
//   version (int32 big-endian each), then chunks of int32 big-endian length + one raw block (snappy-java
//   `SnappyOutputStream`/`SnappyCodec`).
// Both are read; raw is written, which every client above reads (snappy-java's SnappyInputStream falls back to
// raw when the magic is absent).
// Every raw block starts with its uncompressed length as a varint, so the output size is known, and checked
// against maxBytes, before anything is expanded.

import type * as Snappy from "snappy";
import { loadAddon } from "./load-addon.ts";
import { asBuffer, decompressed, malformed, readUint32BigEndian, tooLarge, type DecompressResult } from "./result.ts";

// Loaded on first use: the addon costs ~10 ms of startup, and most deployments never see snappy. A static string, so
// `bun build --compile` still embeds it.
let snappyAddon: typeof Snappy | null = null;
function addon(): typeof Snappy {
  return (snappyAddon ??= loadAddon("snappy", () => require("snappy") as typeof Snappy));
}

export const XERIAL_MAGIC = new Uint8Array([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_BYTES = 16;

export function compressSnappy(data: Uint8Array): Uint8Array {
  return addon().compressSync(asBuffer(data), { copyOutputData: true }); // see decompressRawBlock
}

/** The xerial framing (for tests and for clients that want it): one header, chunks of at most chunkBytes. */
export function compressSnappyXerial(data: Uint8Array, chunkBytes = 32 * 1024): Uint8Array {
  const parts: Uint8Array[] = [];
  const header = new Uint8Array(XERIAL_HEADER_BYTES);
  header.set(XERIAL_MAGIC);
  header[11] = 1; // version 1
  header[15] = 1; // compatible version 1
  parts.push(header);
  for (let start = 0; start < data.length || start === 0; start += chunkBytes) {
    const block = addon().compressSync(asBuffer(data.subarray(start, start + chunkBytes)));
    const length = new Uint8Array(4);
    new DataView(length.buffer).setUint32(0, block.length);
    parts.push(length, block);
    if (data.length === 0) break;
  }
  return Buffer.concat(parts);
}

export function isXerialSnappy(data: Uint8Array): boolean {
  if (data.length < XERIAL_HEADER_BYTES) return false;
  for (let i = 0; i < XERIAL_MAGIC.length; i++) if (data[i] !== XERIAL_MAGIC[i]) return false;
  return true;
}

/** The uncompressed length a raw block declares, or -1 when its varint is malformed. */
function rawUncompressedLength(block: Uint8Array): number {
  let value = 0;
  for (let i = 0; i < 5 && i < block.length; i++) {
    const byte = block[i]!;
    value += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) return value;
  }
  return -1;
}

function decompressRawBlock(block: Uint8Array): Uint8Array | string {
  try {
    // copyOutputData: the output lands in memory Bun allocates (reused) instead of a fresh external buffer from the
    // addon, whose first-touch page faults made it ~7x slower here (bench/codecs.ts: ~380 vs ~2,600 MB/s).
    return addon().uncompressSync(asBuffer(block), { asBuffer: true, copyOutputData: true }) as Buffer;
  } catch (error) {
    return `snappy data is corrupt: ${(error as Error).message}`;
  }
}

export function decompressSnappy(data: Uint8Array, maxBytes: number): DecompressResult {
  if (!isXerialSnappy(data)) {
    const length = rawUncompressedLength(data);
    if (length < 0) return malformed("snappy block has a malformed length preamble");
    if (length > maxBytes) return tooLarge(`snappy block declares ${length} bytes, more than ${maxBytes}`);
    const output = decompressRawBlock(data);
    return typeof output === "string" ? malformed(output) : decompressed(output);
  }
  // xerial: check every chunk's declared size first, then expand into one buffer.
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (let at = XERIAL_HEADER_BYTES; at < data.length; ) {
    if (data.length - at < 4) return malformed(`xerial snappy chunk header truncated at byte ${at}`);
    const chunkLength = readUint32BigEndian(data, at);
    at += 4;
    if (chunkLength > data.length - at) return malformed(`xerial snappy chunk of ${chunkLength} bytes is truncated`);
    const chunk = data.subarray(at, at + chunkLength);
    at += chunkLength;
    const length = rawUncompressedLength(chunk);
    if (length < 0) return malformed("xerial snappy chunk has a malformed length preamble");
    total += length;
    if (total > maxBytes) return tooLarge(`xerial snappy chunks declare more than ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  const output = new Uint8Array(total);
  let written = 0;
  for (const chunk of chunks) {
    const block = decompressRawBlock(chunk);
    if (typeof block === "string") return malformed(block);
    output.set(block, written);
    written += block.length;
  }
  return written === total ? decompressed(output) : malformed("xerial snappy chunks disagree with their preambles");
}
