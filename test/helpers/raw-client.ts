// A bare TCP client for tests that must send what no real client would: hand-built and malformed frames.

import { apiTable } from "../../src/protocol/messages/index.ts";
import { encodeRequestHeader, decodeResponseHeader } from "../../src/protocol/messages/headers.ts";
import { ByteReader } from "../../src/protocol/byte-reader.ts";
import { ByteWriter } from "../../src/protocol/byte-writer.ts";
import { FrameAssembler } from "../../src/server/frame-assembler.ts";

export class RawClient {
  private readonly frames: Uint8Array[] = [];
  private readonly assembler = new FrameAssembler(1 << 30);
  private wake: (() => void) | null = null;
  closed = false;

  private constructor(private readonly socket: Awaited<ReturnType<typeof Bun.connect>>) {}

  static async connect(port: number): Promise<RawClient> {
    let client!: RawClient;
    const socket = await Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        data(_socket, chunk) {
          client.assembler.push(chunk, (frame) => client.frames.push(frame.slice()));
          client.wake?.();
        },
        close() {
          client.closed = true;
          client.wake?.();
        },
      },
    });
    client = new RawClient(socket);
    return client;
  }

  write(bytes: Uint8Array): void {
    this.socket.write(bytes);
    this.socket.flush();
  }

  /** Next response frame, or null when the connection closed or nothing came within timeoutMs. */
  async nextFrame(timeoutMs = 10_000): Promise<Uint8Array | null> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length === 0 && !this.closed && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, Math.max(1, deadline - Date.now()));
      });
      this.wake = null;
    }
    return this.frames.shift() ?? null;
  }

  /** Resolves true once the server closed the connection (within timeoutMs). */
  async waitClosed(timeoutMs = 10_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) await Bun.sleep(10);
    return this.closed;
  }

  private correlationId = 0;

  /** Sends one request built with the generated codecs and decodes its answer, checking the correlation id. */
  async call(apiKey: number, version: number, body: object, timeoutMs = 10_000): Promise<any> {
    const id = ++this.correlationId;
    this.write(requestFrame(apiKey, version, id, body));
    const frame = await this.nextFrame(timeoutMs);
    if (frame === null) throw new Error(`no answer to API ${apiKey} v${version} within ${timeoutMs} ms`);
    const response = decodeResponse(apiKey, version, frame);
    if (response.correlationId !== id) throw new Error(`answer carries correlation id ${response.correlationId}, want ${id}`);
    return response.body;
  }

  close(): void {
    this.socket.end();
  }
}

/** A request frame (size prefix included) built with the generated codecs. */
export function requestFrame(apiKey: number, apiVersion: number, correlationId: number, body: object, clientId = "raw-test"): Uint8Array {
  const descriptor = apiTable[apiKey]!;
  const writer = new ByteWriter();
  const size = writer.reserveInt32();
  encodeRequestHeader(writer, descriptor.requestHeaderVersion(apiVersion), { requestApiKey: apiKey, requestApiVersion: apiVersion, correlationId, clientId });
  descriptor.encodeRequest(writer, apiVersion, body as never);
  size.setInt32(0, writer.length - 4);
  return writer.toUint8Array();
}

/** Decodes a response frame (without size prefix) for the given API and version. */
export function decodeResponse(apiKey: number, apiVersion: number, frame: Uint8Array): { correlationId: number; body: any } {
  const descriptor = apiTable[apiKey]!;
  const reader = new ByteReader(frame);
  const header = decodeResponseHeader(reader, descriptor.responseHeaderVersion(apiVersion));
  return { correlationId: header.correlationId, body: descriptor.decodeResponse(reader, apiVersion) };
}
