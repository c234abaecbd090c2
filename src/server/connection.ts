// One client connection: frames in, handlers run in arrival order, responses out strictly in request order
// (clients pipeline and match responses by position as much as by correlation id). Produce acks=0 sends nothing.
// A slow reader gets its unsent bytes kept and flushed on drain; past a limit the connection stops reading. Every byte
// held here (partial frames, frames in use, unsent answers) counts against the process's memory budget.

import type { Socket } from "bun";
import { limits } from "../config.ts";
import { ByteWriter } from "../protocol/byte-writer.ts";
import { log } from "../util/logger.ts";
import { FrameAssembler, FrameTooLargeError } from "./frame-assembler.ts";
import { closesAfterResponse, type RequestDispatcher, type PendingResponse } from "./dispatcher.ts";
import type { ConnectionEnvironment, PauseReason } from "./limits.ts";
import type { MemoryBudgetListener } from "../util/memory-budget.ts";
import type { ConnectionSecurity } from "../security/sasl.ts";

interface ResponseSlot {
  pending: PendingResponse;
  /** Bytes of its request frame held against the memory budget until the response is written (0 once released). */
  frameBytes: number;
  /** Set when the handler has answered (immediately or when its promise settles). */
  ready: boolean;
}

/** Response bytes the socket did not take yet: a copy we own, or a view the handler leased to us until written. */
interface UnsentChunk {
  bytes: Uint8Array;
  /** A copy (counted against the memory budget here); a leased view is counted by whoever leased it (Fetch). */
  owned: boolean;
}

