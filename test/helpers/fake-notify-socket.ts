// A fake systemd notify socket: an AF_UNIX datagram socket bound by Python (Bun has none), collecting the messages
// sd_notify sends, as `systemd-notify`'s receiving end would.

import { spawn } from "bun";

const python = Bun.which("python3");

export const fakeNotifySocketAvailable = python !== null;

export interface FakeNotifySocket extends Disposable {
  /** Resolves once `message` (its lines joined by spaces) has arrived; throws after timeoutMs. */
  received(message: string, timeoutMs?: number): Promise<void>;
}

/** Binds at `name` ("@x": the abstract namespace) and resolves once bound. */
export async function fakeNotifySocket(name: string): Promise<FakeNotifySocket> {
  if (python === null) throw new Error("python3 is not installed");
  const script = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
name = sys.argv[1]
s.bind("\\0" + name[1:] if name.startswith("@") else name)
print("bound", flush=True)
while True:
    print(s.recv(4096).decode().replace("\\n", " "), flush=True)
`;
  const child = spawn([python, "-c", script, name], { stdout: "pipe", stderr: "inherit" });
  const lines: string[] = [];
  void (async () => {
    let buffered = "";
    for await (const chunk of child.stdout) {
      buffered += new TextDecoder().decode(chunk);
      const parts = buffered.split("\n");
      buffered = parts.pop()!;
      lines.push(...parts);
    }
  })();
  const waitFor = async (line: string, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (!lines.includes(line)) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`fake notify socket: no ${JSON.stringify(line)} within ${timeoutMs} ms; got ${JSON.stringify(lines)}`);
      await Bun.sleep(10);
    }
  };
  await waitFor("bound", 10_000);
  return {
    received: (message, timeoutMs = 15_000) => waitFor(message, timeoutMs),
    [Symbol.dispose]: () => child.kill(),
  };
}
