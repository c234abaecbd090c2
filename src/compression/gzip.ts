// gzip (RFC 1952), Kafka codec 1: Bun's built-in zlib (node:zlib, native), not fflate. Measured in bench/codecs.ts.
// A stream may hold several members (concatenated gzip files); zlib reads them all, as Java's GZIPInputStream does.
// maxOutputLength makes zlib stop as soon as the output passes maxBytes, so a bomb costs ~1 ms, not its size.

import { gunzipSync, gzipSync } from "node:zlib";
import { asBuffer, decompressed, malformed, tooLarge, type DecompressResult } from "./result.ts";

export function compressGzip(data: Uint8Array): Uint8Array {
  return gzipSync(asBuffer(data));
}

export function decompressGzip(data: Uint8Array, maxBytes: number): DecompressResult {
  try {
    return decompressed(gunzipSync(asBuffer(data), { maxOutputLength: Math.max(maxBytes, 1) }));
  } catch (error) {
    if ((error as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") {
      return tooLarge(`gzip data expands beyond ${maxBytes} bytes`);
    }
    return malformed(`gzip data is corrupt: ${(error as Error).message}`);
  }
}
