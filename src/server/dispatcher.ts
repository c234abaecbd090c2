// Frame → request header → decoded request → handler, and response object → encoded frame. Malformed input
// closes only its own connection; unknown ApiVersions versions get the v0 answer that lets clients retry (KIP-511).

import type { Broker } from "../broker.ts";
import { handlerFor, supportedApiKeys } from "../handlers/registry.ts";
import { CLOSE_AFTER_RESPONSE, CLOSE_WITHOUT_RESPONSE, NO_RESPONSE, type RequestContext } from "../handlers/handler.ts";
import { ByteReader, ProtocolDecodeError } from "../protocol/byte-reader.ts";
import type { ByteWriter } from "../protocol/byte-writer.ts";
import { ErrorCode, errorName } from "../protocol/error-codes.ts";
import { decodeRequestHeader } from "../protocol/messages/headers.ts";
import { apiTable, type ApiDescriptor } from "../protocol/messages/index.ts";
import { limits } from "../config.ts";
import { log } from "../util/logger.ts";
import { ConnectionSecurity, type SaslSettings } from "../security/sasl.ts";
import { defaultSaslSettings, plaintextListener } from "../security/security.ts";

const API_VERSIONS_KEY = 18;
const SASL_AUTHENTICATE_KEY = 36;

export interface PendingResponse {
  readonly apiName: string;
  readonly descriptor: ApiDescriptor;
  readonly apiVersion: number;
  readonly correlationId: number;
  /** performance.now() when the request was decoded. */
  readonly startedAt: number;
  /** The handler's answer; a promise until it settles. */
  result: unknown;
  /** Callbacks the handler asked to run once the response is written (RequestContext.afterResponse). */
  readonly afterResponse?: (() => void)[];
  /** A raw SASL token answer (after SaslHandshake v0): length and bytes, no response header. */
  readonly rawToken?: boolean;
  /** The handler keeps no view of the request frame once it has answered (RequestContext.releasesFrame). */
  readonly frameReusable?: boolean;
  /** The views the answer carries stay valid until its afterResponse callbacks run (RequestContext.leasesViews). */
  readonly viewsLeased?: boolean;
}

/** Whether the connection must close once this response is sent (a failed SASL authentication). */
export function closesAfterResponse(pending: PendingResponse): boolean {
  if (pending.result === CLOSE_WITHOUT_RESPONSE) return true;
  const result = pending.result as { [CLOSE_AFTER_RESPONSE]?: boolean } | null;
  return typeof result === "object" && result !== null && result[CLOSE_AFTER_RESPONSE] === true;
}

export class RequestDispatcher {
  constructor(
    private readonly broker: Broker,
    private readonly sasl: SaslSettings = defaultSaslSettings(),
  ) {}

  /** Decodes and handles one frame; "close" when the connection must be closed. */
  dispatch(frame: Uint8Array, clientAddress: string, security?: ConnectionSecurity): PendingResponse | "close" {
    security ??= new ConnectionSecurity(plaintextListener(this.broker.config), this.sasl, clientAddress);
    if (security.expectsRawToken) return this.dispatchRawToken(frame, security);
    if (frame.length < 8) {
      log.warn("closing connection: frame shorter than a request header", { client: clientAddress, bytes: frame.length });
      return "close";
    }
    const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
    const apiKey = view.getInt16(0);
    const apiVersion = view.getInt16(2);
    const correlationId = view.getInt32(4);
    const descriptor = apiTable[apiKey];
    const handler = handlerFor(apiKey);
    if (!descriptor || !handler) {
      log.warn("closing connection: unsupported API key", { client: clientAddress, apiKey, apiVersion });
      return "close";
    }
    if (!security.admits(apiKey)) return "close";
    if (apiVersion < handler.minVersion || apiVersion > handler.maxVersion) {
      if (apiKey === API_VERSIONS_KEY) {
        // Answer in v0, whatever was asked, with the supported ranges so the client can retry (KIP-511).
        return {
          apiName: descriptor.name,
          descriptor,
          apiVersion: 0,
          correlationId,
          startedAt: performance.now(),
          result: { errorCode: ErrorCode.UNSUPPORTED_VERSION, apiKeys: supportedApiKeys() },
        };
      }
      log.warn("closing connection: unsupported API version", { client: clientAddress, api: descriptor.name, apiVersion });
      return "close";
    }

    const reader = new ByteReader(frame);
    let request: unknown;
    let clientId: string | null;
    try {
      clientId = decodeRequestHeader(reader, descriptor.requestHeaderVersion(apiVersion)).clientId;
      request = descriptor.decodeRequest(reader, apiVersion);
    } catch (error) {
      if (!(error instanceof ProtocolDecodeError)) throw error;
      log.warn("closing connection: malformed request", { client: clientAddress, api: descriptor.name, apiVersion, error });
      return "close";
    }
    const startedAt = performance.now();
    this.broker.metrics.requests.inc({ api: descriptor.name, version: apiVersion });
    const afterResponse: (() => void)[] = [];
    let frameReusable = false;
    let viewsLeased = false;
    const context: RequestContext = {
      apiKey,
      apiVersion,
      correlationId,
      clientId,
      clientAddress,
      broker: this.broker,
      principal: security.principal,
      listenerName: security.listenerName,
      securityProtocol: security.securityProtocol,
      security,
      afterResponse: (callback) => afterResponse.push(callback),
      releasesFrame: () => {
        frameReusable = true;
      },
      leasesViews: () => {
        viewsLeased = true;
      },
    };
    let result: unknown;
    try {
      const faults = this.broker.faults;
      result = faults === null ? handler.handle(context, request) : faults.answer(context, request, (part) => handler.handle(context, part));
    } catch (error) {
      log.error("closing connection: handler failed", { client: clientAddress, api: descriptor.name, apiVersion, error });
      return "close";
    }
    return {
      apiName: descriptor.name,
      descriptor,
      apiVersion,
      correlationId,
      startedAt,
      result,
      afterResponse,
      frameReusable,
      get viewsLeased() {
        return viewsLeased;
      },
    };
  }

