// systemd's readiness protocol (sd_notify(3)): a datagram "READY=1" to the AF_UNIX socket named by $NOTIFY_SOCKET once
// the listeners are bound, so that a Type=notify unit counts as started only when clients can connect (and units
// ordered after it wait for that); "STOPPING=1" when a clean shutdown begins. Without $NOTIFY_SOCKET (not under
// systemd, or another Type=) nothing is sent. Through libc (bun:ffi): Bun has no Unix datagram sockets.

import { libcClose, libcSendto, libcSocket } from "./libc.ts";

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
/** The same on x64 and arm64 Linux. */
const SOCK_CLOEXEC = 0x80000;
/** sockaddr_un's sun_path. */
const SUN_PATH_BYTES = 108;

/** The sockaddr_un of a $NOTIFY_SOCKET value ("@name": the abstract namespace), or null when it names no Unix socket. */
export function notifySocketAddress(socketName: string): Uint8Array | null {
  if (!socketName.startsWith("/") && !socketName.startsWith("@")) return null;
  const path = new TextEncoder().encode(socketName);
  if (path.length >= SUN_PATH_BYTES) return null;
  const abstract = socketName.startsWith("@");
  const address = new Uint8Array(2 + path.length + (abstract ? 0 : 1)); // a path's terminating NUL counts
  new DataView(address.buffer).setUint16(0, AF_UNIX, true); // sa_family_t in the machine's order: little-endian here
  address.set(path, 2);
  if (abstract) address[2] = 0;
  return address;
}

/** Sends `state` ("READY=1", "STOPPING=1") to systemd; false when there is no notify socket or it was not reached. */
export function notifySystemd(state: string, env: Record<string, string | undefined> = process.env): boolean {
  const socketName = env.NOTIFY_SOCKET;
  if (!socketName) return false;
  const address = notifySocketAddress(socketName);
  const socket = libcSocket();
  const sendto = libcSendto();
  const close = libcClose();
  if (address === null || socket === null || sendto === null || close === null) return false;
  const fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  try {
    const message = new TextEncoder().encode(state);
    return sendto(fd, message, 0, address) === message.length;
  } finally {
    close(fd);
  }
}