export class Connection implements MemoryBudgetListener {
  private readonly frames: FrameAssembler;
  private readonly slots: ResponseSlot[] = [];
  private slotHead = 0;
  private readonly writer = new ByteWriter();
  /** Response bytes the socket did not take yet, in order. */
  private readonly unsent: UnsentChunk[] = [];
  private unsentBytes = 0;
  /** Of unsentBytes, the copies. */
  private unsentOwnedBytes = 0;
  /** afterResponse callbacks of responses whose leased views are still in `unsent`: run once it is empty. */
  private readonly releasesAfterUnsent: (() => void)[] = [];
  private coalesceBuffer = new Uint8Array(0);
  private closed = false;
  private paused = false;
  /** Close once `unsent` is written. */
  private closing = false;
  /** Frames that arrived while the connection had too many requests in flight. */
  private readonly heldFrames: Uint8Array[] = [];
  /** Bytes of request frames received and still in use, and what was last reported to the memory budget. */
  private requestBytes = 0;
  private reportedBytes = 0;
  /** Quota throttling: not read before this time (performance.now()), as Kafka ≥ 2.0 mutes a throttled channel. */
  private mutedUntil = 0;
  private muteTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly socket: Socket<unknown>,
    private readonly dispatcher: RequestDispatcher,
    readonly clientAddress: string,
    private readonly environment: ConnectionEnvironment,
    /** Listener, principal and SASL state; undefined: a PLAINTEXT connection as the dispatcher makes one. */
    readonly security?: ConnectionSecurity,
  ) {
    this.frames = new FrameAssembler(environment.limits.frameBytesMax, environment.framePool);
    environment.memory.listen(this);
    this.touch();
    this.updateReadPause();
  }

  /** performance.now() of the last byte received or response sent (the idle timeout's clock). */
  lastActiveAt = 0;

  private touch(): void {
    this.lastActiveAt = performance.now();
  }

  /**
   * Idle: nothing received or sent for idleMs and no request waiting for its answer (a long poll is not idle). A
   * connection we stopped reading for our own reasons (memory cap, throttle) is not idle unless it holds a partial
   * frame: it may be a client that left mid-frame (a paused socket does not see the close), whose bytes only this
   * timeout gives back. One that does not read its answers is idle once the socket stops taking them.
   */
  isIdle(now: number, idleMs: number): boolean {
    if (this.inFlightRequests > 0) return false;
    const reason = this.paused ? this.pauseReason() : null;
    if ((reason === "memory_budget" || reason === "throttle") && !this.frames.receivingFrame) {
      this.touch();
      return false;
    }
    return now - this.lastActiveAt >= idleMs;
  }

  /**
   * Unsent answers that have not moved for stallMs: the socket took none of them (the client stopped reading, or
   * left without us seeing it through a paused socket).
   */
  isStalledWriter(now: number, stallMs: number): boolean {
    return this.unsentBytes > 0 && now - this.lastWriteProgressAt >= stallMs;
  }

  /** performance.now() when the socket last took bytes of `unsent`, or when `unsent` became non-empty. */
  private lastWriteProgressAt = 0;

  /** Response bytes the socket has not taken yet (the pending writes metric). */
  get pendingWriteBytes(): number {
    return this.unsentBytes;
  }

  get inFlightRequests(): number {
    return this.slots.length - this.slotHead;
  }

  onData(chunk: Uint8Array): void {
    if (this.closed) return;
    this.touch();
    try {
      this.frames.push(chunk, (frame) => this.onFrame(frame));
    } catch (error) {
      if (error instanceof FrameTooLargeError) {
        log.warn("closing connection: frame too large", { client: this.clientAddress, bytes: error.frameBytes, max: error.frameBytesMax });
        this.environment.metrics.connectionsClosed.inc({ reason: "frame_too_large" });
      } else {
        log.error("closing connection: unexpected error while reading", { client: this.clientAddress, error });
      }
      this.close();
    }
    this.reportMemory();
    this.updateReadPause();
  }

  private onFrame(frame: Uint8Array): void {
    if (this.closed || this.closing) return;
    this.requestBytes += frame.length;
    // Frames already read in the same chunk wait too once the answers pile up: a chunk of 400 pipelined Fetches
    // would otherwise all be answered into `unsent` before the pause takes effect.
    if (
      this.heldFrames.length > 0 ||
      this.inFlightRequests >= this.environment.limits.inFlightRequestsPerConnectionMax ||
      this.unsentBytes >= this.environment.limits.pendingWriteBytesMax
    ) {
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
    // A handler that keeps no view of its frame (Produce: the log wrote or copied the batch) lets it go now, not when
    // its answer is written: an acks=all answer waits for the fsync, and the frame would be held all that time.
    const released = pending.frameReusable === true;
    if (released) {
      this.requestBytes -= frame.length;
      this.environment.framePool.give(frame);
    }
    const slot: ResponseSlot = {
      pending,
      frameBytes: released ? 0 : frame.length,
      ready: !(pending.result instanceof Promise),
    };
    this.slots.push(slot);
    if (slot.ready) return;
    (pending.result as Promise<unknown>).then(
      (result) => {
        pending.result = result;
        slot.ready = true;
        // Answered after the connection closed: nothing will write it, so what it holds is given back now.
        if (this.closed) return runAll(pending.afterResponse);
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
      const viewsLeased = slot.pending.viewsLeased === true;
      if (hasResponse) this.send(this.writer.finish(), this.writer.length, viewsLeased);
      this.requestBytes -= slot.frameBytes;
      this.touch();
      // Written, or copied into `unsent`: views the response held are free now. Leased views left in `unsent` are
      // freed once it is written.
      if (viewsLeased && this.unsentBytes > 0) {
        if (slot.pending.afterResponse) this.releasesAfterUnsent.push(...slot.pending.afterResponse);
      } else runAll(slot.pending.afterResponse);
      const throttleTimeMs = (slot.pending.result as { throttleTimeMs?: unknown } | null)?.throttleTimeMs;
      if (typeof throttleTimeMs === "number" && throttleTimeMs > 0) this.mute(throttleTimeMs);
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
      this.inFlightRequests < this.environment.limits.inFlightRequestsPerConnectionMax &&
      this.unsentBytes < this.environment.limits.pendingWriteBytesMax
    ) {
      this.startRequest(this.heldFrames.shift()!);
      started = true;
    }
    this.reportMemory();
    this.updateReadPause();
    if (started) this.flushReady();
  }

  /** `viewsLeased`: chunks other than the writer's own buffer stay valid until the response's afterResponse runs. */
  private send(chunks: Uint8Array[], totalBytes: number, viewsLeased: boolean): void {
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
        this.keepUnsent(chunk.subarray(written), viewsLeased);
      } else {
        this.keepUnsent(chunk, viewsLeased);
      }
    }
    this.updateReadPause();
  }

  /** The writer's and coalesce buffers are reused, so bytes of theirs the socket did not take are copied. */
  private keepUnsent(bytes: Uint8Array, viewsLeased: boolean): void {
    if (this.unsentBytes === 0) this.lastWriteProgressAt = performance.now();
    const owned = !viewsLeased || this.writer.ownsBuffer(bytes) || bytes.buffer === this.coalesceBuffer.buffer;
    this.unsent.push({ bytes: owned ? bytes.slice() : bytes, owned });
    this.unsentBytes += bytes.length;
    if (owned) this.unsentOwnedBytes += bytes.length;
  }

  onDrain(): void {
    while (this.unsent.length > 0 && !this.closed) {
      const chunk = this.unsent[0]!;
      const written = this.socket.write(chunk.bytes);
      if (written < 0) return this.close();
      this.unsentBytes -= Math.max(written, 0);
      if (chunk.owned) this.unsentOwnedBytes -= Math.max(written, 0);
      if (written > 0) {
        this.touch();
        this.lastWriteProgressAt = this.lastActiveAt;
      }
      if (written < chunk.bytes.length) {
        chunk.bytes = chunk.bytes.subarray(written);
        return this.reportMemory();
      }
      this.unsent.shift();
    }
    if (this.unsent.length === 0) runAll(this.releasesAfterUnsent.splice(0));
    if (this.closing) return this.close();
    this.releaseHeldFrames();
  }

  /** Why the connection should not be read now, or null. */
  private pauseReason(): PauseReason | null {
    if (this.unsentBytes >= this.environment.limits.pendingWriteBytesMax) return "pending_writes";
    if (this.heldFrames.length > 0) return "in_flight_requests";
    if (this.mutedUntil > 0 && this.mutedUntil > performance.now()) return "throttle";
    if (this.environment.memory.exhausted) return "memory_budget";
    return null;
  }

  private updateReadPause(): void {
    // A connection closing after its last answer stays paused (closeAfterFlush) until it is written.
    if (this.closed || this.closing) return;
    const reason = this.pauseReason();
    if (reason !== null && !this.paused) {
      this.socket.pause();
      this.paused = true;
      this.environment.metrics.readPauses.inc({ reason });
      this.environment.metrics.connectionsPaused.add(1);
    } else if (reason === null && this.paused) {
      this.socket.resume();
      this.paused = false;
      this.environment.metrics.connectionsPaused.add(-1);
    }
  }

  /** The memory budget crossed its limit (either way). */
  onMemoryBudgetChange(): void {
    this.updateReadPause();
  }

  /** Stops reading for the throttle time a quota asked for (the response has left already). */
  private mute(throttleTimeMs: number): void {
    this.mutedUntil = Math.max(this.mutedUntil, performance.now() + throttleTimeMs);
    if (this.muteTimer !== null) clearTimeout(this.muteTimer);
    this.muteTimer = setTimeout(() => {
      this.muteTimer = null;
      this.updateReadPause();
    }, Math.ceil(this.mutedUntil - performance.now()) + 1);
    this.updateReadPause();
  }

  /**
   * Reports this connection's bytes (partial frame, frames in use, unsent answers) to the memory budget. A client
   * that never reads could hold the budget with its unsent answers and so stop every other connection: the server
   * closes such a stalled writer when the budget is exhausted (isStalledWriter).
   */
  private reportMemory(): void {
    const held = this.closed ? 0 : this.frames.bufferedBytes + this.requestBytes + this.unsentOwnedBytes;
    this.environment.memory.change(held - this.reportedBytes);
    this.reportedBytes = held;
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
    this.socket.end();
    this.release();
  }

  /** Called by the socket's close handler: late handler answers are dropped. */
  onClosed(): void {
    this.closed = true;
    this.release();
  }

  private release(): void {
    // Nothing will be written any more: what the unwritten answers hold is given back (once: the lists empty).
    this.heldFrames.length = 0;
    this.unsent.length = 0;
    this.unsentBytes = 0;
    this.unsentOwnedBytes = 0;
    runAll(this.releasesAfterUnsent.splice(0));
    for (let i = this.slotHead; i < this.slots.length; i++) {
      const slot = this.slots[i]!;
      if (slot.ready) runAll(slot.pending.afterResponse?.splice(0));
    }
    this.reportMemory();
    this.environment.memory.forget(this);
    if (this.muteTimer !== null) clearTimeout(this.muteTimer);
    this.muteTimer = null;
    if (this.paused) {
      this.paused = false;
      this.environment.metrics.connectionsPaused.add(-1);
    }
  }
}

function runAll(callbacks: readonly (() => void)[] | undefined): void {
  if (callbacks) for (const callback of callbacks) callback();
}
