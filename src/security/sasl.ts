// SASL on one connection (KIP-43, KIP-152, KIP-368), as Kafka's SaslServerAuthenticator:
// - On a SASL listener only ApiVersions, SaslHandshake and SaslAuthenticate pass before authentication; any other
//   request closes the connection (Kafka: IllegalSaslStateException, then close).
// - SaslHandshake v1 is followed by SaslAuthenticate requests; v0 by raw SASL tokens, each a 4-byte length and the
//   bytes with no Kafka request header, answered the same way (old clients, e.g. kafka-python).
// - A failed authentication answers SASL_AUTHENTICATION_FAILED and closes (v0 raw tokens: closes at once).
// - KIP-368: SaslAuthenticate v1+ answers sessionLifetimeMs (--sasl-session-lifetime-ms, 0 = none); a request
//   other than SaslHandshake/SaslAuthenticate after the session expired closes the connection; a SaslHandshake on an
//   authenticated connection starts a re-authentication, which must keep the principal.
// - On other listeners SaslHandshake and SaslAuthenticate answer ILLEGAL_SASL_STATE, as Kafka's KafkaApis does.

import { ErrorCode } from "../protocol/error-codes.ts";
import { log } from "../util/logger.ts";
import type { CredentialStore } from "./credential-store.ts";
import { usesSasl, type ListenerConfig } from "./listeners.ts";
import { parseClientFirst, SCRAM_MECHANISMS, ScramError, ScramServerExchange, verifyPassword, type ScramMechanism } from "./scram.ts";

export type SaslMechanism = "PLAIN" | ScramMechanism;
export const SASL_MECHANISMS: readonly SaslMechanism[] = ["PLAIN", ...SCRAM_MECHANISMS];

export const ANONYMOUS_PRINCIPAL = "User:ANONYMOUS";

const API_KEY_SASL_HANDSHAKE = 17;
const API_KEY_API_VERSIONS = 18;
const API_KEY_SASL_AUTHENTICATE = 36;

/** What every connection's SASL state shares: the users, the enabled mechanisms, the session lifetime, the metrics. */
export interface SaslSettings {
  readonly credentials: CredentialStore;
  readonly mechanisms: readonly SaslMechanism[];
  readonly sessionLifetimeMs: number;
  /** Counts a failed authentication (metrics). */
  onFailure(listener: string, mechanism: string): void;
}

export interface SaslStep {
  errorCode: number;
  errorMessage: string | null;
  authBytes: Uint8Array;
  sessionLifetimeMs: bigint;
  /** The connection closes once this answer is sent. */
  close: boolean;
}

type State =
  | { kind: "handshake" }
  | { kind: "authenticate"; mechanism: SaslMechanism; rawTokens: boolean; exchange: ScramServerExchange | null }
  | { kind: "authenticated" }
  | { kind: "failed" };

const EMPTY = new Uint8Array(0);

/** The security side of one connection: listener, principal, SASL state. */
export class ConnectionSecurity {
  /** User:ANONYMOUS, User:CN=... (mutual TLS) or User:name (SASL). */
  principal: string;
  private state: State;
  /** performance.now() after which the SASL session is over; null: never. */
  private sessionExpiresAt: number | null = null;
  private authenticatedMechanism: SaslMechanism | null = null;
  /** SaslAuthenticate v1+ was used: the client can re-authenticate (KIP-368). */
  private canReauthenticate = false;

  constructor(
    readonly listener: ListenerConfig,
    readonly sasl: SaslSettings,
    readonly clientAddress: string,
    principal = ANONYMOUS_PRINCIPAL,
  ) {
    this.principal = principal;
    this.state = usesSasl(listener.securityProtocol) ? { kind: "handshake" } : { kind: "authenticated" };
  }

  get listenerName(): string {
    return this.listener.name;
  }

  get securityProtocol(): string {
    return this.listener.securityProtocol;
  }

  /** After a SaslHandshake v0, the next frames are raw SASL tokens rather than Kafka requests. */
  get expectsRawToken(): boolean {
    return this.state.kind === "authenticate" && this.state.rawTokens;
  }

