// The floor under the uplink's CPU per GB forwarded: what the kernel alone charges a process that reads a cold log
// (pages dropped, as the file log's page-cache window leaves a backlog) in 1 MiB preads into one reused buffer and
// writes it to a loopback TCP socket whose reader is another process. No Kafka, no copies in JS, no CRC.
//
//   bun bench/uplink-floor.ts [MiB]        (default 512)
//
// Prints the process's user and system CPU per GB for the read alone, the send alone (from warm memory) and both.

import { spawn } from "bun";
import { closeSync, fsyncSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { libcPosixFadvise, POSIX_FADV_DONTNEED } from "../src/util/libc.ts";

const MiB = 1024 * 1024;
const totalMiB = Number(process.argv[2] ?? 512);
const folder = mkdtempSync(join(tmpdir(), "kgate-uplink-floor-"));
const path = join(folder, "segment.log");
const chunk = new Uint8Array(MiB);
for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 131) & 0xff;

// A cold file of totalMiB.
const writeFd = openSync(path, "w");
for (let i = 0; i < totalMiB; i++) writeSync(writeFd, chunk);
fsyncSync(writeFd);
libcPosixFadvise()!(writeFd, 0, 0, POSIX_FADV_DONTNEED);
closeSync(writeFd);

// The reader of the socket: another process, so its CPU is not ours.
const sink = spawn([process.execPath, "-e", `Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {}, open() {} } }); const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } }); console.log(s.port);`], { stdout: "pipe" });
const reader = sink.stdout.getReader();
const port = Number(new TextDecoder().decode((await reader.read()).value).trim());

const gb = (totalMiB * MiB) / 1e9;
function measure(label: string, run: () => Promise<void> | void): Promise<void> {
  const start = process.cpuUsage();
  const t0 = performance.now();
  return Promise.resolve(run()).then(() => {
    const used = process.cpuUsage(start);
    console.log(`${label.padEnd(28)} user ${(used.user / 1e6 / gb).toFixed(3)} s/GB  system ${(used.system / 1e6 / gb).toFixed(3)} s/GB  total ${((used.user + used.system) / 1e6 / gb).toFixed(3)} s/GB  ${((totalMiB * MiB) / 1e6 / ((performance.now() - t0) / 1e3)).toFixed(0)} MB/s`);
  });
}

async function send(socket: { write(data: Uint8Array): number }, data: Uint8Array, drained: () => Promise<void>): Promise<void> {
  let at = 0;
  while (at < data.length) {
    const written = socket.write(at === 0 ? data : data.subarray(at));
    at += written;
    if (at < data.length) await drained();
  }
}

let wake: (() => void) | null = null;
const socket = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {}, drain() { wake?.(); } } });
const drained = () => new Promise<void>((resolve) => (wake = resolve));

const readFd = openSync(path, "r");
/** Drops the file's pages; as root also every clean page (posix_fadvise alone leaves pages it thinks are in use). */
function dropCache(fd: number): void {
  libcPosixFadvise()!(fd, 0, 0, POSIX_FADV_DONTNEED);
  try {
    writeFileSync("/proc/sys/vm/drop_caches", "1");
  } catch {}
}
dropCache(readFd);
await measure("pread, cold, 1 MiB", () => {
  for (let i = 0; i < totalMiB; i++) readSync(readFd, chunk, 0, MiB, i * MiB);
});
await measure("pread, warm, 1 MiB", () => {
  for (let i = 0; i < totalMiB; i++) readSync(readFd, chunk, 0, MiB, i * MiB);
});
dropCache(readFd);
await measure("socket write, warm buffer", async () => {
  for (let i = 0; i < totalMiB; i++) await send(socket, chunk, drained);
});
await measure("pread cold + socket write", async () => {
  for (let i = 0; i < totalMiB; i++) {
    readSync(readFd, chunk, 0, MiB, i * MiB);
    await send(socket, chunk, drained);
  }
});
closeSync(readFd);
socket.end();
sink.kill();
rmSync(folder, { recursive: true, force: true });
