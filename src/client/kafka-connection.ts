// One client connection to a Kafka broker (Apache Kafka, Redpanda, another kgate): TCP or TLS, ApiVersions, SASL,
// then pipelined requests built and read with the generated codecs. Used by the uplink's producer and by the CLI.
// - Connect: TCP (+ TLS handshake) within connectTimeoutMs; then ApiVersions v3, again at the version the broker
//   advertises (or v0) when it answers UNSUPPORTED_VERSION in v0 (KIP-511); then SaslHandshake v1 and
//   SaslAuthenticate (PLAIN, SCRAM-SHA-256/512) when `sasl` is set. Each of these is a request under requestTimeoutMs.
// - Requests go out in call order and answers come back in that order (Kafka answers one connection in order), so a
//   FIFO of pending calls is matched against each frame's correlation id; a mismatch is a protocol error. Produce
//   with acks=0 gets no answer and takes no place in the FIFO (Kafka's `expectResponse`).
// - A request unanswered after its timeout fails the whole connection: the answers behind it cannot be told apart
//   from its own, so every pending call is rejected and onClose runs once (as for any other close).
// - Writes: large `records` views are sent as chunks of their own without a copy (ByteWriter.writeView). What the
//   socket does not take is kept and written on drain: writer-owned bytes are copied (the writer is reused), caller
//   views are kept as views. Above pendingWriteBytesMax of unsent bytes, call() refuses with "busy".
// - Reads: frames come from the FrameAssembler; a frame inside one chunk is a view of it (Bun hands data() a fresh
//   buffer each time), and decoded `records` fields stay views of it.
// Not done: re-authentication before a SASL session expires (KIP-368): `sessionLifetimeMs` tells the caller when to
// open a new connection. SaslHandshake v0 raw tokens (brokers before 1.0) and OAUTHBEARER/GSSAPI are refused.

import type { Socket } from "bun";
import { limits } from "../config.ts";
import { ByteReader } from "../protocol/byte-reader.ts";
import { ByteWriter, INLINE_VIEW_BYTES_MAX } from "../protocol/byte-writer.ts";
import { ErrorCode, errorName } from "../protocol/error-codes.ts";
import { decodeResponseHeader, encodeRequestHeader } from "../protocol/messages/headers.ts";
import { apiTable, type ApiDescriptor } from "../protocol/messages/index.ts";
import type { ApiVersionsResponse } from "../protocol/messages/18-api-versions.ts";
import type { SaslAuthenticateResponse } from "../protocol/messages/36-sasl-authenticate.ts";
import type { SaslHandshakeResponse } from "../protocol/messages/17-sasl-handshake.ts";
import { ScramClient } from "../security/scram-client.ts";
import { ScramError } from "../security/scram.ts";
import { FrameAssembler, FrameTooLargeError } from "../server/frame-assembler.ts";

const API_KEY_PRODUCE = 0;
const API_KEY_SASL_HANDSHAKE = 17;
const API_KEY_API_VERSIONS = 18;
const API_KEY_SASL_AUTHENTICATE = 36;
/** The ApiVersions version tried first: v3 carries the client software name and is the first flexible one. */
const API_VERSIONS_VERSION_PREFERRED = 3;

export type SaslMechanismName = "PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512";

export interface KafkaConnectionOptions {
  host: string;
  port: number;
  clientId: string;
  /**
   * TLS (SSL / SASL_SSL): PEM strings. rejectUnauthorized (default true) checks the broker's chain against `ca` (or
   * the system's CAs); checkHostname (default true; Kafka's ssl.endpoint.identification.algorithm=https) also checks
   * that the certificate names `serverName`, else `host`.
   */
  tls?: { ca?: string; cert?: string; key?: string; serverName?: string; rejectUnauthorized?: boolean; checkHostname?: boolean } | null;
  sasl?: { mechanism: SaslMechanismName; username: string; password: string } | null;
  /** TCP connection and TLS handshake; ApiVersions and SASL that follow are requests under requestTimeoutMs. */
  connectTimeoutMs: number;
  /** A request unanswered this long fails and closes the connection (a pipelined connection cannot skip one answer). */
  requestTimeoutMs: number;
  /** Largest response frame accepted; default the broker's own request frame limit (config.ts frameBytesMax). */
  responseBytesMax?: number;
  /** Request bytes the socket has not taken yet above which call() refuses with "busy"; default config.ts pendingWriteBytesMax. */
  pendingWriteBytesMax?: number;
  /** ApiVersions v3+ client software name and version (KIP-511); default "kgate" and "unknown". */
  clientSoftwareName?: string;
  clientSoftwareVersion?: string;
}