  private get saslListener(): boolean {
    return usesSasl(this.listener.securityProtocol);
  }

  /** Whether a request with this API key may run now; false closes the connection. */
  admits(apiKey: number): boolean {
    if (!this.saslListener) return true;
    const saslApi = apiKey === API_KEY_SASL_HANDSHAKE || apiKey === API_KEY_SASL_AUTHENTICATE;
    switch (this.state.kind) {
      case "handshake":
        if (apiKey === API_KEY_API_VERSIONS || apiKey === API_KEY_SASL_HANDSHAKE) return true;
        return this.refuse(`request with API key ${apiKey} before SASL authentication`);
      case "authenticate":
        if (apiKey === API_KEY_SASL_AUTHENTICATE) return true;
        // A re-authenticating connection keeps serving until its session expires (Kafka does the same).
        if (this.authenticatedMechanism !== null && !saslApi && !this.expired()) return true;
        return this.refuse(`request with API key ${apiKey} during SASL authentication`);
      case "authenticated":
        if (saslApi || !this.expired()) return true;
        log.info("closing connection: SASL session expired", this.logContext());
        return false;
      case "failed":
        return false;
    }
  }

  private refuse(reason: string): false {
    log.warn("closing connection: illegal SASL state", { ...this.logContext(), reason });
    return false;
  }

  private expired(): boolean {
    return this.sessionExpiresAt !== null && performance.now() >= this.sessionExpiresAt;
  }

