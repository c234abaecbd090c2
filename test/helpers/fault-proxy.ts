// A TCP proxy for tests that puts network faults between kgate's uplink (the edge) and a central Kafka cluster: a
// link that is down (`cut`), one that answers nothing (`blackhole`), a slow one (`slow`), and one-shot connection
// resets in the middle of a request (`resetNextRequest`) or after the server acted on a request but before its
// answer arrived (`resetAfterResponse`). Modes apply to the connections already open as well as to new ones.
//
// Buffers are bounded: each direction of each connection holds at most `pipeBytesMax` (waiting for tokens, delayed
// by latency or not yet flushed by the socket) before its reading side pauses, so TCP backpressure reaches the
// sender. A blackholed connection reads and discards.
//
// Resets: Bun 1.4.5's node:net has `socket.resetAndDestroy()` (Node ≥ 18.3): SO_LINGER 0 then close, and the peer
// reads ECONNRESET: a node:net peer gets an "error" with code ECONNRESET (fault-proxy.test.ts pins it for both ends),
// a Bun.connect peer a close(socket, error) with that code. A runtime without it gets a plain destroy, which the peer
// sees as an orderly close (FIN) rather than a reset.

import assert from "node:assert";
import net from "node:net";

/** Bytes one direction of one connection may hold before its reader pauses: a slow link never buffers a stream. */
const pipeBytesMax = 256 * 1024;
/** A throttled direction may send this many milliseconds of its rate at once (the token bucket's capacity). */
const burstMs = 50;

type Mode = "pass" | "cut" | "blackhole";

export interface FaultProxyStats {
  /** Every connection accepted, including those refused at once while the link is cut. */
  connectionsAccepted: number;
  /** Connections reset by resetNextRequest or resetAfterResponse (cut, setUpstream and pass close without counting). */
  resets: number;
  /** Bytes written towards the server and towards the client. */
  bytesToServer: number;
  bytesToClient: number;
  /** Bytes read from either side and dropped: by a blackhole, a one-shot reset or a connection torn down with data queued. */
  bytesDiscarded: number;
}

export class FaultProxy implements AsyncDisposable {
  private readonly links = new Set<Link>();
  private mode: Mode = "pass";
  /** Per direction, shared by every connection, as one slow link would be; null: unthrottled. */
  private buckets: { toServer: TokenBucket; toClient: TokenBucket } | null = null;
  /** One-way latency added to every byte in both directions. */
  private latencyMs = 0;
  /** Armed by resetNextRequest: how many bytes of the next client chunk pass (null: half of it). */
  private requestFault: { afterBytes: number | null } | null = null;
  private responseFaultArmed = false;
  readonly stats: FaultProxyStats = { connectionsAccepted: 0, resets: 0, bytesToServer: 0, bytesToClient: 0, bytesDiscarded: 0 };
  /** What connections read of the proxy's state, kept off its public API. */
  private readonly linkHost: LinkHost = {
    stats: this.stats,
    bucket: (toServer) => (this.buckets === null ? null : toServer ? this.buckets.toServer : this.buckets.toClient),
    latencyMs: () => this.latencyMs,
    takeRequestFault: () => {
      const fault = this.requestFault;
      this.requestFault = null;
      return fault;
    },
    takeResponseFault: () => {
      const armed = this.responseFaultArmed;
      this.responseFaultArmed = false;
      return armed;
    },
    forget: (link) => this.links.delete(link),
  };

  private constructor(
    private readonly server: net.Server,
    /** The port it listens on, on 127.0.0.1. */
    readonly port: number,
    private upstreamPort: number,
    private readonly upstreamHost: string,
  ) {
    server.on("connection", (client: net.Socket) => this.accept(client));
  }

