// A minimal Kafka client for the CLI: one connection, one request at a time, built and read with the generated
// codecs. Enough for admin reads (kgate status); no retries, no leader routing (kgate is one node).

import type { Socket } from "bun";
import { ByteReader } from "../protocol/byte-reader.ts";
import { ByteWriter } from "../protocol/byte-writer.ts";
import { decodeResponseHeader, encodeRequestHeader } from "../protocol/messages/headers.ts";
import { apiTable } from "../protocol/messages/index.ts";
import { FrameAssembler } from "../server/frame-assembler.ts";

/** Largest response the CLI accepts (a Metadata or DescribeLogDirs of many partitions stays far below). */
const RESPONSE_BYTES_MAX = 256 * 1024 * 1024;

export class KafkaClientError extends Error {
  override name = "KafkaClientError";
}

export class KafkaClient {
  private readonly assembler = new FrameAssembler(RESPONSE_BYTES_MAX);
  private readonly frames: Uint8Array[] = [];
  private waiting: (() => void) | null = null;
  private closed = false;
  private failure: Error | null = null;
  private correlationId = 0;
  private socket: Socket<undefined> | null = null;

  private constructor(
    private readonly clientId: string,
    private readonly timeoutMs: number,
  ) {}

  static async connect(host: string, port: number, { clientId = "kgate-cli", timeoutMs = 10_000 } = {}): Promise<KafkaClient> {
    const client = new KafkaClient(clientId, timeoutMs);
    const wake = () => client.waiting?.();
    const connecting = Bun.connect({
      hostname: host,
      port,
      socket: {
        data(_socket, chunk) {
          try {
            client.assembler.push(chunk, (frame) => client.frames.push(frame.slice()));
          } catch (error) {
            client.failure = error as Error;
          }
          wake();
        },
        close() {
          client.closed = true;
          wake();
        },
        error(_socket, error) {
          client.failure = error;
          wake();
        },
      },
    });
    const timeout = Bun.sleep(timeoutMs).then(() => null);
    const socket = await Promise.race([connecting, timeout]);
    if (socket === null) throw new KafkaClientError(`cannot connect to ${host}:${port} within ${timeoutMs} ms`);
    client.socket = socket;
    return client;
  }

  /** Sends one request and returns the decoded response body. */
  async call<Response = any>(apiKey: number, apiVersion: number, body: object): Promise<Response> {
    const descriptor = apiTable[apiKey];
    if (!descriptor || !this.socket) throw new KafkaClientError(`no codec for API ${apiKey}`);
    const correlationId = ++this.correlationId;
    const writer = new ByteWriter();
    const size = writer.reserveInt32();
    encodeRequestHeader(writer, descriptor.requestHeaderVersion(apiVersion), { requestApiKey: apiKey, requestApiVersion: apiVersion, correlationId, clientId: this.clientId });
    descriptor.encodeRequest(writer, apiVersion, body as never);
    size.setInt32(0, writer.length - 4);
    this.socket.write(writer.toUint8Array());
    this.socket.flush();

    const deadline = Date.now() + this.timeoutMs;
    while (this.frames.length === 0) {
      if (this.failure) throw new KafkaClientError(`${descriptor.name}: ${this.failure.message}`);
      if (this.closed) throw new KafkaClientError(`${descriptor.name} v${apiVersion}: the broker closed the connection`);
      const left = deadline - Date.now();
      if (left <= 0) throw new KafkaClientError(`${descriptor.name} v${apiVersion}: no answer within ${this.timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        this.waiting = resolve;
        setTimeout(resolve, left);
      });
      this.waiting = null;
    }
    const reader = new ByteReader(this.frames.shift()!);
    const header = decodeResponseHeader(reader, descriptor.responseHeaderVersion(apiVersion));
    if (header.correlationId !== correlationId) throw new KafkaClientError(`${descriptor.name}: answer for request ${header.correlationId}, want ${correlationId}`);
    return descriptor.decodeResponse(reader, apiVersion) as Response;
  }

  close(): void {
    this.socket?.end();
  }
}
