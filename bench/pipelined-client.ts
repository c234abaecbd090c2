// A TCP client for benchmarks that pipeline requests and only count the answers: node:net buffers what the kernel
// does not take at once (1 MiB frames), and a response is counted when its whole frame has arrived.

import { connect } from "node:net";

export interface PipelinedClient {
  write(frame: Uint8Array): void;
  /** Waits for the next counted response; false when none came within timeoutMs. */
  nextResponse(timeoutMs?: number): Promise<boolean>;
  close(): void;
}

export async function connectPipelined(port: number): Promise<PipelinedClient> {
  const socket = connect(port, "127.0.0.1");
  await new Promise((resolve) => socket.once("connect", resolve));
  let pending = Buffer.alloc(0);
  let responses = 0;
  let wake: (() => void) | null = null;
  socket.on("data", (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
      pending = pending.subarray(4 + pending.readInt32BE(0));
      responses++;
    }
    wake?.();
  });
  return {
    write: (frame) => void socket.write(frame),
    async nextResponse(timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (responses === 0 && Date.now() < deadline) await new Promise<void>((resolve) => ((wake = resolve), setTimeout(resolve, 50)));
      if (responses === 0) return false;
      responses--;
      return true;
    },
    close: () => void socket.end(),
  };
}
