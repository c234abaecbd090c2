// The contract between the server and one API handler: a decoded request in, a response object out.

import type { Broker } from "../broker.ts";
import type { Encodable } from "../protocol/messages/encodable.ts";

export interface RequestContext {
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly correlationId: number;
  readonly clientId: string | null;
  readonly clientAddress: string;
  /** Who sent the request, as Kafka's KafkaPrincipal string: `User:alice`, or ANONYMOUS_PRINCIPAL when unauthenticated. */
  readonly principal: string;
  readonly broker: Broker;
  /**
   * Runs `callback` once the response has been written to the socket (Fetch releases its file-log read buffers
   * there). Not run when the connection closes first: what the callback would free is then simply not reused.
   */
  afterResponse?(callback: () => void): void;
}

/** Kafka's principal for a connection that did not authenticate (PLAINTEXT, or SSL without a client certificate). */
export const ANONYMOUS_PRINCIPAL = "User:ANONYMOUS";

/** A handler's answer: a response, a promise of one when it must wait, or NO_RESPONSE (Produce acks=0). */
export const NO_RESPONSE = Symbol("no response");
export type HandlerResult<Response> = Encodable<Response> | typeof NO_RESPONSE;

export interface ApiHandler<Request = any, Response = any> {
  readonly apiKey: number;
  /** Versions served. */
  readonly minVersion: number;
  readonly maxVersion: number;
  handle(context: RequestContext, request: Request): HandlerResult<Response> | Promise<HandlerResult<Response>>;
}