  /** A raw SASL token (SaslHandshake v0 clients): authenticated as a SaslAuthenticate v0 would be. */
  private dispatchRawToken(frame: Uint8Array, security: ConnectionSecurity): PendingResponse {
    const descriptor = apiTable[SASL_AUTHENTICATE_KEY]!;
    // Kafka answers a failed raw-token authentication by closing the connection (after the failed-auth delay).
    type RawResult = { authBytes: Uint8Array | null; [CLOSE_AFTER_RESPONSE]?: true };
    const toResult = (step: { authBytes: Uint8Array; close: boolean }): RawResult | Promise<RawResult> =>
      step.close
        ? Bun.sleep(limits.saslFailedAuthenticationDelayMs).then((): RawResult => ({ authBytes: null, [CLOSE_AFTER_RESPONSE]: true }))
        : { authBytes: step.authBytes };
    const step = security.authenticate(frame, 0);
    const result: unknown = step instanceof Promise ? step.then(toResult) : toResult(step);
    return { apiName: descriptor.name, descriptor, apiVersion: 0, correlationId: -1, startedAt: performance.now(), result, rawToken: true };
  }

  /** Writes the response frame; false when there is none to send (acks=0). */
  encode(pending: PendingResponse, writer: ByteWriter): boolean {
    if (pending.result === NO_RESPONSE || pending.result === CLOSE_WITHOUT_RESPONSE) return false;
    if (pending.rawToken) {
      const token = (pending.result as { authBytes: Uint8Array | null }).authBytes;
      if (token === null) return false;
      writer.writeBytes(token);
      return true;
    }
    const size = writer.reserveInt32();
    writer.writeInt32(pending.correlationId);
    if (pending.descriptor.responseHeaderVersion(pending.apiVersion) >= 1) writer.writeEmptyTaggedFields();
    try {
      pending.descriptor.encodeResponse(writer, pending.apiVersion, pending.result as never);
    } catch (error) {
      // An error message quoting a client's 32,767-byte name does not fit a classic string's int16 length (found by
      // fuzzing; Kafka fails the same way): cut the messages and write the answer again.
      if (!(error instanceof RangeError) || !cutErrorMessages(pending.result)) throw error;
      writer.reset();
      return this.encode(pending, writer);
    }
    size.setInt32(0, writer.length - 4);
    const { metrics } = this.broker;
    metrics.requestLatency.observe((performance.now() - pending.startedAt) / 1000, { api: pending.apiName });
    metrics.bytesOut.inc(undefined, writer.length);
    const errorCode = (pending.result as { errorCode?: unknown }).errorCode;
    if (typeof errorCode === "number" && errorCode !== 0) metrics.requestErrors.inc({ api: pending.apiName, error: errorName(errorCode) });
    return true;
  }
}

/** A UTF-16 unit is at most 3 UTF-8 bytes: a message this long always fits a classic string's int16 length. */
const ERROR_MESSAGE_CHARS_MAX = Math.floor(0x7fff / 3);

/** Cuts every errorMessage longer than ERROR_MESSAGE_CHARS_MAX in the answer; false when there was none. */
function cutErrorMessages(value: unknown): boolean {
  if (typeof value !== "object" || value === null || ArrayBuffer.isView(value)) return false;
  let cut = false;
  for (const [key, field] of Object.entries(value)) {
    if (key === "errorMessage" && typeof field === "string" && field.length > ERROR_MESSAGE_CHARS_MAX) {
      (value as Record<string, unknown>)[key] = `${field.slice(0, ERROR_MESSAGE_CHARS_MAX - 1)}…`;
      cut = true;
    } else if (cutErrorMessages(field)) cut = true;
  }
  return cut;
}
