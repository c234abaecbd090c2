// The end of a TLS handshake on a Kafka listener: the client certificate's subject becomes the principal (SSL
// listeners; SASL_SSL takes the SASL user), and a refused handshake is logged and counted as a security event.

import type { Socket } from "bun";
import type { GatewayMetrics } from "../metrics/metrics.ts";
import { log } from "../util/logger.ts";
import type { ConnectionSecurity } from "./sasl.ts";
import { principalFromPeerCertificate } from "./tls.ts";

export function onTlsHandshake(
  socket: Socket<{ connection: { readonly security?: ConnectionSecurity; close(): void } | null }>,
  success: boolean,
  authorizationError: Error | null,
  metrics: GatewayMetrics,
): void {
  const connection = socket.data.connection;
  const security = connection?.security;
  if (!connection || !security) return;
  if (!success) {
    metrics.authenticationFailures.inc({ listener: security.listenerName, mechanism: "TLS" });
    log.warn("TLS handshake refused", { ...security.logContext(), error: authorizationError ?? "handshake failed" });
    connection.close();
    return;
  }
  if (security.securityProtocol === "SSL") security.principal = principalFromPeerCertificate(socket as never);
  log.info("TLS connection established", { ...security.logContext(), clientCertificate: security.principal !== "User:ANONYMOUS" });
}
