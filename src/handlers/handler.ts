// The contract between the server and one API handler: a decoded request in, a response object out.

import type { Broker } from "../broker.ts";
import type { Encodable } from "../protocol/messages/encodable.ts";
import type { ConnectionSecurity } from "../security/sasl.ts";

export interface RequestContext {
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly correlationId: number;
  readonly clientId: string | null;
  readonly clientAddress: string;
  readonly broker: Broker;
  /** Who sent the request: `User:ANONYMOUS`, `User:<SASL user>` or `User:<client certificate subject>` (mutual TLS). */
  readonly principal: string;
  /** The listener the request came in on (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL) and its security protocol. */
  readonly listenerName: string;
  readonly securityProtocol: string;
  /** The connection's listener, SASL state and credential store (SASL handlers; Metadata's advertised address). */
  readonly security: ConnectionSecurity;
  /**
   * Runs `callback` once the response has been written to the socket (Fetch releases its file-log read buffers and
   * its memory-budget bytes there), or dropped because the connection closed.
   */
  afterResponse?(callback: () => void): void;
  /**
   * Says that the views the answer carries (record batches) stay valid until the afterResponse callbacks run, so
   * bytes of them the socket does not take at once are kept as views, not copied (Fetch on the file log: its read
   * buffers are leased until then). May be called after the handler returned, before its promise settles.
   */
  leasesViews?(): void;
  /**
   * Says that nothing the handler made or stored keeps a view of the request's bytes once its answer is written, so
   * the connection may reuse the frame's buffer. Not calling it is always safe: decoded `bytes` fields are views of
   * the frame, and whatever stores one (a group's assignment, the in-memory log's batches) must keep the frame.
   */
  releasesFrame?(): void;
}

/**
 * Set on a handler's answer (`[CLOSE_AFTER_RESPONSE]: true`) to close the connection once it is sent: a failed SASL
 * authentication answers, then closes, as Kafka does.
 */
export const CLOSE_AFTER_RESPONSE = Symbol("close after response");

/** Kafka's principal for a connection that did not authenticate (PLAINTEXT, or SSL without a client certificate). */
export { ANONYMOUS_PRINCIPAL } from "../security/sasl.ts";

/** A handler's answer: a response, a promise of one when it must wait, or NO_RESPONSE (Produce acks=0). */
export const NO_RESPONSE = Symbol("no response");
/**
 * No answer, and the connection is closed once what went before it is written: Produce with acks=0 that failed for
 * some partition (Kafka closes the connection so that the producer, which waits for nothing, notices).
 */
export const CLOSE_WITHOUT_RESPONSE = Symbol("close without response");
export type HandlerResult<Response> = Encodable<Response> | typeof NO_RESPONSE | typeof CLOSE_WITHOUT_RESPONSE;

export interface ApiHandler<Request = any, Response = any> {
  readonly apiKey: number;
  /** Versions served. */
  readonly minVersion: number;
  readonly maxVersion: number;
  handle(context: RequestContext, request: Request): HandlerResult<Response> | Promise<HandlerResult<Response>>;
}
