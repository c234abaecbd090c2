// LZ4, Kafka codec 3: the LZ4 frame format (lz4.github.io/lz4/lz4_Frame_format.md) through the `lz4-napi` package
// (Rust lz4_flex), embedded by `bun build --compile`. KIP-57: magic 0 messages (Kafka 0.8–0.9) computed the frame
// header checksum over the magic number as well as the descriptor; Kafka reads magic 0 without checking it and
// writes magic 0 with the broken value (`KafkaLZ4BlockOutputStream.useBrokenFlagDescriptorChecksum`). With
// `brokenHeaderChecksum` we do the same: accept either checksum on read, write the broken one.
//
// Before expanding, the frame is walked (header, every block header, end mark, checksums): a truncated frame is
// refused, and the sum of each block's largest possible output (its size when stored uncompressed, else the
// frame's block maximum) bounds the output; over maxBytes it is a bomb.
// Frames of independent blocks (all Kafka clients: Kafka's own reader refuses dependent ones) are then expanded
// block by block with lz4-napi's block decoder into one output buffer, checking the optional xxHash32 block and
// content checksums: ~10x faster than its frame decoder (`decompressFrameSync` ~400 MB/s here, bench/codecs.ts),
// which stays the path for frames of linked blocks.

import type * as Lz4 from "lz4-napi";
import { loadAddon } from "./load-addon.ts";
import { asBuffer, decompressed, malformed, readUint32LittleEndian, tooLarge, type DecompressResult } from "./result.ts";

// Loaded on first use, like the snappy addon (snappy.ts).
let lz4Addon: typeof Lz4 | null = null;
function addon(): typeof Lz4 {
  return (lz4Addon ??= loadAddon("lz4", () => require("lz4-napi") as typeof Lz4));
}

const FRAME_MAGIC = 0x184d2204;
const SKIPPABLE_MAGIC_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
const BLOCK_MAX_BYTES = [0, 0, 0, 0, 64 * 1024, 256 * 1024, 1024 * 1024, 4 * 1024 * 1024];
const UNCOMPRESSED_BLOCK_BIT = 0x80000000;

export function compressLz4(data: Uint8Array, brokenHeaderChecksum = false): Uint8Array {
  const frame = addon().compressFrameSync(asBuffer(data));
  if (brokenHeaderChecksum) {
    const hcAt = headerChecksumPosition(frame);
    frame[hcAt] = (Bun.hash.xxHash32(frame.subarray(0, hcAt), 0) >>> 8) & 0xff;
  }
  return frame;
}

/** Where a frame's header checksum byte sits (after magic, FLG, BD and the optional content size and dictionary id). */
function headerChecksumPosition(frame: Uint8Array): number {
  const flags = frame[4]!;
  return 6 + (flags & 0x08 ? 8 : 0) + (flags & 0x01 ? 4 : 0);
}

function correctHeaderChecksum(frame: Uint8Array, at: number, hcAt: number): number {
  return (Bun.hash.xxHash32(frame.subarray(at + 4, hcAt), 0) >>> 8) & 0xff;
}

interface Lz4Block {
  start: number;
  bytes: number;
  stored: boolean;
  blockMaxBytes: number;
  /** Position of the block's xxHash32, or -1. */
  checksumAt: number;
}

interface Lz4FrameEnd {
  /** Index in `blocks` after the frame's last block. */
  blocksEnd: number;
  /** Position of the content xxHash32, or -1. */
  checksumAt: number;
}

