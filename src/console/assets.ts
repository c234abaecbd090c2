// The console's files, inside the executable: imported as text so `bun build --compile` embeds them; nothing is
// fetched from elsewhere at run time. Each is gzipped once, at first use, and served with an ETag.

import indexPage from "./assets/index.html" with { type: "text" };
import consoleCss from "./assets/console.css" with { type: "text" };
import consoleJs from "./assets/console.js" with { type: "text" };
import uplotJs from "uplot/dist/uPlot.iife.min.js" with { type: "text" };
import uplotCss from "uplot/dist/uPlot.min.css" with { type: "text" };

/** bun-types types an .html import as an HTML bundle; imported as text it is the file's contents. */
const indexHtml = indexPage as unknown as string;

interface Asset {
  contentType: string;
  text: string;
}

const ASSETS: Record<string, Asset> = {
  "index.html": { contentType: "text/html; charset=utf-8", text: indexHtml },
  "console.css": { contentType: "text/css; charset=utf-8", text: consoleCss },
  "console.js": { contentType: "text/javascript; charset=utf-8", text: consoleJs },
  "uplot.js": { contentType: "text/javascript; charset=utf-8", text: uplotJs },
  "uplot.css": { contentType: "text/css; charset=utf-8", text: uplotCss },
};

interface Prepared {
  contentType: string;
  plain: Uint8Array<ArrayBuffer>;
  gzipped: Uint8Array<ArrayBuffer>;
  etag: string;
}

const prepared = new Map<string, Prepared>();

function prepare(name: string): Prepared | null {
  let ready = prepared.get(name);
  if (ready) return ready;
  const asset = ASSETS[name];
  if (!asset) return null;
  const plain = new TextEncoder().encode(asset.text);
  ready = { contentType: asset.contentType, plain, gzipped: Bun.gzipSync(plain, { level: 9 }), etag: `"${Bun.hash(plain).toString(36)}"` };
  prepared.set(name, ready);
  return ready;
}

/**
 * The page with the first data inline (`window.kgateBoot`: the session and the latest state), so the first render
 * does not wait for a round trip to the API; gzipped when the browser takes it.
 */
export function indexResponse(boot: unknown, request: Request): Response {
  const script = `<script>window.kgateBoot = ${JSON.stringify(boot).replace(/</g, "\\u003c")};</script>`;
  const page = new TextEncoder().encode(indexHtml.replace("<!--kgate-boot-->", script));
  const headers: Record<string, string> = { "content-type": "text/html; charset=utf-8", "cache-control": "no-store", vary: "accept-encoding" };
  if (/\bgzip\b/.test(request.headers.get("accept-encoding") ?? "")) return new Response(Bun.gzipSync(page), { headers: { ...headers, "content-encoding": "gzip" } });
  return new Response(page, { headers });
}

/** The assets' names, the page's template included (the measurement of their size reads them). */
export const assetNames = Object.keys(ASSETS);

/**
 * Serves one asset under /ui/assets/ (gzip when the browser takes it, 304 for a known ETag), or null for an unknown
 * name; the page itself only through indexResponse.
 */
export function assetResponse(name: string, request: Request): Response | null {
  const asset = name === "index.html" ? null : prepare(name);
  if (!asset) return null;
  const headers: Record<string, string> = { "content-type": asset.contentType, etag: asset.etag, "cache-control": "no-cache", vary: "accept-encoding" };
  if (request.headers.get("if-none-match") === asset.etag) return new Response(null, { status: 304, headers });
  if (/\bgzip\b/.test(request.headers.get("accept-encoding") ?? "")) return new Response(asset.gzipped, { headers: { ...headers, "content-encoding": "gzip" } });
  return new Response(asset.plain, { headers });
}

/** Bytes of every asset, plain and gzipped. */
export function assetSizes(): { name: string; bytes: number; gzipBytes: number }[] {
  return assetNames.map((name) => {
    const asset = prepare(name)!;
    return { name, bytes: asset.plain.length, gzipBytes: asset.gzipped.length };
  });
}
