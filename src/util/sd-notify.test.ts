// sd_notify against a fake notify socket (test/helpers/fake-notify-socket.ts: Python binds the AF_UNIX datagram socket
// systemd would, so the address layout is checked by another implementation than ours).

import { expect, test } from "bun:test";
import { spawn } from "bun";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fakeNotifySocket, fakeNotifySocketAvailable } from "../../test/helpers/fake-notify-socket.ts";
import { notifySocketAddress, notifySystemd } from "./sd-notify.ts";

if (!fakeNotifySocketAvailable) console.log("SKIPPED: sd_notify against a fake notify socket: python3 is not installed");

test("the socket address: family AF_UNIX (1, little-endian), the path with its NUL, or a NUL then the abstract name", () => {
  expect([...notifySocketAddress("/run/n")!]).toEqual([1, 0, 0x2f, 0x72, 0x75, 0x6e, 0x2f, 0x6e, 0]);
  expect([...notifySocketAddress("@n1")!]).toEqual([1, 0, 0, 0x6e, 0x31]);
  expect(notifySocketAddress("vsock:2:1234")).toBeNull();
  expect(notifySocketAddress("/" + "x".repeat(107))).toBeNull();
});

test("without NOTIFY_SOCKET nothing is sent", () => {
  expect(notifySystemd("READY=1", {})).toBe(false);
});

test.skipIf(!fakeNotifySocketAvailable)("READY=1 reaches a notify socket at a path and in the abstract namespace", async () => {
  const folder = mkdtempSync(join(tmpdir(), "kgate-notify-"));
  try {
    for (const name of [join(folder, "notify"), `@kgate-notify-${process.pid}`]) {
      using socket = await fakeNotifySocket(name);
      expect(notifySystemd("READY=1", { NOTIFY_SOCKET: name })).toBe(true);
      await socket.received("READY=1");
    }
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}, 30_000);

test.skipIf(!fakeNotifySocketAvailable)("kgate sends READY=1 once it accepts connections, and STOPPING=1 on SIGTERM", async () => {
  const folder = mkdtempSync(join(tmpdir(), "kgate-notify-"));
  try {
    const name = join(folder, "notify");
    using socket = await fakeNotifySocket(name);
    const main = join(import.meta.dir, "../main.ts");
    const child = spawn([process.execPath, main, "--memory", "--listen", "127.0.0.1:0", "--registry-listen", "off"], { env: { ...process.env, NOTIFY_SOCKET: name }, stdout: "pipe", stderr: "pipe" });
    let logged = "";
    void (async () => {
      for await (const chunk of child.stderr) logged += new TextDecoder().decode(chunk);
    })();
    await socket.received("READY=1", 30_000);
    // The listener's log line was written before READY=1; reading the pipe may lag behind.
    const deadline = Date.now() + 10_000;
    while (!/kafka listener up/.test(logged) && Date.now() < deadline) await Bun.sleep(10);
    const port = Number(/kafka listener up listen=[^\s]*:(\d+)/.exec(logged)?.[1]);
    const connection = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
    connection.end();
    child.kill("SIGTERM");
    await socket.received("STOPPING=1");
    expect(await child.exited).toBe(0);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}, 60_000);