  /** Listens on 127.0.0.1 and an ephemeral port, forwarding to upstreamHost:upstreamPort. */
  static async start(upstreamPort: number, upstreamHost = "127.0.0.1"): Promise<FaultProxy> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return new FaultProxy(server, (server.address() as net.AddressInfo).port, upstreamPort, upstreamHost);
  }

  /** Sends later connections to `port` and drops the current ones. */
  setUpstream(port: number): void {
    this.upstreamPort = port;
    this.destroyAll();
  }

  /** Heals: normal forwarding, unthrottled; blackholed connections are destroyed so their clients reconnect. */
  pass(): void {
    this.mode = "pass";
    this.buckets = null;
    this.latencyMs = 0;
    this.releaseHeld();
  }

  /** Link down: destroys every connection and accepts then destroys new ones, as a refused connection would be. */
  cut(): void {
    this.mode = "cut";
    this.destroyAll();
  }

  /**
   * The link answers nothing, like a dropped route: open and new connections stay open and nothing is closed, but no
   * byte passes either way; what either side sends is read and discarded. New connections never reach the server.
   */
  blackhole(): void {
    this.mode = "blackhole";
    for (const link of this.links) link.hold();
  }

  /**
   * Throttles both directions to bytesPerSecond each (token buckets shared by all connections) and adds latencyMs of
   * one-way delay. Also brings a cut or blackholed link up, as pass() does, with a fresh bucket.
   */
  slow(bytesPerSecond: number, latencyMs = 0): void {
    assert(Number.isFinite(bytesPerSecond) && bytesPerSecond > 0, "bytesPerSecond must be a positive number");
    assert(Number.isFinite(latencyMs) && latencyMs >= 0, "latencyMs must be a non-negative number");
    this.mode = "pass";
    this.buckets = { toServer: new TokenBucket(bytesPerSecond), toClient: new TokenBucket(bytesPerSecond) };
    this.latencyMs = latencyMs;
    this.releaseHeld();
  }

  /**
   * One-shot: of the next chunk a client sends (on any connection), only the first afterBytes (default: half of it;
   * at most all but its last byte) reach the server, then both sockets are reset. A chunk may carry several
   * requests; the cut lands inside the chunk, so inside one of them.
   */
  resetNextRequest(afterBytes?: number): void {
    assert(afterBytes === undefined || (Number.isSafeInteger(afterBytes) && afterBytes >= 0), "afterBytes must be a non-negative integer");
    this.requestFault = { afterBytes: afterBytes ?? null };
  }

  /** One-shot: the next chunk a server sends (on any connection) is discarded and both sockets are reset. */
  resetAfterResponse(): void {
    this.responseFaultArmed = true;
  }

  /** Bytes held inside the proxy now, both directions of every connection (for tests of the bound). */
  get bufferedBytes(): number {
    let total = 0;
    for (const link of this.links) total += link.bufferedBytes;
    return total;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.mode = "cut";
    this.destroyAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    this.stats.connectionsAccepted++;
    if (this.mode === "cut") {
      client.on("error", () => {});
      client.destroy();
      return;
    }
    const upstream = this.mode === "blackhole" ? null : net.connect(this.upstreamPort, this.upstreamHost);
    const link = new Link(this.linkHost, client, upstream);
    this.links.add(link);
    if (this.mode === "blackhole") link.hold();
  }

  private destroyAll(): void {
    for (const link of [...this.links]) link.destroy();
  }

  private releaseHeld(): void {
    for (const link of [...this.links]) {
      if (link.held) link.destroy();
      else link.kick();
    }
  }
}

interface LinkHost {
  readonly stats: FaultProxyStats;
  /** The token bucket of one direction; null: unthrottled. */
  bucket(toServer: boolean): TokenBucket | null;
  latencyMs(): number;
  /** Disarms and returns the request fault, if armed. */
  takeRequestFault(): { afterBytes: number | null } | null;
  /** Disarms the response fault; true if it was armed. */
  takeResponseFault(): boolean;
  forget(link: Link): void;
}

/** One client connection and its upstream connection. */
class Link {
  held = false;
  closed = false;
  private clientOpen = true;
  private upstreamOpen: boolean;
  private readonly toServer: Pipe | null;
  private readonly toClient: Pipe | null;

  constructor(
    private readonly host: LinkHost,
    private readonly client: net.Socket,
    private readonly upstream: net.Socket | null,
  ) {
    this.upstreamOpen = upstream !== null;
    this.toServer = upstream === null ? null : new Pipe(this, host, client, upstream, true);
    this.toClient = upstream === null ? null : new Pipe(this, host, upstream, client, false);
    client.on("data", (chunk: Buffer) => this.fromClient(chunk));
    client.on("error", () => this.sideClosed("client"));
    client.on("close", () => this.sideClosed("client"));
    if (upstream !== null) {
      upstream.on("data", (chunk: Buffer) => this.fromServer(chunk));
      upstream.on("error", () => this.sideClosed("upstream"));
      upstream.on("close", () => this.sideClosed("upstream"));
    }
  }

  get bufferedBytes(): number {
    return (this.toServer?.bufferedBytes ?? 0) + (this.toClient?.bufferedBytes ?? 0);
  }

  /** Blackholes this connection: drops what is queued, then reads and discards both sides; closes nothing. */
  hold(): void {
    this.held = true;
    this.toServer?.drop();
    this.toClient?.drop();
    this.client.resume();
    this.upstream?.resume();
  }