/**
 * - connect: no TCP connection or TLS handshake (refused, unreachable, certificate refused, connect timeout).
 * - timeout: a request went unanswered for its timeout. - closed: the connection closed (peer, close(), another
 *   call's failure). - auth: SASL refused (credentials, mechanism). - protocol: an answer that cannot be read or
 *   matched. - unsupported: no API version both sides speak. - busy: too many request bytes wait for the socket;
 *   nothing was sent and the connection stays open.
 */
export type KafkaConnectionErrorKind = "connect" | "timeout" | "closed" | "auth" | "protocol" | "unsupported" | "busy";

export class KafkaConnectionError extends Error {
  override name = "KafkaConnectionError";
  constructor(
    readonly kind: KafkaConnectionErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

interface PendingCall {
  readonly correlationId: number;
  readonly descriptor: ApiDescriptor;
  readonly version: number;
  /** performance.now() after which the call has timed out. */
  readonly deadline: number;
  readonly timeoutMs: number;
  readonly decode: (reader: ByteReader) => unknown;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/**
 * A ByteWriter that remembers which chunks are caller views, so an unsent tail of one is kept uncopied: writeView
 * pushes a view of INLINE_VIEW_BYTES_MAX or more as a chunk of its own (the same object), shorter ones are copied.
 */
class RequestWriter extends ByteWriter {
  readonly views = new Set<Uint8Array>();

  override writeView(bytes: Uint8Array): void {
    if (bytes.length >= INLINE_VIEW_BYTES_MAX) this.views.add(bytes);
    super.writeView(bytes);
  }

  override reset(): void {
    this.views.clear();
    super.reset();
  }
}

export class KafkaConnection {
  /** Called once when the connection closes for any reason (error, peer close, timeout, close()); null after close(). */
  onClose: ((error: KafkaConnectionError | null) => void) | null = null;
  /** Called when request bytes that waited for the socket have all been written (after call() refused with "busy"). */
  onDrain: (() => void) | null = null;

  private readonly address: string;
  private readonly assembler: FrameAssembler;
  private readonly writer = new RequestWriter(4 * 1024);
  private readonly pendingWriteBytesMax: number;
  private socket: Socket<undefined> | null = null;
  private correlationId = 0;
  private readonly calls: (PendingCall | undefined)[] = [];
  private callsHead = 0;
  private readonly unsent: Uint8Array[] = [];
  private unsentBytes = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private timerDeadline = Infinity;
  private isClosed = false;
  private versionRanges: ReadonlyMap<number, { min: number; max: number }> = new Map();
  private saslSessionLifetimeMs = 0;
  /** Set while connecting: settles when TCP (and TLS) is up. */
  private opening: { resolve(): void; reject(error: KafkaConnectionError): void } | null = null;
  /** The last error Bun reported on the socket (TLS alerts), for the close that follows. */
  private socketError: Error | null = null;

  private constructor(private readonly options: KafkaConnectionOptions) {
    this.address = `${options.host.includes(":") ? `[${options.host}]` : options.host}:${options.port}`;
    this.assembler = new FrameAssembler(options.responseBytesMax ?? limits.frameBytesMax);
    this.pendingWriteBytesMax = options.pendingWriteBytesMax ?? limits.pendingWriteBytesMax;
  }

  /** TCP (+TLS), ApiVersions, then SASL when `sasl` is set. Rejects with a KafkaConnectionError and leaves nothing open. */
  static async connect(options: KafkaConnectionOptions): Promise<KafkaConnection> {
    const connection = new KafkaConnection(options);
    try {
      await connection.open();
      await connection.negotiateVersions();
      if (options.sasl) await connection.authenticate(options.sasl);
    } catch (error) {
      // A close before connect() resolved (a TLS alert refusing our certificate, a broker going away) is a failed connect.
      let failure = error instanceof KafkaConnectionError ? error : new KafkaConnectionError("protocol", `${connection.address}: ${(error as Error).message}`, { cause: error });
      if (failure.kind === "closed") failure = new KafkaConnectionError("connect", failure.message, { cause: failure.cause });
      connection.fail(failure);
      throw failure;
    }
    return connection;
  }

  /** The broker's advertised version range per API key (from ApiVersions). */
  get apiVersions(): ReadonlyMap<number, { min: number; max: number }> {
    return this.versionRanges;
  }

  /** The SASL session lifetime the broker announced (KIP-368), 0 when none: open a new connection before it ends. */
  get sessionLifetimeMs(): number {
    return this.saslSessionLifetimeMs;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Requests sent (or queued for the socket) and not yet answered. */
  get inFlight(): number {
    return this.calls.length - this.callsHead;
  }

  /** Request bytes the socket has not taken yet. */
  get pendingWriteBytes(): number {
    return this.unsentBytes;
  }

  /**
   * Highest version both sides speak (our codecs in apiTable and the broker's range), capped at `max` if given;
   * throws KafkaConnectionError("unsupported") when none.
   */
  version(apiKey: number, max = Infinity): number {
    const ours = apiTable[apiKey];
    if (!ours) throw new KafkaConnectionError("unsupported", `kgate has no codec for API key ${apiKey}`);
    const theirs = this.apiVersions.get(apiKey);
    if (!theirs) throw new KafkaConnectionError("unsupported", `${this.address} does not serve ${ours.name} (API key ${apiKey})`);
    const high = Math.min(ours.maxVersion, theirs.max, max);
    if (high < Math.max(ours.minVersion, theirs.min)) {
      const cap = max === Infinity ? "" : `, at most v${max} wanted`;
      throw new KafkaConnectionError("unsupported", `no ${ours.name} version in common with ${this.address}: it serves v${theirs.min}-${theirs.max}, kgate v${ours.minVersion}-${ours.maxVersion}${cap}`);
    }
    return high;
  }

  /**
   * Sends a request and resolves with the decoded response body. Pipelined: many calls may be in flight; answers are
   * matched by correlation id in order. `records` views in the body must not change until the call settles.
   * Produce with acks=0 resolves with null once written (the broker sends nothing).
   */
  call<Response = any>(apiKey: number, version: number, body: object, options: { timeoutMs?: number } = {}): Promise<Response> {
    const descriptor = apiTable[apiKey];
    if (!descriptor) return Promise.reject(new KafkaConnectionError("unsupported", `kgate has no codec for API key ${apiKey}`));
    if (version < descriptor.minVersion || version > descriptor.maxVersion) {
      return Promise.reject(new KafkaConnectionError("unsupported", `kgate speaks ${descriptor.name} v${descriptor.minVersion}-${descriptor.maxVersion}, not v${version}`));
    }
    return this.send(descriptor, version, body, options.timeoutMs ?? this.options.requestTimeoutMs, (reader) => descriptor.decodeResponse(reader, version)) as Promise<Response>;
  }

  /** Closes at once: pending calls are rejected with "closed", onClose(null) runs. */
  close(): void {
    this.fail(null);
  }

  // --- Connecting ---------------------------------------------------------------------------------------------------

  private open(): Promise<void> {
    const { host, port, tls, connectTimeoutMs } = this.options;
    const opened = new Promise<void>((resolve, reject) => (this.opening = { resolve, reject }));
    const timer = setTimeout(() => this.fail(new KafkaConnectionError("connect", `cannot connect to ${this.address} within ${connectTimeoutMs} ms`)), connectTimeoutMs);
    const settled = () => {
      clearTimeout(timer);
      this.opening = null;
    };
    opened.then(settled, settled);

    const connection = this;
    Bun.connect({
      hostname: host,
      port,
      // An empty object would mean no TLS at all in Bun: rejectUnauthorized is always given.
      tls: tls ? bunTlsOptions(tls) : undefined,
      socket: {
        open(socket) {
          connection.socket = socket;
          if (connection.isClosed) return socket.terminate();
          socket.setNoDelay(true);
          if (!tls) connection.opening?.resolve();
        },
        // Writes before the handshake ends are dropped (write returns 0), so a TLS connection is up only here.
        handshake(_socket, success, authorizationError) {
          const refusal = tls ? tlsRefusal(tls, success, authorizationError) : null;
          if (refusal === null) return connection.opening?.resolve();
          connection.fail(new KafkaConnectionError("connect", `TLS handshake with ${connection.address} failed: ${refusal.message}`, { cause: refusal }));
        },
        data(_socket, chunk) {
          connection.onData(chunk);
        },
        drain() {
          connection.flushUnsent();
        },
        error(_socket, error) {
          connection.socketError = error;
        },
        close(_socket, error) {
          const cause = error ?? connection.socketError;
          const kind = connection.opening ? "connect" : "closed";
          connection.fail(new KafkaConnectionError(kind, `${connection.address} closed the connection${cause ? `: ${cause.message}` : ""}`, { cause }));
        },
        connectError(_socket, error) {
          connection.fail(new KafkaConnectionError("connect", `cannot connect to ${connection.address}: ${socketErrorText(error)}`, { cause: error }));
        },
      },
    }).then(
      (socket) => {
        if (this.isClosed) socket.terminate();
        else this.socket = socket;
      },
      (error: Error) => this.fail(new KafkaConnectionError("connect", `cannot connect to ${this.address}: ${socketErrorText(error)}`, { cause: error })),
    );
    return opened;
  }

  private async negotiateVersions(): Promise<void> {
    const descriptor = apiTable[API_KEY_API_VERSIONS]!;
    const body = { clientSoftwareName: this.options.clientSoftwareName ?? "kgate", clientSoftwareVersion: this.options.clientSoftwareVersion ?? "unknown" };
    let version = API_VERSIONS_VERSION_PREFERRED;
    for (;;) {
      const response = (await this.send(descriptor, version, body, this.options.requestTimeoutMs, (reader) => decodeApiVersions(descriptor, reader, version))) as ApiVersionsResponse;
      if (response.errorCode === ErrorCode.UNSUPPORTED_VERSION && version > 0) {
        // KIP-511: the answer lists the broker's ApiVersions range; without one, v0 is the version every broker speaks.
        const advertised = response.apiKeys.find((api) => api.apiKey === API_KEY_API_VERSIONS);
        version = advertised && advertised.maxVersion < version && advertised.maxVersion >= 0 ? advertised.maxVersion : 0;
        continue;
      }
      if (response.errorCode !== ErrorCode.NONE) throw new KafkaConnectionError("protocol", `ApiVersions v${version} to ${this.address}: ${errorName(response.errorCode)}`);
      this.versionRanges = new Map(response.apiKeys.map((api) => [api.apiKey, { min: api.minVersion, max: api.maxVersion }]));
      return;
    }
  }

  private async authenticate(sasl: NonNullable<KafkaConnectionOptions["sasl"]>): Promise<void> {
    const { mechanism, username, password } = sasl;
    if (mechanism !== "PLAIN" && mechanism !== "SCRAM-SHA-256" && mechanism !== "SCRAM-SHA-512") {
      throw new KafkaConnectionError("auth", `SASL mechanism ${JSON.stringify(mechanism)} is not supported by kgate's client (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)`);
    }
    // SaslHandshake v0 is followed by raw tokens without Kafka headers (brokers before 1.0): not spoken here.
    if (this.version(API_KEY_SASL_HANDSHAKE) < 1) throw new KafkaConnectionError("unsupported", `${this.address} speaks only SaslHandshake v0 (raw SASL tokens), which kgate does not`);
    const handshake = await this.call<SaslHandshakeResponse>(API_KEY_SASL_HANDSHAKE, 1, { mechanism });
    if (handshake.errorCode === ErrorCode.UNSUPPORTED_SASL_MECHANISM) {
      throw new KafkaConnectionError("auth", `${this.address} does not enable SASL mechanism ${mechanism} (it enables: ${handshake.mechanisms.join(", ") || "none"})`);
    }
    if (handshake.errorCode !== ErrorCode.NONE) {
      const hint = handshake.errorCode === ErrorCode.ILLEGAL_SASL_STATE ? " (is it a SASL_PLAINTEXT or SASL_SSL listener?)" : "";
      throw new KafkaConnectionError("auth", `SaslHandshake ${mechanism} with ${this.address}: ${errorName(handshake.errorCode)}${hint}`);
    }

    const version = this.version(API_KEY_SASL_AUTHENTICATE);
    const step = async (authBytes: Uint8Array): Promise<SaslAuthenticateResponse> => {
      const answer = await this.call<SaslAuthenticateResponse>(API_KEY_SASL_AUTHENTICATE, version, { authBytes });
      if (answer.errorCode !== ErrorCode.NONE) {
        const reason = answer.errorMessage || errorName(answer.errorCode);
        throw new KafkaConnectionError("auth", `SASL ${mechanism} authentication of ${username} at ${this.address} failed: ${reason}`);
      }
      return answer;
    };
    let last: SaslAuthenticateResponse;
    if (mechanism === "PLAIN") {
      // authzid NUL authcid NUL passwd (RFC 4616), authzid empty. The token holds the password: never logged.
      last = await step(Buffer.from(`\0${username}\0${password}`, "utf8"));
    } else {
      const scram = new ScramClient(mechanism, username, password);
      try {
        const serverFirst = await step(scram.clientFirst());
        last = await step(await scram.clientFinalAsync(serverFirst.authBytes));
        scram.verifyServerFinal(last.authBytes);
      } catch (error) {
        if (!(error instanceof ScramError)) throw error;
        throw new KafkaConnectionError("auth", `SASL ${mechanism} authentication of ${username} at ${this.address} failed: ${error.message}`);
      }
    }
    this.saslSessionLifetimeMs = Number(last.sessionLifetimeMs ?? 0n);
  }

  // --- Requests -----------------------------------------------------------------------------------------------------

  private send(descriptor: ApiDescriptor, version: number, body: object, timeoutMs: number, decode: (reader: ByteReader) => unknown): Promise<unknown> {
    if (this.isClosed || this.socket === null) return Promise.reject(new KafkaConnectionError("closed", `the connection to ${this.address} is closed`));
    const correlationId = this.correlationId = (this.correlationId + 1) | 0;
    const writer = this.writer;
    writer.reset();
    try {
      const size = writer.reserveInt32();
      encodeRequestHeader(writer, descriptor.requestHeaderVersion(version), { requestApiKey: descriptor.apiKey, requestApiVersion: version, correlationId, clientId: this.options.clientId });
      descriptor.encodeRequest(writer, version, body as never);
      size.setInt32(0, writer.length - 4);
    } catch (error) {
      writer.reset();
      return Promise.reject(error);
    }
    if (this.unsentBytes > 0 && this.unsentBytes + writer.length > this.pendingWriteBytesMax) {
      writer.reset();
      return Promise.reject(new KafkaConnectionError("busy", `${this.unsentBytes} request bytes wait for the socket to ${this.address} (limit ${this.pendingWriteBytesMax})`));
    }

    const expectsResponse = !(descriptor.apiKey === API_KEY_PRODUCE && (body as { acks?: number }).acks === 0);
    let promise: Promise<unknown>;
    if (expectsResponse) {
      promise = new Promise((resolve, reject) => {
        const deadline = performance.now() + timeoutMs;
        this.calls.push({ correlationId, descriptor, version, deadline, timeoutMs, decode, resolve, reject });
        this.armTimer(deadline);
      });
    } else {
      promise = Promise.resolve(null);
    }
    this.write(writer.finish(), writer.views);
    writer.reset();
    return promise;
  }

  private write(chunks: Uint8Array[], views: ReadonlySet<Uint8Array>): void {
    const socket = this.socket!;
    for (const chunk of chunks) {
      if (this.isClosed) return;
      if (this.unsent.length === 0) {
        const written = socket.write(chunk);
        if (written < 0) return this.fail(new KafkaConnectionError("closed", `${this.address} closed the connection`));
        if (written === chunk.length) continue;
        this.keepUnsent(chunk.subarray(written), views.has(chunk));
      } else {
        this.keepUnsent(chunk, views.has(chunk));
      }
    }
    socket.flush();
  }

  /** The writer is reused for the next request, so its bytes are copied; a caller's view stays a view. */
  private keepUnsent(bytes: Uint8Array, callerView: boolean): void {
    this.unsent.push(callerView ? bytes : bytes.slice());
    this.unsentBytes += bytes.length;
  }

  private flushUnsent(): void {
    const socket = this.socket;
    if (this.unsent.length === 0 || socket === null) return;
    while (this.unsent.length > 0 && !this.isClosed) {
      const chunk = this.unsent[0]!;
      const written = socket.write(chunk);
      if (written < 0) return this.fail(new KafkaConnectionError("closed", `${this.address} closed the connection`));
      this.unsentBytes -= written;
      if (written < chunk.length) {
        this.unsent[0] = chunk.subarray(written);
        return;
      }
      this.unsent.shift();
    }
    if (!this.isClosed) this.onDrain?.();
  }

  // --- Responses ----------------------------------------------------------------------------------------------------

  private onData(chunk: Uint8Array): void {
    if (this.isClosed) return;
    try {
      this.assembler.push(chunk, (frame) => this.onFrame(frame));
    } catch (error) {
      // Only the assembler throws here (onFrame catches its own): the stream cannot be followed any further.
      const call = this.calls[this.callsHead];
      const what = call ? `${call.descriptor.name} v${call.version} answer` : "response";
      const reason = error instanceof FrameTooLargeError ? `a ${what} of ${error.frameBytes} bytes, above the ${error.frameBytesMax}-byte limit` : `an unreadable ${what}: ${(error as Error).message}`;
      this.fail(new KafkaConnectionError("protocol", `${this.address} sent ${reason}`, { cause: error }), call ? [call] : []);
    }
  }

  private onFrame(frame: Uint8Array): void {
    if (this.isClosed) return;
    const call = this.shiftCall();
    if (!call) return this.fail(new KafkaConnectionError("protocol", `${this.address} sent a response with no request in flight`));
    let body: unknown;
    try {
      const reader = new ByteReader(frame);
      const { correlationId } = decodeResponseHeader(reader, call.descriptor.responseHeaderVersion(call.version));
      if (correlationId !== call.correlationId) {
        throw new Error(`answer carries correlation id ${correlationId}, the oldest request in flight ${call.correlationId}`);
      }
      body = call.decode(reader);
    } catch (error) {
      const failure = new KafkaConnectionError("protocol", `${call.descriptor.name} v${call.version} from ${this.address}: ${(error as Error).message}`, { cause: error });
      return this.fail(failure, [call]);
    }
    if (this.inFlight === 0) this.clearTimer();
    call.resolve(body);
  }

  private shiftCall(): PendingCall | undefined {
    if (this.callsHead >= this.calls.length) return undefined;
    const call = this.calls[this.callsHead];
    this.calls[this.callsHead++] = undefined;
    if (this.callsHead === this.calls.length) {
      this.calls.length = 0;
      this.callsHead = 0;
    } else if (this.callsHead >= 1024 && this.callsHead * 2 >= this.calls.length) {
      this.calls.splice(0, this.callsHead);
      this.callsHead = 0;
    }
    return call;
  }

  // --- Timeouts and closing -----------------------------------------------------------------------------------------

  /** One timer, for the earliest deadline of the calls in flight. */
  private armTimer(deadline: number): void {
    if (deadline >= this.timerDeadline) return;
    this.clearTimer();
    this.timerDeadline = deadline;
    this.timer = setTimeout(() => this.checkDeadlines(), Math.max(0, deadline - performance.now()));
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.timerDeadline = Infinity;
  }

  private checkDeadlines(): void {
    this.timer = null;
    this.timerDeadline = Infinity;
    if (this.isClosed) return;
    const now = performance.now();
    const expired: PendingCall[] = [];
    let next = Infinity;
    for (let i = this.callsHead; i < this.calls.length; i++) {
      const call = this.calls[i]!;
      if (call.deadline <= now) expired.push(call);
      else next = Math.min(next, call.deadline);
    }
    if (expired.length > 0) {
      const first = expired[0]!;
      const more = this.inFlight > 1 ? ` (${this.inFlight} requests in flight)` : "";
      return this.fail(new KafkaConnectionError("timeout", `${first.descriptor.name} v${first.version}: no answer from ${this.address} within ${first.timeoutMs} ms${more}`), expired);
    }
    if (next !== Infinity) this.armTimer(next);
  }

  /**
   * Closes once: `culprits` get `error` itself, every other pending call a "closed" error that names it. A null error
   * is close() by the owner.
   */
  private fail(error: KafkaConnectionError | null, culprits: readonly PendingCall[] = []): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.clearTimer();
    const closedError =
      error === null
        ? new KafkaConnectionError("closed", `the connection to ${this.address} was closed by its owner`)
        : error.kind === "closed"
          ? error
          : new KafkaConnectionError("closed", `the connection to ${this.address} closed: ${error.message}`, { cause: error });
    this.opening?.reject(error ?? closedError);
    const calls = this.calls.slice(this.callsHead) as PendingCall[];
    this.calls.length = 0;
    this.callsHead = 0;
    this.unsent.length = 0;
    this.unsentBytes = 0;
    // A culprit may already have left the FIFO (its answer was the bad one).
    for (const call of culprits) call.reject(error!);
    for (const call of calls) if (!culprits.includes(call)) call.reject(closedError);
    const socket = this.socket;
    if (socket !== null) {
      if (error === null) socket.end();
      else socket.terminate();
    }
    const onClose = this.onClose;
    this.onClose = null;
    this.onDrain = null;
    onClose?.(error);
  }
}

type TlsOptions = NonNullable<KafkaConnectionOptions["tls"]>;

/** Bun says only "Failed to connect": the code (ECONNREFUSED, EHOSTUNREACH, ...) is what tells the reader why. */
function socketErrorText(error: Error): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" && !error.message.includes(code) ? `${error.message} (${code})` : error.message;
}

/**
 * Bun's rejectUnauthorized checks chain and host name together and Bun.connect has no checkServerIdentity: without
 * the host name check Bun is told to accept anything and tlsRefusal judges the handshake's authorizationError.
 */
function bunTlsOptions(tls: TlsOptions): Bun.TLSOptions {
  const verify = tls.rejectUnauthorized ?? true;
  const options: Bun.TLSOptions = { rejectUnauthorized: verify && (tls.checkHostname ?? true) };
  if (tls.ca !== undefined) options.ca = tls.ca;
  if (tls.cert !== undefined) options.cert = tls.cert;
  if (tls.key !== undefined) options.key = tls.key;
  if (tls.serverName !== undefined) options.serverName = tls.serverName;
  return options;
}

/** Why the handshake is refused, or null. OpenSSL reports a chain error before a host name mismatch. */
function tlsRefusal(tls: TlsOptions, success: boolean, authorizationError: Error | null): Error | null {
  if (!(tls.rejectUnauthorized ?? true)) return null;
  if (tls.checkHostname ?? true) return success ? null : (authorizationError ?? new Error("handshake refused"));
  if (authorizationError === null) return null;
  return (authorizationError as { code?: string }).code === "ERR_TLS_CERT_ALTNAME_INVALID" ? null : authorizationError;
}

/**
 * A broker that does not speak the requested ApiVersions version answers in v0 with UNSUPPORTED_VERSION (KIP-511;
 * Kafka's ApiVersionsResponse.parse falls back the same way). errorCode is the first field in every version.
 */
function decodeApiVersions(descriptor: ApiDescriptor, reader: ByteReader, version: number): unknown {
  const unsupported = reader.remaining >= 2 && reader.view.getInt16(reader.offset) === ErrorCode.UNSUPPORTED_VERSION;
  if (!unsupported) return descriptor.decodeResponse(reader, version);
  try {
    return descriptor.decodeResponse(reader, 0);
  } catch {
    // Not v0 either: librdkafka 2.0's mock cluster answers a v3 request with a one-byte array count. Without a
    // readable range, retry at v0 (librdkafka's own fallback).
    return { errorCode: ErrorCode.UNSUPPORTED_VERSION, apiKeys: [], throttleTimeMs: 0 } satisfies Partial<ApiVersionsResponse>;
  }
}
