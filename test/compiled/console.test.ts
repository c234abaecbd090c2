// The web console's files are inside the compiled executable: run from an empty folder, dist/kgate serves the page,
// its script, uPlot and the console's API on the HTTP listener, gzipped when the browser takes gzip.

import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureBinary, startGatewayProcess } from "../helpers/gateway-process.ts";

test("dist/kgate serves the web console from inside the executable", async () => {
  const binary = await ensureBinary();
  const folder = mkdtempSync(join(tmpdir(), "kgate-console-binary-"));
  try {
    await using gateway = await startGatewayProcess([binary, "--memory", "--registry-listen", "127.0.0.1:0"], { cwd: folder });
    let port = 0;
    for (let i = 0; i < 100 && port === 0; i++) {
      port = Number(/schema registry up.*listen=\S+:(\d+)/.exec(gateway.output())?.[1] ?? 0);
      if (port === 0) await Bun.sleep(50);
    }
    expect(port).toBeGreaterThan(0);
    const base = `http://127.0.0.1:${port}`;
    const page = await fetch(`${base}/ui/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<script src="assets/console.js">');
    for (const asset of ["console.js", "console.css", "uplot.js", "uplot.css"]) {
      const response = await fetch(`${base}/ui/assets/${asset}`, { decompress: false, headers: { "accept-encoding": "gzip" } });
      expect(response.status).toBe(200);
      expect(response.headers.get("content-encoding")).toBe("gzip");
      expect(Bun.gunzipSync(new Uint8Array(await response.arrayBuffer())).length).toBeGreaterThan(1_000);
    }
    expect(await (await fetch(`${base}/ui/api/session`)).json()).toMatchObject({ user: "anonymous", canChange: true });
    const redirect = await fetch(`${base}/`, { headers: { accept: "text/html" }, redirect: "manual" });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get("location")).toBe("/ui/");
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}, 60_000);
