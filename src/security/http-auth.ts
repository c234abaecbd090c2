// HTTP Basic on the HTTP listener (schema registry, /metrics) with the SASL users: the password is checked against
// the user's salted SCRAM credential. /health and /ready stay open for probes. Verified credentials are remembered
// (by a hash of the header, until the users change) so each request does not pay PBKDF2 again.
// With --http-roles each user has a registry permission: read (GET, subject lookups, compatibility checks), write
// (also registering schemas) or admin (also deletes, /config and /mode changes); a request beyond it gets 403 with
// Confluent's error 40301.

import { createHash, timingSafeEqual } from "node:crypto";
import type { GatewayMetrics } from "../metrics/metrics.ts";
import type { OperationsRoute } from "../registry/http.ts";
import { log } from "../util/logger.ts";
import type { CredentialStore } from "./credential-store.ts";
import { credentialFromSaltedPassword, saltedPassword, SCRAM_MECHANISMS } from "./scram.ts";
import type { HttpRole } from "./security-config.ts";

const ROLE_RANK: Record<HttpRole, number> = { read: 0, write: 1, admin: 2 };

/**
 * The permission a request needs. POSTs to /subjects/{s} (lookup) and /compatibility/... only read; the web console's
 * changes (/ui/api/... other than GET) need write.
 */
export function requiredRole(method: string, path: string): HttpRole {
  if (method === "GET" || method === "HEAD") return "read";
  if (path.startsWith("/ui/")) return "write";
  if (method === "DELETE") return "admin";
  if (method === "PUT") return "admin"; // /config, /mode
  if (method === "POST") {
    if (path.startsWith("/compatibility/")) return "read";
    if (/^\/subjects\/[^/]+\/versions\/?$/.test(path)) return "write";
    if (/^\/subjects\/[^/]+\/?$/.test(path)) return "read";
  }
  return "admin";
}

/** Verified Authorization headers remembered at once; beyond it the oldest are forgotten. */
const VERIFIED_HEADERS_MAX = 1_000;
const OPEN_PATHS = new Set(["/health", "/ready"]);

/**
 * Wraps the operations route so that every request except /health and /ready needs valid HTTP Basic credentials:
 * a 401 with a WWW-Authenticate challenge otherwise. Passes on to `route` (and the registry after it) when valid.
 */
export function requireHttpBasic(
  route: OperationsRoute,
  credentials: CredentialStore,
  metrics: GatewayMetrics,
  roles: ReadonlyMap<string, HttpRole> | null = null,
): OperationsRoute {
  const verified = new Map<string, string>();
  let verifiedGeneration = credentials.generation;
  return (request, clientAddress) => {
    if (OPEN_PATHS.has(new URL(request.url).pathname)) return route(request, clientAddress);
    const header = request.headers.get("authorization") ?? "";
    const key = createHash("sha256").update(header).digest("base64");
    credentials.has(""); // reloads the store when `kgate users` changed it
    if (verifiedGeneration !== credentials.generation) {
      verified.clear();
      verifiedGeneration = credentials.generation;
    }
    let user = verified.get(key) ?? null;
    if (user === null) {
      user = checkBasic(header, credentials);
      if (user === null) {
        metrics.authenticationFailures.inc({ listener: "HTTP", mechanism: "BASIC" });
        log.warn("HTTP authentication failed", { client: clientAddress ?? "?", path: new URL(request.url).pathname, user: basicUser(header), principal: "User:ANONYMOUS" });
        return new Response(JSON.stringify({ error_code: 40101, message: "Unauthorized" }), {
          status: 401,
          headers: { "content-type": "application/json", "www-authenticate": 'Basic realm="kgate", charset="UTF-8"' },
        });
      }
      if (verified.size >= VERIFIED_HEADERS_MAX) verified.delete(verified.keys().next().value!);
      verified.set(key, user);
      log.info("HTTP authentication succeeded", { client: clientAddress ?? "?", path: new URL(request.url).pathname, principal: `User:${user}` });
    }
    const role: HttpRole = roles === null ? "admin" : (roles.get(user) ?? "read");
    if (roles !== null) {
      const path = new URL(request.url).pathname;
      const needed = requiredRole(request.method, path);
      if (ROLE_RANK[role] < ROLE_RANK[needed]) {
        log.info("HTTP request denied", { client: clientAddress ?? "?", method: request.method, path, principal: `User:${user}`, role, needed });
        return new Response(JSON.stringify({ error_code: 40301, message: `User ${user} is not allowed to ${needed}` }), {
          status: 403,
          headers: { "content-type": "application/vnd.schemaregistry.v1+json" },
        });
      }
    }
    return route(request, clientAddress, { user, role });
  };
}

/** The user name a Basic header claims (for the log), or null. */
function basicUser(header: string): string | null {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!match) return null;
  const decoded = Buffer.from(match[1]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  return colon > 0 ? decoded.slice(0, colon) : null;
}

/** The user name when `header` is `Basic base64(user:password)` with a right password, else null. */
function checkBasic(header: string, credentials: CredentialStore): string | null {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!match) return null;
  const decoded = Buffer.from(match[1]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon <= 0) return null;
  const user = decoded.slice(0, colon);
  const password = decoded.slice(colon + 1);
  for (const mechanism of SCRAM_MECHANISMS) {
    const credential = credentials.get(user, mechanism);
    if (!credential) continue;
    // Synchronous: the route answers synchronously; the cache above keeps this to once per credential.
    const salted = saltedPassword(mechanism, password, credential.salt, credential.iterations);
    const storedKey = credentialFromSaltedPassword(mechanism, credential.salt, credential.iterations, salted).storedKey;
    return storedKey.length === credential.storedKey.length && timingSafeEqual(storedKey, credential.storedKey) ? user : null;
  }
  return null;
}
