// Codec throughput, MB/s of uncompressed data, on 1 MiB of JSON-like records: each candidate side by side in one
// run. Run under bun (`bun bench/codecs.ts`) and inside a compiled binary
// (`bun build --compile bench/codecs.ts --outfile /tmp/codecs && /tmp/codecs`): the codec choices in
// src/compression/ must hold in the binary, where kgate runs.
// Dropped after this comparison (2026-11-25, 1 MiB, this machine), so no longer imported here:
// - fflate gzip: 52 / 110 MB/s under bun, 40 / 87 in the binary, against node:zlib's 150 / 1,432 and 115 / 802.
// - @bokuweb/zstd-wasm: not measured; its init() reads the .wasm from the build machine's path (fails in the binary)
//   and decompress() assumes 1 MiB of output without a content size (PERFORMANCE.md). Bun's built-in has neither.

import { decompressFrameSync } from "lz4-napi";
import { gunzipSync, gzipSync } from "node:zlib";
import { compress, decompress, Codec } from "../src/compression/index.ts";

const data = new TextEncoder().encode(
  Array.from({ length: 12000 }, (_, i) =>
    JSON.stringify({ id: i, user: `user-${i % 97}`, event: ["click", "view", "buy"][i % 3], ts: 1764000000000 + i * 17, price: (i * 7919) % 10000 / 100, tags: ["a", "b", `t${i % 13}`] }),
  ).join("\n"),
).subarray(0, 1024 * 1024);
const MB = data.length / 1e6;

function measure(run: () => unknown): number {
  for (let i = 0; i < 3; i++) run();
  let iterations = 0;
  const start = performance.now();
  while (performance.now() - start < 600) {
    run();
    iterations++;
  }
  return (iterations * MB) / ((performance.now() - start) / 1000);
}

function row(name: string, compressFn: () => Uint8Array, decompressFn: (c: Uint8Array) => unknown): void {
  const compressed = compressFn();
  const c = measure(compressFn);
  const d = measure(() => decompressFn(compressed));
  console.log(`${name.padEnd(34)} ratio ${(data.length / compressed.length).toFixed(1).padStart(5)}  compress ${c.toFixed(0).padStart(6)} MB/s  decompress ${d.toFixed(0).padStart(6)} MB/s`);
}

const max = 64 * 1024 * 1024;
const ok = (r: ReturnType<typeof decompress>) => {
  if (!r.ok) throw new Error(r.message);
  return r.data;
};
console.log(`${data.length} bytes of JSON-like records; ${Bun.version}; compiled=${Bun.main.startsWith("/$bunfs")}`);
row("gzip node:zlib (Bun built-in)", () => gzipSync(data), (c) => gunzipSync(c));
row("gzip kgate (node:zlib, bounded)", () => compress(Codec.gzip, data), (c) => ok(decompress(Codec.gzip, c, max)));
row("snappy kgate (snappy napi, raw)", () => compress(Codec.snappy, data), (c) => ok(decompress(Codec.snappy, c, max)));
row("lz4 lz4-napi frame decoder", () => compress(Codec.lz4, data), (c) => decompressFrameSync(Buffer.from(c)));
row("lz4 kgate (lz4-napi, block by block)", () => compress(Codec.lz4, data), (c) => ok(decompress(Codec.lz4, c, max)));
row("zstd Bun built-in (raw calls)", () => Bun.zstdCompressSync(data), (c) => Bun.zstdDecompressSync(c));
row("zstd kgate (Bun built-in, walked)", () => compress(Codec.zstd, data), (c) => ok(decompress(Codec.zstd, c, max)));
