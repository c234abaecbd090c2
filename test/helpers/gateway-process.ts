// Runs kgate as a child process (the compiled binary or `bun src/main.ts`) and finds the port it bound.

import { spawn, type Subprocess } from "bun";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const repoRoot = join(import.meta.dir, "../..");
export const binaryPath = join(repoRoot, "dist/kgate");

function newestSourceMtimeMs(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSourceMtimeMs(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Builds dist/kgate with build.ts unless it is newer than every source file. */
export async function ensureBinary(): Promise<string> {
  let fresh = false;
  try {
    fresh = statSync(binaryPath).mtimeMs > newestSourceMtimeMs(join(repoRoot, "src"));
  } catch {}
  if (!fresh) {
    const build = spawn([process.execPath, "build.ts"], { cwd: repoRoot, stdout: "pipe", stderr: "pipe" });
    if ((await build.exited) !== 0) throw new Error(`build.ts failed: ${await new Response(build.stderr).text()}`);
  }
  return binaryPath;
}

export interface GatewayProcess extends AsyncDisposable {
  readonly process: Subprocess<"ignore", "pipe", "pipe">;
  readonly port: number;
  readonly bootstrap: string;
  /** Everything it logged so far. */
  output(): string;
  /** Its exit code, once everything it wrote has been read (output() can lag behind the exit otherwise). */
  finished(): Promise<number>;
}

/** Starts `command` (plus --listen 127.0.0.1:0 unless it gives --listen or --listeners) and waits for its "kafka listener up" line. */
export async function startGatewayProcess(
  command: string[],
  { cwd, timeoutMs = 30_000, env }: { cwd?: string; timeoutMs?: number; env?: Record<string, string | undefined> } = {},
): Promise<GatewayProcess> {
  const args = command.includes("--listen") || command.includes("--listeners") ? command : [...command, "--listen", "127.0.0.1:0"];
  const child = spawn(args, { cwd, env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  let logged = "";
  const decoder = new TextDecoder();
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) logged += decoder.decode(chunk);
  };
  const pumped = Promise.all([pump(child.stderr), pump(child.stdout)]);
  const finished = async () => {
    const code = await child.exited;
    await pumped;
    return code;
  };
  const deadline = Date.now() + timeoutMs;
  let port = 0;
  while (port === 0) {
    const match = /kafka listener up listen=[^\s]*:(\d+)/.exec(logged);
    if (match) port = Number(match[1]);
    else if (child.exitCode !== null) throw new Error(`gateway exited with ${await finished()}:\n${logged}`);
    else if (Date.now() > deadline) {
      child.kill(9);
      throw new Error(`gateway did not start within ${timeoutMs} ms:\n${logged}`);
    } else await Bun.sleep(10);
  }
  return {
    process: child,
    port,
    bootstrap: `127.0.0.1:${port}`,
    output: () => logged,
    finished,
    async [Symbol.asyncDispose]() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        const exited = await Promise.race([child.exited, Bun.sleep(5_000).then(() => null)]);
        if (exited === null) {
          child.kill(9);
          // The data folder's lock is released only once the process is gone: a restart must not race it.
          await child.exited;
        }
      }
      await pumped;
    },
  };
}