export function decompressLz4(data: Uint8Array, maxBytes: number, brokenHeaderChecksum = false): DecompressResult {
  let input = data;
  let bound = 0;
  let at = 0;
  let allIndependent = true;
  const blocks: Lz4Block[] = [];
  const frames: Lz4FrameEnd[] = [];
  while (at < data.length) {
    if (data.length - at < 4) return malformed(`lz4 data has ${data.length - at} stray bytes at ${at}`);
    const magic = readUint32LittleEndian(data, at);
    if ((magic & SKIPPABLE_MAGIC_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      if (data.length - at < 8) return malformed("lz4 skippable frame truncated");
      at += 8 + readUint32LittleEndian(data, at + 4);
      if (at > data.length) return malformed("lz4 skippable frame truncated");
      continue;
    }
    if (magic !== FRAME_MAGIC) return malformed(`lz4 frame magic ${magic.toString(16)} at byte ${at} is not 184d2204`);
    if (data.length - at < 7) return malformed("lz4 frame header truncated");
    const flags = data[at + 4]!;
    const blockDescriptor = data[at + 5]!;
    if (flags >> 6 !== 1) return malformed(`lz4 frame version ${flags >> 6} is not 1`);
    const blockMaxBytes = BLOCK_MAX_BYTES[(blockDescriptor >> 4) & 0x07]!;
    if (blockMaxBytes === 0) return malformed(`lz4 frame block size id ${(blockDescriptor >> 4) & 0x07} is invalid`);
    const hcAt = at + headerChecksumPosition(data.subarray(at));
    if (hcAt >= data.length) return malformed("lz4 frame header truncated");
    const expected = correctHeaderChecksum(data, at, hcAt);
    if (data[hcAt] !== expected) {
      const broken = (Bun.hash.xxHash32(data.subarray(at, hcAt), 0) >>> 8) & 0xff;
      if (!brokenHeaderChecksum || data[hcAt] !== broken) return malformed("lz4 frame header checksum mismatch");
      if (input === data) input = data.slice();
      input[hcAt] = expected;
    }
    const blockChecksumBytes = flags & 0x10 ? 4 : 0;
    if ((flags & 0x20) === 0) allIndependent = false;
    at = hcAt + 1;
    for (;;) {
      if (data.length - at < 4) return malformed("lz4 frame truncated: no end mark");
      const blockHeader = readUint32LittleEndian(data, at);
      at += 4;
      if (blockHeader === 0) break;
      const blockBytes = (blockHeader & ~UNCOMPRESSED_BLOCK_BIT) >>> 0;
      if (blockBytes > blockMaxBytes) return malformed(`lz4 block of ${blockBytes} bytes exceeds the frame's ${blockMaxBytes}`);
      const stored = (blockHeader & UNCOMPRESSED_BLOCK_BIT) !== 0;
      bound += stored ? blockBytes : blockMaxBytes;
      blocks.push({ start: at, bytes: blockBytes, stored, blockMaxBytes, checksumAt: blockChecksumBytes ? at + blockBytes : -1 });
      at += blockBytes + blockChecksumBytes;
      if (at > data.length) return malformed("lz4 block truncated");
    }
    frames.push({ blocksEnd: blocks.length, checksumAt: flags & 0x04 ? at : -1 });
    at += flags & 0x04 ? 4 : 0; // content checksum
    if (at > data.length) return malformed("lz4 content checksum truncated");
  }
  // A bound over maxBytes by less than one block may still be a legal final short block: lz4_flex's output is
  // checked again below.
  if (bound > maxBytes + 4 * 1024 * 1024) return tooLarge(`lz4 frame may expand to ${bound} bytes, more than ${maxBytes}`);
  if (allIndependent) return decompressBlocks(data, blocks, frames, Math.min(bound, maxBytes));
  let output: Uint8Array;
  try {
    output = addon().decompressFrameSync(asBuffer(input));
  } catch (error) {
    return malformed(`lz4 data is corrupt: ${(error as Error).message}`);
  }
  if (output.length > maxBytes) return tooLarge(`lz4 frame expands to ${output.length} bytes, more than ${maxBytes}`);
  return decompressed(output);
}

/** Expands independent blocks one by one into one buffer of at most `capacity` bytes. */
function decompressBlocks(data: Uint8Array, blocks: Lz4Block[], frames: Lz4FrameEnd[], capacity: number): DecompressResult {
  const output = new Uint8Array(capacity);
  let written = 0;
  let blockIndex = 0;
  for (const frame of frames) {
    const frameStart = written;
    for (; blockIndex < frame.blocksEnd; blockIndex++) {
      const block = blocks[blockIndex]!;
      const payload = data.subarray(block.start, block.start + block.bytes);
      if (block.checksumAt >= 0 && Bun.hash.xxHash32(payload, 0) >>> 0 !== readUint32LittleEndian(data, block.checksumAt)) {
        return malformed("lz4 block checksum mismatch");
      }
      let expanded: Uint8Array = payload;
      if (!block.stored) {
        // lz4-napi's block decoder wants the output size first (lz4_flex `decompress_size_prepended`); the block
        // maximum works as a ceiling and the decoder reports the real size.
        const prefixed = Buffer.allocUnsafe(4 + block.bytes);
        prefixed.writeUInt32LE(block.blockMaxBytes, 0);
        prefixed.set(payload, 4);
        try {
          expanded = addon().uncompressSync(prefixed);
        } catch (error) {
          return malformed(`lz4 block is corrupt: ${(error as Error).message}`);
        }
      }
      if (written + expanded.length > capacity) return tooLarge(`lz4 frame expands past ${capacity} bytes`);
      output.set(expanded, written);
      written += expanded.length;
    }
    if (frame.checksumAt >= 0 && Bun.hash.xxHash32(output.subarray(frameStart, written), 0) >>> 0 !== readUint32LittleEndian(data, frame.checksumAt)) {
      return malformed("lz4 content checksum mismatch");
    }
  }
  return decompressed(output.subarray(0, written));
}
