// zstd, Kafka codec 4 (KIP-110: Produce v7+, Fetch v10+): Bun's built-in libzstd (`Bun.zstdCompressSync`/
// `Bun.zstdDecompressSync`), not @bokuweb/zstd-wasm, whose init() reads its .wasm from the build machine's path
// inside a compiled binary and whose decompress() assumes 1 MiB of output for frames without a content size.
// Frames with and without the content size field are read (librdkafka writes it, zstd streaming APIs do not).
//
// Before expanding, every frame is walked (RFC 8878 §3.1): header, every block header, the optional checksum.
// That refuses truncated input (node:zlib's zstdDecompressSync returns an empty buffer for it, no error), and the
// sum of each block's largest output (raw: its size; RLE: its size; compressed: min(window, 128 KiB)) bounds the
// output: over maxBytes it is a bomb, refused before any allocation.

import { decompressed, malformed, readUint32LittleEndian, tooLarge, type DecompressResult } from "./result.ts";

const FRAME_MAGIC = 0xfd2fb528;
const SKIPPABLE_MAGIC_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
const BLOCK_MAX_BYTES = 128 * 1024;
const FCS_BYTES = [0, 2, 4, 8];
const DICTIONARY_ID_BYTES = [0, 1, 2, 4];

export function compressZstd(data: Uint8Array): Uint8Array {
  return Bun.zstdCompressSync(data);
}

/** The most bytes the frames can expand to, or an error message when their structure is broken. */
export function zstdOutputBound(data: Uint8Array): number | string {
  let bound = 0;
  let at = 0;
  if (data.length === 0) return "zstd data is empty";
  while (at < data.length) {
    if (data.length - at < 4) return `zstd data has ${data.length - at} stray bytes at ${at}`;
    const magic = readUint32LittleEndian(data, at);
    if ((magic & SKIPPABLE_MAGIC_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      if (data.length - at < 8) return "zstd skippable frame truncated";
      at += 8 + readUint32LittleEndian(data, at + 4);
      if (at > data.length) return "zstd skippable frame truncated";
      continue;
    }
    if (magic !== FRAME_MAGIC) return `zstd frame magic ${magic.toString(16)} at byte ${at} is not fd2fb528`;
    if (data.length - at < 5) return "zstd frame header truncated";
    const descriptor = data[at + 4]!;
    if (descriptor & 0x08) return "zstd frame header has its reserved bit set";
    const singleSegment = (descriptor & 0x20) !== 0;
    const fcsFlag = descriptor >> 6;
    const fcsBytes = fcsFlag === 0 && singleSegment ? 1 : FCS_BYTES[fcsFlag]!;
    let headerAt = at + 5;
    let windowBytes = 0;
    if (!singleSegment) {
      if (headerAt >= data.length) return "zstd frame header truncated";
      const windowDescriptor = data[headerAt++]!;
      const windowBase = 2 ** (10 + (windowDescriptor >> 3));
      windowBytes = windowBase + (windowBase / 8) * (windowDescriptor & 0x07);
    }
    headerAt += DICTIONARY_ID_BYTES[descriptor & 0x03]!;
    if (headerAt + fcsBytes > data.length) return "zstd frame header truncated";
    let contentBytes = -1;
    if (fcsBytes > 0) {
      contentBytes = 0;
      for (let i = fcsBytes - 1; i >= 0; i--) contentBytes = contentBytes * 256 + data[headerAt + i]!;
      if (fcsBytes === 2) contentBytes += 256;
    }
    if (singleSegment) windowBytes = contentBytes; // the window is the content size
    headerAt += fcsBytes;
    const frameBoundStart = bound;
    const blockMaxBytes = Math.min(windowBytes, BLOCK_MAX_BYTES);
    at = headerAt;
    for (let last = false; !last; ) {
      if (data.length - at < 3) return "zstd frame truncated: a block header is missing";
      const blockHeader = data[at]! | (data[at + 1]! << 8) | (data[at + 2]! << 16);
      at += 3;
      last = (blockHeader & 1) === 1;
      const blockType = (blockHeader >> 1) & 0x03;
      const blockBytes = blockHeader >>> 3;
      if (blockType === 3) return "zstd block has the reserved type";
      if (blockType === 1) {
        bound += blockBytes; // RLE: one byte repeated blockBytes times
        at += 1;
      } else {
        bound += blockType === 0 ? blockBytes : blockMaxBytes;
        at += blockBytes;
      }
      if (at > data.length) return "zstd block truncated";
    }
    if (descriptor & 0x04) at += 4;
    if (at > data.length) return "zstd frame checksum truncated";
    // A declared content size the blocks cannot hold is a lie (libzstd may size its output by it before failing).
    if (contentBytes > bound - frameBoundStart) return `zstd frame declares ${contentBytes} bytes, more than its blocks can hold`;
  }
  return bound;
}

export function decompressZstd(data: Uint8Array, maxBytes: number): DecompressResult {
  const bound = zstdOutputBound(data);
  if (typeof bound === "string") return malformed(bound);
  if (bound > maxBytes) return tooLarge(`zstd frames may expand to ${bound} bytes, more than ${maxBytes}`);
  let output: Uint8Array;
  try {
    output = Bun.zstdDecompressSync(data);
  } catch (error) {
    return malformed(`zstd data is corrupt: ${(error as Error).message}`);
  }
  if (output.length > maxBytes) return tooLarge(`zstd frames expand to ${output.length} bytes, more than ${maxBytes}`);
  return decompressed(output);
}
