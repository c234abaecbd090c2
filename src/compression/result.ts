// What a decompressor reports: the bytes, or why it refused them. Client data never throws out of src/compression.

export type DecompressResult =
  | { ok: true; data: Uint8Array }
  | {
      ok: false;
      /** True when the output would exceed the caller's maxBytes (a decompression bomb or an oversized batch). */
      tooLarge: boolean;
      message: string;
    };

export function decompressed(data: Uint8Array): DecompressResult {
  return { ok: true, data };
}

export function malformed(message: string): DecompressResult {
  return { ok: false, tooLarge: false, message };
}

export function tooLarge(message: string): DecompressResult {
  return { ok: false, tooLarge: true, message };
}

export function readUint32LittleEndian(bytes: Uint8Array, at: number): number {
  return (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
}

export function readUint32BigEndian(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}

/** A Buffer over the same memory (the napi packages and node:zlib want Buffers); no copy. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}