  /** Forwards what is queued again, at the proxy's current rate (after pass or slow). */
  kick(): void {
    this.toServer?.pump();
    this.toClient?.pump();
  }

  destroy(): void {
    this.client.destroy();
    this.upstream?.destroy();
    this.close();
  }

  /** Resets both sockets (RST where the runtime can). */
  reset(): void {
    if (this.closed) return;
    this.host.stats.resets++;
    resetSocket(this.client);
    if (this.upstream !== null) resetSocket(this.upstream);
    this.close();
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.toServer?.drop();
    this.toClient?.drop();
    this.host.forget(this);
  }

  private fromClient(chunk: Buffer): void {
    if (this.closed || this.held || this.toServer === null) {
      this.host.stats.bytesDiscarded += chunk.length;
      return;
    }
    const fault = this.host.takeRequestFault();
    if (fault === null) {
      this.toServer.push(chunk);
      return;
    }
    const passedBytes = Math.min(fault.afterBytes ?? Math.floor(chunk.length / 2), chunk.length - 1);
    this.host.stats.bytesDiscarded += chunk.length - passedBytes;
    this.toServer.pushThenReset(chunk.subarray(0, passedBytes));
  }

  private fromServer(chunk: Buffer): void {
    if (this.closed || this.held || this.toClient === null) {
      this.host.stats.bytesDiscarded += chunk.length;
      return;
    }
    if (this.host.takeResponseFault()) {
      this.host.stats.bytesDiscarded += chunk.length;
      this.reset();
      return;
    }
    this.toClient.push(chunk);
  }

  /** A held connection keeps its other side open (a dropped route tells neither end); otherwise both go. */
  private sideClosed(side: "client" | "upstream"): void {
    if (side === "client") this.clientOpen = false;
    else this.upstreamOpen = false;
    if (this.closed) return;
    if (!this.held) this.destroy();
    else if (!this.clientOpen && !this.upstreamOpen) this.close();
  }
}

/** One direction of a link: token bucket, then latency, then the destination socket. */
class Pipe {
  /** Waiting for tokens. */
  private readonly queue: Buffer[] = [];
  private queuedBytes = 0;
  /** Taken from the bucket, waiting for their latency to pass; dueAtMs never decreases along the array. */
  private readonly delayed: { bytes: Buffer; dueAtMs: number }[] = [];
  private delayedBytes = 0;
  private tokenTimer: ReturnType<typeof setTimeout> | null = null;
  private delayTimer: ReturnType<typeof setTimeout> | null = null;
  private writesPending = 0;
  private sourcePaused = false;
  /** Set by a request fault: nothing more is taken in, and the link resets once what is queued is written. */
  private resetWhenFlushed = false;

  constructor(
    private readonly link: Link,
    private readonly host: LinkHost,
    private readonly source: net.Socket,
    private readonly destination: net.Socket,
    private readonly toServer: boolean,
  ) {
    destination.on("drain", () => this.updateFlow());
    destination.on("connect", () => this.updateFlow());
  }

  get bufferedBytes(): number {
    return this.queuedBytes + this.delayedBytes + this.destination.writableLength;
  }

  push(chunk: Buffer): void {
    if (this.resetWhenFlushed) {
      this.host.stats.bytesDiscarded += chunk.length;
      return;
    }
    if (chunk.length > 0) {
      this.queue.push(chunk);
      this.queuedBytes += chunk.length;
    }
    this.pump();
  }

  /** Queues the part of a chunk that passes, then resets the link once it is written. */
  pushThenReset(part: Buffer): void {
    this.push(part);
    this.resetWhenFlushed = true;
    this.source.pause();
    this.resetIfFlushed();
  }