  handshake(mechanism: string, version: number): { errorCode: number; mechanisms: string[]; close: boolean } {
    const enabled = this.sasl.mechanisms;
    if (!this.saslListener) return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms: [], close: false };
    const reauthenticating = this.state.kind === "authenticated";
    if (reauthenticating && !this.canReauthenticate) return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms: [...enabled], close: false };
    if (this.state.kind === "authenticate") return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms: [...enabled], close: true };
    if (!enabled.includes(mechanism as SaslMechanism)) {
      this.fail(mechanism, "unsupported SASL mechanism");
      return { errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms: [...enabled], close: true };
    }
    if (reauthenticating && mechanism !== this.authenticatedMechanism) {
      this.fail(mechanism, "re-authentication with another mechanism");
      return { errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms: [this.authenticatedMechanism!], close: true };
    }
    this.state = { kind: "authenticate", mechanism: mechanism as SaslMechanism, rawTokens: version === 0, exchange: null };
    return { errorCode: ErrorCode.NONE, mechanisms: [...enabled], close: false };
  }

  /** One SaslAuthenticate request (or raw v0 token); `apiVersion` decides whether a session lifetime is sent. */
  authenticate(token: Uint8Array, apiVersion: number): SaslStep | Promise<SaslStep> {
    const state = this.state;
    if (!this.saslListener || state.kind !== "authenticate") {
      const message = this.saslListener ? "SaslAuthenticate without a SaslHandshake" : "SASL is not enabled on this listener";
      return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, errorMessage: message, authBytes: EMPTY, sessionLifetimeMs: 0n, close: this.saslListener };
    }
    if (apiVersion >= 1) this.canReauthenticate = true;
    if (state.mechanism === "PLAIN") return this.authenticatePlain(token, apiVersion);
    return this.authenticateScram(state, token, apiVersion);
  }

  private async authenticatePlain(token: Uint8Array, apiVersion: number): Promise<SaslStep> {
    // authzid NUL authcid NUL passwd (RFC 4616); authzid empty or equal to authcid (Kafka's PlainSaslServer).
    const parts = Buffer.from(token).toString("utf8").split("\0");
    const failure = (reason: string) => this.failStep("PLAIN", reason, "Authentication failed: Invalid username or password");
    if (parts.length !== 3) return this.failStep("PLAIN", "malformed PLAIN token", "Invalid SASL/PLAIN response: expected 3 tokens");
    const [authorizationId, user, password] = parts as [string, string, string];
    if (user === "" || password === "") return failure("empty user name or password");
    if (authorizationId !== "" && authorizationId !== user) return failure(`authorization id ${authorizationId} differs from user ${user}`);
    // PLAIN checks the password against a SCRAM credential: derive its keys and compare (no plaintext stored).
    const mechanism = SCRAM_MECHANISMS.find((candidate) => this.sasl.credentials.get(user, candidate));
    const credential = mechanism ? this.sasl.credentials.get(user, mechanism) : undefined;
    if (!mechanism || !credential) return failure(`unknown user ${user}`);
    if (!(await verifyPassword(mechanism, credential, password))) return failure(`wrong password for user ${user}`);
    return this.succeed("PLAIN", user, EMPTY, apiVersion);
  }

  private authenticateScram(state: Extract<State, { kind: "authenticate" }>, token: Uint8Array, apiVersion: number): SaslStep {
    const mechanism = state.mechanism as ScramMechanism;
    const invalidCredentials = `Authentication failed during authentication due to invalid credentials with SASL mechanism ${mechanism}`;
    const text = Buffer.from(token).toString("utf8");
    try {
      if (state.exchange === null) {
        const clientFirst = parseClientFirst(text);
        const credential = this.sasl.credentials.get(clientFirst.userName, mechanism);
        if (!credential) return this.failStep(mechanism, `unknown user ${clientFirst.userName}`, invalidCredentials);
        state.exchange = new ScramServerExchange(mechanism, clientFirst, credential);
        return { errorCode: ErrorCode.NONE, errorMessage: null, authBytes: Buffer.from(state.exchange.serverFirstMessage()), sessionLifetimeMs: 0n, close: false };
      }
      const serverFinal = state.exchange.finish(text);
      return this.succeed(mechanism, state.exchange.userName, Buffer.from(serverFinal), apiVersion);
    } catch (error) {
      if (!(error instanceof ScramError)) throw error;
      const user = state.exchange ? ` for user ${state.exchange.userName}` : "";
      return this.failStep(mechanism, `${error.message}${user}`, invalidCredentials);
    }
  }

  private succeed(mechanism: SaslMechanism, user: string, authBytes: Uint8Array, apiVersion: number): SaslStep {
    const principal = `User:${user}`;
    const reauthentication = this.authenticatedMechanism !== null;
    if (reauthentication && principal !== this.principal) {
      return this.failStep(mechanism, `re-authentication as ${principal}`, `Cannot change principals during re-authentication from ${this.principal}: ${principal}`);
    }
    this.principal = principal;
    this.authenticatedMechanism = mechanism;
    this.state = { kind: "authenticated" };
    const lifetimeMs = this.sasl.sessionLifetimeMs;
    // Raw-token (v0) and SaslAuthenticate v0 clients cannot re-authenticate: no lifetime is enforced on them.
    const enforced = lifetimeMs > 0 && apiVersion >= 1;
    this.sessionExpiresAt = enforced ? performance.now() + lifetimeMs : null;
    log.info(reauthentication ? "SASL re-authentication succeeded" : "SASL authentication succeeded", { ...this.logContext(), mechanism });
    return { errorCode: ErrorCode.NONE, errorMessage: null, authBytes, sessionLifetimeMs: enforced ? BigInt(lifetimeMs) : 0n, close: false };
  }

  private failStep(mechanism: string, reason: string, clientMessage: string): SaslStep {
    this.fail(mechanism, reason);
    return { errorCode: ErrorCode.SASL_AUTHENTICATION_FAILED, errorMessage: clientMessage, authBytes: EMPTY, sessionLifetimeMs: 0n, close: true };
  }

  private fail(mechanism: string, reason: string): void {
    this.state = { kind: "failed" };
    this.sasl.onFailure(this.listener.name, mechanism);
    log.warn("SASL authentication failed", { ...this.logContext(), mechanism, reason });
  }

  logContext(): Record<string, unknown> {
    return { client: this.clientAddress, listener: this.listener.name, principal: this.principal };
  }
}
