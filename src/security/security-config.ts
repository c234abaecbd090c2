// The security options: listeners, TLS files, SASL mechanisms and users, HTTP TLS and Basic auth. config.ts lists
// them in --help and calls parseSecurityConfig with what argv and the environment gave.

import { parseListeners, usesSasl, usesTls, ListenerSpecError, type ListenerConfig } from "./listeners.ts";
import { SASL_MECHANISMS, type SaslMechanism } from "./sasl.ts";
import type { ClientAuth, TlsConfig } from "./tls.ts";

export interface SecurityConfig {
  /** Kafka listeners; null: the one PLAINTEXT listener of --listen/--advertise. */
  listeners: ListenerConfig[] | null;
  tls: TlsConfig | null;
  saslMechanisms: SaslMechanism[];
  /** Kafka's connections.max.reauth.ms: SASL sessions expire after this long unless re-authenticated; 0 = never. */
  saslSessionLifetimeMs: number;
  /** Users created at start (with SCRAM-SHA-256 and -512 credentials) when they do not exist yet. */
  saslUsersBootstrap: { user: string; password: string }[];
  /** The HTTP listener (registry, /metrics) serves HTTPS with the --tls-cert certificate. */
  httpTls: boolean;
  /** The HTTP listener requires HTTP Basic with a SASL user's name and password (except /health and /ready). */
  httpAuth: boolean;
  /**
   * Registry permission per user with --http-auth; null: every authenticated user may do everything. Users not
   * listed get `read`.
   */
  httpRoles: Map<string, HttpRole> | null;
}

/** What an HTTP user may do: read (GET, lookups, compatibility checks), write (+ register), admin (+ delete, config, mode). */
export type HttpRole = "read" | "write" | "admin";
export const HTTP_ROLES: readonly HttpRole[] = ["read", "write", "admin"];

export class SecurityConfigError extends Error {
  override name = "SecurityConfigError";
}

/** Kafka's connections.max.reauth.ms is unbounded; a week keeps the timer arithmetic in range. */
const SESSION_LIFETIME_MS_MAX = 7 * 24 * 3_600_000;

export const securityOptions = [
  { flag: "--listeners", env: "KGATE_LISTENERS", value: "LIST", help: "Kafka listeners, e.g. PLAINTEXT://127.0.0.1:9092,SASL_SSL://0.0.0.0:9094 (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL); replaces --listen", defaultText: "PLAINTEXT at --listen" },
  { flag: "--advertised-listeners", env: "KGATE_ADVERTISED_LISTENERS", value: "LIST", help: "address Metadata gives clients of each listener, e.g. SASL_SSL://edge.example:9094", defaultText: "each listener's address" },
  { flag: "--tls-cert", env: "KGATE_TLS_CERT", value: "FILE", help: "PEM certificate (chain) of the SSL/SASL_SSL listeners and of HTTPS", defaultText: "none" },
  { flag: "--tls-key", env: "KGATE_TLS_KEY", value: "FILE", help: "PEM private key of --tls-cert", defaultText: "none" },
  { flag: "--tls-ca", env: "KGATE_TLS_CA", value: "FILE", help: "PEM CA that client certificates must chain to (mutual TLS)", defaultText: "none" },
  { flag: "--tls-client-auth", env: "KGATE_TLS_CLIENT_AUTH", value: "required|requested|none", help: "Kafka's ssl.client.auth: ask for a client certificate and refuse clients without one", defaultText: "required with --tls-ca, else none" },
  { flag: "--sasl-mechanisms", env: "KGATE_SASL_MECHANISMS", value: "LIST", help: "SASL mechanisms enabled on SASL listeners", defaultText: SASL_MECHANISMS.join(",") },
  { flag: "--sasl-session-lifetime-ms", env: "KGATE_SASL_SESSION_LIFETIME_MS", value: "MS", help: "Kafka's connections.max.reauth.ms: clients must re-authenticate within MS or are disconnected; 0 = never", defaultText: "0" },
  { flag: "--sasl-users-bootstrap", env: "KGATE_SASL_USERS_BOOTSTRAP", value: "USER:PASSWORD,...", help: "SASL users created at start when missing (SCRAM-SHA-256 and -512); prefer `kgate users add`", defaultText: "none" },
  { flag: "--http-tls", env: "KGATE_HTTP_TLS", value: "true|false", help: "serve the HTTP listener (registry, /metrics) over TLS with --tls-cert", defaultText: "false" },
  { flag: "--http-auth", env: "KGATE_HTTP_AUTH", value: "true|false", help: "require HTTP Basic with a SASL user on the HTTP listener (/health and /ready stay open)", defaultText: "false" },
  { flag: "--http-roles", env: "KGATE_HTTP_ROLES", value: "USER:ROLE,...", help: "registry permission of each HTTP user: read, write (register) or admin (delete, config, mode); unlisted users read", defaultText: "every authenticated user is admin" },
];

function parseBoolean(text: string | undefined, flag: string): boolean {
  if (text === undefined) return false;
  if (/^(true|1|yes|on)$/i.test(text)) return true;
  if (/^(false|0|no|off)$/i.test(text)) return false;
  throw new SecurityConfigError(`${flag} wants true or false, got ${JSON.stringify(text)}`);
}