  /** Moves queued bytes on as far as tokens allow; sets a timer for the rest. */
  pump(): void {
    if (this.link.closed || this.link.held) return;
    if (this.tokenTimer !== null) clearTimeout(this.tokenTimer);
    this.tokenTimer = null;
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      let length = head.length;
      const bucket = this.host.bucket(this.toServer);
      if (bucket !== null) {
        length = bucket.take(length);
        if (length === 0) {
          this.tokenTimer = setTimeout(() => this.pump(), bucket.msUntil(head.length));
          break;
        }
      }
      let piece: Buffer;
      if (length === head.length) piece = this.queue.shift()!;
      else {
        piece = head.subarray(0, length);
        this.queue[0] = head.subarray(length);
      }
      this.queuedBytes -= length;
      this.delay(piece);
    }
    this.updateFlow();
    this.resetIfFlushed();
  }

  /** Drops everything queued and stops the timers (the link is held or closed). */
  drop(): void {
    this.host.stats.bytesDiscarded += this.queuedBytes + this.delayedBytes;
    this.queue.length = 0;
    this.delayed.length = 0;
    this.queuedBytes = 0;
    this.delayedBytes = 0;
    if (this.tokenTimer !== null) clearTimeout(this.tokenTimer);
    if (this.delayTimer !== null) clearTimeout(this.delayTimer);
    this.tokenTimer = null;
    this.delayTimer = null;
    this.resetWhenFlushed = false;
    this.sourcePaused = false;
  }

  private delay(piece: Buffer): void {
    const latencyMs = this.host.latencyMs();
    if (latencyMs === 0 && this.delayed.length === 0) {
      this.write(piece);
      return;
    }
    const lastDueAtMs = this.delayed.at(-1)?.dueAtMs ?? 0;
    this.delayed.push({ bytes: piece, dueAtMs: Math.max(performance.now() + latencyMs, lastDueAtMs) });
    this.delayedBytes += piece.length;
    this.scheduleDelayed();
  }

  private scheduleDelayed(): void {
    if (this.delayTimer !== null || this.delayed.length === 0) return;
    const waitMs = Math.max(0, this.delayed[0]!.dueAtMs - performance.now());
    this.delayTimer = setTimeout(() => this.deliverDue(), Math.ceil(waitMs));
  }

  private deliverDue(): void {
    this.delayTimer = null;
    if (this.link.closed || this.link.held) return;
    const nowMs = performance.now();
    while (this.delayed.length > 0 && this.delayed[0]!.dueAtMs <= nowMs) {
      const { bytes } = this.delayed.shift()!;
      this.delayedBytes -= bytes.length;
      this.write(bytes);
    }
    this.scheduleDelayed();
    this.updateFlow();
    this.resetIfFlushed();
  }

  private write(bytes: Buffer): void {
    if (this.toServer) this.host.stats.bytesToServer += bytes.length;
    else this.host.stats.bytesToClient += bytes.length;
    this.writesPending++;
    this.destination.write(bytes, () => {
      this.writesPending--;
      this.updateFlow();
      this.resetIfFlushed();
    });
  }

  /** Pauses the source above pipeBytesMax and resumes it below half of it. */
  private updateFlow(): void {
    if (this.link.closed || this.link.held || this.resetWhenFlushed) return;
    const buffered = this.bufferedBytes;
    if (!this.sourcePaused && buffered > pipeBytesMax) {
      this.sourcePaused = true;
      this.source.pause();
    } else if (this.sourcePaused && buffered <= pipeBytesMax / 2) {
      this.sourcePaused = false;
      this.source.resume();
    }
  }

  private resetIfFlushed(): void {
    if (this.resetWhenFlushed && !this.link.closed && this.queue.length === 0 && this.delayed.length === 0 && this.writesPending === 0) {
      this.link.reset();
    }
  }
}

/** Bytes per second with a burst of burstMs worth; starts full. */
class TokenBucket {
  private readonly capacity: number;
  private tokens: number;
  private refilledAtMs = performance.now();

  constructor(private readonly bytesPerSecond: number) {
    this.capacity = Math.max(1, Math.ceil((bytesPerSecond * burstMs) / 1000));
    this.tokens = this.capacity;
  }

  /** Takes up to `wanted` bytes' worth once min(wanted, capacity) are there; returns how many (0: none yet). */
  take(wanted: number): number {
    this.refill();
    if (this.tokens < Math.min(wanted, this.capacity)) return 0;
    const taken = Math.min(wanted, Math.floor(this.tokens));
    this.tokens -= taken;
    return taken;
  }

  /** Milliseconds until take(wanted) can succeed. */
  msUntil(wanted: number): number {
    this.refill();
    const missing = Math.min(wanted, this.capacity) - this.tokens;
    return Math.max(1, Math.ceil((missing * 1000) / this.bytesPerSecond));
  }

  private refill(): void {
    const nowMs = performance.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((nowMs - this.refilledAtMs) * this.bytesPerSecond) / 1000);
    this.refilledAtMs = nowMs;
  }
}

/** RST where the runtime can (see the file comment), else a plain destroy. */
function resetSocket(socket: net.Socket): void {
  if (socket.destroyed) return;
  if (typeof socket.resetAndDestroy === "function") {
    try {
      socket.resetAndDestroy();
    } catch {
      // Node throws when the socket has no handle yet; destroy below covers it.
    }
  }
  if (!socket.destroyed) socket.destroy();
}
