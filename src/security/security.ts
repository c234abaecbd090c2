// Wires the security pieces for one server: the credential store (data folder or memory), bootstrap users, the
// Kafka listeners with their TLS options, and the SASL settings every connection shares.

import type { HttpRole } from "./security-config.ts";
import type { Config } from "../config.ts";
import type { GatewayMetrics } from "../metrics/metrics.ts";
import { log } from "../util/logger.ts";
import { CredentialStore } from "./credential-store.ts";
import { usesSasl, usesTls, type ListenerConfig } from "./listeners.ts";
import { SASL_MECHANISMS, type SaslSettings } from "./sasl.ts";
import { createCredential, SCRAM_MECHANISMS } from "./scram.ts";
import { loadTlsOptions, type BunTlsOptions } from "./tls.ts";

/** The single PLAINTEXT listener of --listen/--advertise (also what a dispatcher without a connection uses). */
export function plaintextListener(config: Config): ListenerConfig {
  return {
    name: "PLAINTEXT",
    securityProtocol: "PLAINTEXT",
    host: config.listenHost,
    port: config.listenPort,
    advertisedHost: config.advertisedHost,
    advertisedPort: config.advertisedPort,
  };
}

/** Memory-only users, every mechanism, no session lifetime: for dispatchers built without a server (tests, fuzz). */
export function defaultSaslSettings(): SaslSettings {
  return { credentials: new CredentialStore(null), mechanisms: SASL_MECHANISMS, sessionLifetimeMs: 0, onFailure: () => {} };
}

/**
 * SASL_SSL authenticates with SASL, so it does not ask for client certificates: Kafka ignores ssl.client.auth on
 * SASL_SSL listeners unless set for that listener (KIP-684).
 */
function listenerTls(listener: ListenerConfig, tls: BunTlsOptions | null): BunTlsOptions | null {
  if (tls === null || listener.securityProtocol !== "SASL_SSL") return tls;
  return { ...tls, requestCert: false, rejectUnauthorized: false };
}

export interface ServerSecurity {
  readonly sasl: SaslSettings;
  /** Each listener and, for SSL/SASL_SSL, its TLS options. */
  readonly listeners: { config: ListenerConfig; tls: BunTlsOptions | null }[];
  /** TLS options for the HTTP listener, or null for plain HTTP. */
  readonly httpTls: BunTlsOptions | null;
  readonly httpAuth: boolean;
  readonly httpRoles: ReadonlyMap<string, HttpRole> | null;
}

/** Opens the credential store, adds bootstrap users and reads the TLS files (throws when one is unreadable). */
export function setUpSecurity(config: Config, metrics: GatewayMetrics): ServerSecurity {
  const security = config.security;
  const credentials = new CredentialStore(config.dataDir);
  for (const { user, password } of security?.saslUsersBootstrap ?? []) {
    if (credentials.has(user)) continue;
    credentials.apply({ upsert: SCRAM_MECHANISMS.map((mechanism) => [user, mechanism, createCredential(mechanism, password)]) });
    log.info("SASL user created from --sasl-users-bootstrap", { user });
  }
  const sasl: SaslSettings = {
    credentials,
    mechanisms: security?.saslMechanisms ?? SASL_MECHANISMS,
    sessionLifetimeMs: security?.saslSessionLifetimeMs ?? 0,
    onFailure: (listener, mechanism) => metrics.authenticationFailures.inc({ listener, mechanism }),
  };
  const tls = security?.tls ? loadTlsOptions(security.tls) : null;
  const listenerConfigs = security?.listeners ?? [plaintextListener(config)];
  const saslListeners = listenerConfigs.filter((listener) => usesSasl(listener.securityProtocol)).map((listener) => listener.name);
  if ((saslListeners.length > 0 || security?.httpAuth) && credentials.list().length === 0) {
    log.warn("no SASL users yet: every authentication fails until one is added (kgate users add)", { listeners: saslListeners.join(",") || "HTTP" });
  }
  if (security?.httpAuth && !security.httpTls) log.warn("HTTP Basic without --http-tls: passwords cross the network in the clear");
  return {
    sasl,
    listeners: listenerConfigs.map((listener) => ({ config: listener, tls: usesTls(listener.securityProtocol) ? listenerTls(listener, tls) : null })),
    httpTls: security?.httpTls ? tls : null,
    httpAuth: security?.httpAuth ?? false,
    httpRoles: security?.httpRoles ?? null,
  };
}
