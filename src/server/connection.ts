// One client connection: frames in, handlers run in arrival order, responses out strictly in request order
// (clients pipeline and match responses by position as much as by correlation id). Produce acks=0 sends nothing.
// A slow reader gets its unsent bytes kept and flushed on drain; past a limit the connection stops reading.

import type { Socket } from "bun";
import { limits } from "../config.ts";
import { ByteWriter } from "../protocol/byte-writer.ts";
import { log } from "../util/logger.ts";
import { FrameAssembler, FrameTooLargeError } from "./frame-assembler.ts";
import { closesAfterResponse, type RequestDispatcher, type PendingResponse } from "./dispatcher.ts";
import type { ConnectionSecurity } from "../security/sasl.ts";

interface ResponseSlot {
  pending: PendingResponse;
  /** Set when the handler has answered (immediately or when its promise settles). */
  ready: boolean;
}

export class Connection {
  private readonly frames = new FrameAssembler(limits.frameBytesMax);
  private readonly slots: ResponseSlot[] = [];
  private slotHead = 0;
  private readonly writer = new ByteWriter();
  /** Response bytes the socket did not take yet, owned copies, in order. */
  private readonly unsent: Uint8Array[] = [];
  private unsentBytes = 0;
  private coalesceBuffer = new Uint8Array(0);
  private closed = false;
  private paused = false;
  /** Close once `unsent` is written. */
  private closing = false;
  /** Frames that arrived while the connection had too many requests in flight. */
  private readonly heldFrames: Uint8Array[] = [];

  constructor(
    private readonly socket: Socket<unknown>,
    private readonly dispatcher: RequestDispatcher,
    readonly clientAddress: string,
    /** Listener, principal and SASL state; undefined: a PLAINTEXT connection as the dispatcher makes one. */
    readonly security?: ConnectionSecurity,
  ) {}

  get inFlightRequests(): number {
    return this.slots.length - this.slotHead;
  }

  onData(chunk: Uint8Array): void {
    if (this.closed) return;
    try {
      this.frames.push(chunk, (frame) => this.onFrame(frame));
    } catch (error) {
      if (error instanceof FrameTooLargeError) {
        log.warn("closing connection: frame too large", { client: this.clientAddress, bytes: error.frameBytes, max: error.frameBytesMax });
      } else {
        log.error("closing connection: unexpected error while reading", { client: this.clientAddress, error });
      }
      this.close();
    }
  }

  private onFrame(frame: Uint8Array): void {
    if (this.closed || this.closing) return;
    if (this.heldFrames.length > 0 || this.inFlightRequests >= limits.inFlightRequestsPerConnectionMax) {
      this.heldFrames.push(frame);
      this.updateReadPause();
      return;
    }
    this.startRequest(frame);
    this.flushReady();
  }

  private startRequest(frame: Uint8Array): void {
    const pending = this.dispatcher.dispatch(frame, this.clientAddress, this.security);
    if (pending === "close") return this.close();
    const slot: ResponseSlot = { pending, ready: !(pending.result instanceof Promise) };
    this.slots.push(slot);
    if (slot.ready) return;
    (pending.result as Promise<unknown>).then(
      (result) => {
        pending.result = result;
        slot.ready = true;
        this.flushReady();
        this.socket.flush();
      },
      (error) => {
        log.error("closing connection: handler failed", { client: this.clientAddress, api: pending.apiName, error });
        this.close();
      },
    );
  }

  /** Encodes and sends every answered response at the head of the queue. */
  private flushReady(): void {
    while (!this.closed && !this.closing && this.slotHead < this.slots.length && this.slots[this.slotHead]!.ready) {
      const slot = this.slots[this.slotHead]!;
      this.slots[this.slotHead++] = undefined as unknown as ResponseSlot;
      this.writer.reset();
      let hasResponse: boolean;
      try {
        hasResponse = this.dispatcher.encode(slot.pending, this.writer);
      } catch (error) {
        log.error("closing connection: response encoding failed", { client: this.clientAddress, api: slot.pending.apiName, error });
        this.close();
        return;
      }
      if (hasResponse) this.send(this.writer.finish(), this.writer.length);
      // Written (or copied into `unsent`): views the response held are free now.
      if (slot.pending.afterResponse) for (const callback of slot.pending.afterResponse) callback();
      if (closesAfterResponse(slot.pending)) return this.closeAfterFlush();
    }
    if (this.slotHead === this.slots.length) {
      this.slots.length = 0;
      this.slotHead = 0;
    }
    this.releaseHeldFrames();
  }

  private releaseHeldFrames(): void {
    let started = false;
    while (
      !this.closed &&
      this.heldFrames.length > 0 &&
      this.inFlightRequests < limits.inFlightRequestsPerConnectionMax &&
      this.unsentBytes < limits.pendingWriteBytesMax
    ) {
      this.startRequest(this.heldFrames.shift()!);
      started = true;
    }
    this.updateReadPause();
    if (started) this.flushReady();
  }

  private send(chunks: Uint8Array[], totalBytes: number): void {
    if (chunks.length > 1 && totalBytes <= limits.coalesceWriteBytesMax) {
      if (this.coalesceBuffer.length < totalBytes) this.coalesceBuffer = new Uint8Array(limits.coalesceWriteBytesMax);
      let at = 0;
      for (const chunk of chunks) {
        this.coalesceBuffer.set(chunk, at);
        at += chunk.length;
      }
      chunks = [this.coalesceBuffer.subarray(0, totalBytes)];
    }
    for (let i = 0; i < chunks.length; i++) {
      const chunk = chunks[i]!;
      if (this.unsent.length === 0) {
        const written = this.socket.write(chunk);
        if (written < 0) return this.close();
        if (written === chunk.length) continue;
        this.keepUnsent(chunk.subarray(written));
      } else {
        this.keepUnsent(chunk);
      }
    }
    this.updateReadPause();
  }

  /** The writer's and coalesce buffers are reused, so bytes the socket did not take are copied. */
  private keepUnsent(bytes: Uint8Array): void {
    this.unsent.push(bytes.slice());
    this.unsentBytes += bytes.length;
  }

  onDrain(): void {
    while (this.unsent.length > 0 && !this.closed) {
      const chunk = this.unsent[0]!;
      const written = this.socket.write(chunk);
      if (written < 0) return this.close();
      this.unsentBytes -= Math.max(written, 0);
      if (written < chunk.length) {
        this.unsent[0] = chunk.subarray(written);
        return;
      }
      this.unsent.shift();
    }
    if (this.closing) return this.close();
    this.releaseHeldFrames();
  }

  private updateReadPause(): void {
    const shouldPause =
      this.unsentBytes >= limits.pendingWriteBytesMax ||
      this.heldFrames.length > 0;
    if (shouldPause && !this.paused) {
      this.socket.pause();
      this.paused = true;
    } else if (!shouldPause && this.paused) {
      this.socket.resume();
      this.paused = false;
    }
  }

  /** Closes once the bytes already handed to the connection are written (a refused authentication's answer). */
  private closeAfterFlush(): void {
    this.heldFrames.length = 0;
    if (this.unsent.length === 0) return this.close();
    this.closing = true;
    this.socket.pause();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.heldFrames.length = 0;
    this.unsent.length = 0;
    this.socket.end();
  }

  /** Called by the socket's close handler: late handler answers are dropped. */
  onClosed(): void {
    this.closed = true;
  }
}
