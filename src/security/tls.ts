// TLS for the Kafka listeners (SSL, SASL_SSL) and the HTTP listener: certificate, key and, for mutual TLS, the CA
// client certificates must chain to. Kafka's ssl.client.auth: `required` refuses a client without a valid
// certificate during the handshake, `requested` asks for one and accepts its absence, `none` does not ask.

import { readFileSync } from "node:fs";
import { ANONYMOUS_PRINCIPAL } from "./sasl.ts";

export type ClientAuth = "none" | "requested" | "required";

export interface TlsConfig {
  certFile: string;
  keyFile: string;
  /** CA bundle client certificates are checked against; null: no mutual TLS. */
  caFile: string | null;
  clientAuth: ClientAuth;
}

export interface BunTlsOptions {
  cert: string;
  key: string;
  ca?: string;
  requestCert: boolean;
  rejectUnauthorized: boolean;
}

/** Reads the PEM files once at start (throws with the path when one is missing or unreadable). */
export function loadTlsOptions(config: TlsConfig): BunTlsOptions {
  const read = (path: string, what: string) => {
    try {
      return readFileSync(path, "utf8");
    } catch (error) {
      throw new Error(`cannot read TLS ${what} ${path}: ${(error as Error).message}`);
    }
  };
  const options: BunTlsOptions = {
    cert: read(config.certFile, "certificate"),
    key: read(config.keyFile, "key"),
    requestCert: config.clientAuth !== "none",
    rejectUnauthorized: config.clientAuth === "required",
  };
  if (config.caFile !== null) options.ca = read(config.caFile, "CA");
  return options;
}

interface PeerCertificateSocket {
  authorized?: boolean;
  getPeerCertificate?(): { subject?: Record<string, string | string[]> } | null | undefined;
}

/**
 * Kafka's DefaultKafkaPrincipalBuilder for SSL: `User:` and the certificate subject's distinguished name in RFC 2253
 * order (most specific first, e.g. `User:CN=client,O=kgate`); User:ANONYMOUS without a verified certificate.
 */
export function principalFromPeerCertificate(socket: PeerCertificateSocket): string {
  if (!socket.authorized || typeof socket.getPeerCertificate !== "function") return ANONYMOUS_PRINCIPAL;
  const subject = socket.getPeerCertificate()?.subject;
  if (!subject || Object.keys(subject).length === 0) return ANONYMOUS_PRINCIPAL;
  const parts: string[] = [];
  for (const [key, value] of Object.entries(subject)) {
    for (const item of Array.isArray(value) ? value : [value]) parts.push(`${key}=${escapeDnValue(item)}`);
  }
  return `User:${parts.reverse().join(",")}`;
}

/** RFC 2253 §2.4 escaping of an attribute value. */
function escapeDnValue(value: string): string {
  return value.replace(/[,+"\\<>;]/g, "\\$&").replace(/^[ #]/, "\\$&").replace(/ $/, "\\ ");
}
