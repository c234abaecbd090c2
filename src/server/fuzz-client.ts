// A raw TCP client for the connection fuzz tests: writes arbitrary bytes in arbitrary chunks (keeping what the socket
// did not take for drain, so no byte is lost), collects the response frames, and notices the server's close.

import type { Socket } from "bun";
import { ByteReader } from "../protocol/byte-reader.ts";
import { decodeResponseHeader } from "../protocol/messages/headers.ts";
import { apiTable } from "../protocol/messages/index.ts";
import { FrameAssembler } from "./frame-assembler.ts";

export class FuzzClient {
  readonly frames: Uint8Array[] = [];
  closed = false;
  private readonly assembler = new FrameAssembler(1 << 30);
  private readonly queue: Uint8Array[] = [];
  private wake: (() => void) | null = null;
  private socket!: Socket<undefined>;

  static async connect(port: number): Promise<FuzzClient> {
    const client = new FuzzClient();
    client.socket = await Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        data(_socket, chunk) {
          client.assembler.push(chunk, (frame) => client.frames.push(frame.slice()));
          client.notify();
        },
        drain() {
          client.flushQueue();
        },
        close() {
          client.closed = true;
          client.notify();
        },
        error() {
          client.closed = true;
          client.notify();
        },
      },
    });
    return client;
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  write(bytes: Uint8Array): void {
    if (this.closed) return;
    this.queue.push(bytes);
    if (this.queue.length === 1) this.flushQueue();
  }

  private flushQueue(): void {
    while (this.queue.length > 0 && !this.closed) {
      const head = this.queue[0]!;
      const written = this.socket.write(head);
      if (written < 0) {
        this.closed = true;
        return;
      }
      if (written < head.length) {
        this.queue[0] = head.subarray(written);
        return;
      }
      this.queue.shift();
    }
  }

  /** Bytes handed to write() that the socket has not taken yet. */
  get unsentBytes(): number {
    return this.queue.reduce((sum, bytes) => sum + bytes.length, 0);
  }

  /** Waits until `count` response frames arrived, the connection closed, or timeoutMs passed. */
  async waitFrames(count: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length < count && !this.closed && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, Math.max(1, Math.min(50, deadline - Date.now())));
      });
    }
  }

  async waitClosed(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, Math.max(1, Math.min(50, deadline - Date.now())));
      });
    }
    return this.closed;
  }

  close(): void {
    if (!this.closed) this.socket.end();
    this.closed = true;
  }
}

/** The correlation id and decoded body of a response frame (throws when it does not decode with the version). */
export function decodeAnswer(apiKey: number, apiVersion: number, frame: Uint8Array): { correlationId: number; body: any } {
  const descriptor = apiTable[apiKey]!;
  const reader = new ByteReader(frame);
  const header = decodeResponseHeader(reader, descriptor.responseHeaderVersion(apiVersion));
  const body = descriptor.decodeResponse(reader, apiVersion);
  if (reader.offset !== frame.length) throw new Error(`${frame.length - reader.offset} bytes left after the ${descriptor.name} v${apiVersion} response`);
  return { correlationId: header.correlationId, body };
}

/** Splits bytes at random boundaries: one piece, single bytes, or pieces of random sizes. */
export function splitRandomly(bytes: Uint8Array, random: () => number): Uint8Array[] {
  const roll = random();
  if (roll < 0.25 || bytes.length <= 1) return [bytes];
  const pieces: Uint8Array[] = [];
  const most = roll < 0.35 ? 1 : roll < 0.7 ? 16 : 512;
  for (let at = 0; at < bytes.length; ) {
    // At most ~1000 pieces: a megabyte in single bytes would test the client's patience, not the server.
    const size = Math.max(1 + Math.floor(random() * most), Math.ceil(bytes.length / 1000));
    pieces.push(bytes.subarray(at, at + size));
    at += size;
  }
  return pieces;
}
