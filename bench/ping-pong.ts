// Bun TCP ping-pong: the round-trip floor that kgate's produce latency is compared with.
//
//   bun bench/ping-pong.ts [--rounds N] [--size BYTES] [--json]
//
// The client (this process) spawns the echo server as a separate Bun process
// (`bun bench/ping-pong.ts --server`), connects over 127.0.0.1, sends one
// small frame, waits for all of it to come back, and repeats. Prints the
// round-trip p50/p99/mean in microseconds (one JSON line with --json).

import type { Socket } from "bun";

const args = process.argv.slice(2);

function argValue(flag: string, fallback: number): number {
  const i = args.indexOf(flag);
  if (i < 0 || i + 1 >= args.length) return fallback;
  const n = Number(args[i + 1]);
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : fallback;
}

function setNoDelay(socket: Socket<unknown>): void {
  const s = socket as unknown as { setNoDelay?: (on: boolean) => void };
  s.setNoDelay?.(true);
}

if (args.includes("--server")) {
  const server = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(socket) {
        setNoDelay(socket);
      },
      data(socket, data) {
        socket.write(data);
      },
    },
  });
  process.stdout.write(`PORT ${server.port}\n`);
  // Exit when the parent goes away (stdin closes) or on a signal.
  process.stdin.on("end", () => process.exit(0));
  process.stdin.resume();
  process.on("SIGTERM", () => process.exit(0));
  process.on("SIGINT", () => process.exit(0));
} else {
  await client();
}

async function client(): Promise<void> {
  const rounds = argValue("--rounds", 20_000);
  const size = argValue("--size", 32);
  const warmup = Math.min(2_000, Math.max(100, Math.floor(rounds / 10)));
  const json = args.includes("--json");

  const server = Bun.spawn([process.execPath, import.meta.path, "--server"], {
    stdin: "pipe",
    stdout: "pipe",
    stderr: "inherit",
  });
  const killServer = (): void => {
    try {
      server.kill("SIGTERM");
    } catch {}
  };
  process.on("exit", killServer);

  try {
    const port = await readPort(server.stdout, 10_000);
    const frame = new Uint8Array(size).fill(0x61);
    const samples = new Float64Array(rounds);

    await new Promise<void>((resolve, reject) => {
      let received = 0;
      let sentAt = 0;
      let done = 0; // completed round trips, warm-up included
      const total = warmup + rounds;
      const timer = setTimeout(() => reject(new Error("ping-pong timed out")), 120_000);

      const send = (socket: Socket<unknown>): void => {
        received = 0;
        sentAt = Bun.nanoseconds();
        socket.write(frame);
      };

      Bun.connect({
        hostname: "127.0.0.1",
        port,
        socket: {
          open(socket) {
            setNoDelay(socket);
            send(socket);
          },
          data(socket, data) {
            received += data.byteLength;
            if (received < size) return;
            const rtt = (Bun.nanoseconds() - sentAt) / 1000;
            if (done >= warmup) samples[done - warmup] = rtt;
            done++;
            if (done >= total) {
              clearTimeout(timer);
              socket.end();
              resolve();
              return;
            }
            send(socket);
          },
          error(_socket, err) {
            clearTimeout(timer);
            reject(err);
          },
          connectError(_socket, err) {
            clearTimeout(timer);
            reject(err);
          },
        },
      }).catch(reject);
    });

    const sorted = Array.from(samples).sort((a, b) => a - b);
    const pct = (p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
    const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
    const result = {
      rounds,
      size,
      p50us: round1(pct(50)),
      p99us: round1(pct(99)),
      meanus: round1(mean),
      perSec: Math.round(1e6 / mean),
    };
    if (json) console.log(JSON.stringify(result));
    else
      console.log(
        `ping-pong: ${rounds} round trips of ${size} B: p50 ${result.p50us} us, p99 ${result.p99us} us, mean ${result.meanus} us (${result.perSec}/s)`,
      );
  } finally {
    killServer();
  }
  process.exit(0);
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}

async function readPort(stream: ReadableStream<Uint8Array>, timeoutMs: number): Promise<number> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const timeout = new Promise<{ done: true; value: undefined }>((r) =>
      setTimeout(() => r({ done: true, value: undefined }), Math.max(1, deadline - Date.now())),
    );
    const { done, value } = await Promise.race([reader.read(), timeout]);
    if (value) text += decoder.decode(value, { stream: true });
    const m = /PORT (\d+)/.exec(text);
    if (m) {
      reader.releaseLock();
      return Number(m[1]);
    }
    if (done) break;
  }
  throw new Error(`ping-pong server did not report its port: ${JSON.stringify(text)}`);
}