/** Reads the security options from `given` (flag → text); throws SecurityConfigError on a bad or inconsistent one. */
export function parseSecurityConfig(given: ReadonlyMap<string, string>): SecurityConfig {
  let listeners: ListenerConfig[] | null = null;
  const listenersText = given.get("--listeners");
  if (listenersText !== undefined) {
    if (given.has("--listen") || given.has("--advertise")) throw new SecurityConfigError("--listeners replaces --listen and --advertise: give one or the other");
    try {
      listeners = parseListeners(listenersText, given.get("--advertised-listeners"));
    } catch (error) {
      if (error instanceof ListenerSpecError) throw new SecurityConfigError(error.message);
      throw error;
    }
  } else if (given.has("--advertised-listeners")) {
    throw new SecurityConfigError("--advertised-listeners needs --listeners");
  }

  let tls: TlsConfig | null = null;
  const certFile = given.get("--tls-cert");
  const keyFile = given.get("--tls-key");
  const caFile = given.get("--tls-ca") ?? null;
  if ((certFile === undefined) !== (keyFile === undefined)) throw new SecurityConfigError("--tls-cert and --tls-key go together");
  const clientAuthText = given.get("--tls-client-auth") ?? (caFile !== null ? "required" : "none");
  if (!["required", "requested", "none"].includes(clientAuthText)) throw new SecurityConfigError(`--tls-client-auth wants required, requested or none, got ${JSON.stringify(clientAuthText)}`);
  const clientAuth = clientAuthText as ClientAuth;
  if (clientAuth !== "none" && caFile === null) throw new SecurityConfigError(`--tls-client-auth ${clientAuth} needs --tls-ca`);
  if (certFile !== undefined && keyFile !== undefined) tls = { certFile, keyFile, caFile, clientAuth };
  else if (caFile !== null) throw new SecurityConfigError("--tls-ca needs --tls-cert and --tls-key");

  const httpTls = parseBoolean(given.get("--http-tls"), "--http-tls");
  if (httpTls && tls === null) throw new SecurityConfigError("--http-tls needs --tls-cert and --tls-key");
  for (const listener of listeners ?? []) {
    if (usesTls(listener.securityProtocol) && tls === null) throw new SecurityConfigError(`listener ${listener.name} needs --tls-cert and --tls-key`);
  }

  const saslMechanisms = (given.get("--sasl-mechanisms") ?? SASL_MECHANISMS.join(",")).split(",").map((item) => item.trim().toUpperCase()).filter(Boolean);
  for (const mechanism of saslMechanisms) {
    if (!SASL_MECHANISMS.includes(mechanism as SaslMechanism)) throw new SecurityConfigError(`--sasl-mechanisms: unknown mechanism ${mechanism} (${SASL_MECHANISMS.join(", ")})`);
  }
  if (saslMechanisms.length === 0 && (listeners ?? []).some((listener) => usesSasl(listener.securityProtocol))) {
    throw new SecurityConfigError("--sasl-mechanisms: a SASL listener needs at least one mechanism");
  }

  const lifetimeText = given.get("--sasl-session-lifetime-ms") ?? "0";
  const saslSessionLifetimeMs = Number(lifetimeText);
  if (!Number.isInteger(saslSessionLifetimeMs) || saslSessionLifetimeMs < 0 || saslSessionLifetimeMs > SESSION_LIFETIME_MS_MAX) {
    throw new SecurityConfigError(`--sasl-session-lifetime-ms wants an integer from 0 to ${SESSION_LIFETIME_MS_MAX}, got ${JSON.stringify(lifetimeText)}`);
  }

  const saslUsersBootstrap: { user: string; password: string }[] = [];
  for (const entry of (given.get("--sasl-users-bootstrap") ?? "").split(",").filter((item) => item !== "")) {
    const colon = entry.indexOf(":");
    if (colon <= 0 || colon === entry.length - 1) throw new SecurityConfigError("--sasl-users-bootstrap wants USER:PASSWORD[,USER:PASSWORD...]");
    saslUsersBootstrap.push({ user: entry.slice(0, colon), password: entry.slice(colon + 1) });
  }

  return {
    listeners,
    tls,
    saslMechanisms: saslMechanisms as SaslMechanism[],
    saslSessionLifetimeMs,
    saslUsersBootstrap,
    httpTls,
    httpAuth: parseBoolean(given.get("--http-auth"), "--http-auth"),
    httpRoles: parseHttpRoles(given.get("--http-roles")),
  };
}

function parseHttpRoles(text: string | undefined): Map<string, HttpRole> | null {
  if (text === undefined || text === "") return null;
  const roles = new Map<string, HttpRole>();
  for (const entry of text.split(",").filter((item) => item !== "")) {
    const colon = entry.lastIndexOf(":");
    const role = entry.slice(colon + 1) as HttpRole;
    if (colon <= 0 || !HTTP_ROLES.includes(role)) throw new SecurityConfigError(`--http-roles wants USER:read|write|admin[,...], got ${JSON.stringify(entry)}`);
    roles.set(entry.slice(0, colon), role);
  }
  return roles;
}
