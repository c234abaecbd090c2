import { beforeAll, describe, expect, test } from "bun:test";
import { setLogLevel } from "../util/logger.ts";
import { ErrorCode } from "../protocol/error-codes.ts";
import { CredentialStore } from "./credential-store.ts";
import type { ListenerConfig } from "./listeners.ts";
import { ConnectionSecurity, SASL_MECHANISMS, type SaslSettings } from "./sasl.ts";
import { createCredential } from "./scram.ts";
import { principalFromPeerCertificate } from "./tls.ts";

beforeAll(() => setLogLevel("error"));

const listener: ListenerConfig = { name: "SASL_PLAINTEXT", securityProtocol: "SASL_PLAINTEXT", host: "127.0.0.1", port: 0, advertisedHost: "127.0.0.1", advertisedPort: 0 };

function settings(): SaslSettings & { failures: number } {
  const credentials = new CredentialStore(null);
  credentials.apply({ upsert: [["alice", "SCRAM-SHA-256", createCredential("SCRAM-SHA-256", "pw")]] });
  const result = { credentials, mechanisms: SASL_MECHANISMS, sessionLifetimeMs: 0, failures: 0, onFailure: () => void result.failures++ };
  return result;
}

describe("ConnectionSecurity", () => {
  test("random and mutated tokens in every mechanism and state never throw: they fail authentication", async () => {
    const shared = settings();
    let seed = 12345;
    const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const seeds = [Buffer.from("n,,n=alice,r=abc"), Buffer.from("\0alice\0pw"), Buffer.from("c=biws,r=x,p=AAAA")];
    for (let i = 0; i < 3_000; i++) {
      const mechanism = SASL_MECHANISMS[i % SASL_MECHANISMS.length]!;
      const security = new ConnectionSecurity(listener, shared, "fuzz");
      expect(security.handshake(mechanism, i % 2).errorCode).toBe(ErrorCode.NONE);
      const steps = 1 + Math.floor(random() * 3);
      for (let step = 0; step < steps; step++) {
        const base = seeds[Math.floor(random() * seeds.length)]!;
        const token = random() < 0.5 ? Buffer.from(base) : Buffer.from(Array.from({ length: Math.floor(random() * 64) }, () => Math.floor(random() * 256)));
        for (let flip = 0; flip < 3; flip++) if (token.length > 0) token[Math.floor(random() * token.length)] = Math.floor(random() * 256);
        const answer = await security.authenticate(token, i % 3);
        if (answer.errorCode !== ErrorCode.NONE) {
          expect([ErrorCode.SASL_AUTHENTICATION_FAILED, ErrorCode.ILLEGAL_SASL_STATE] as number[]).toContain(answer.errorCode);
          break;
        }
      }
      expect(security.principal === "User:ANONYMOUS" || security.principal === "User:alice").toBe(true);
    }
    expect(shared.failures).toBeGreaterThan(0);
  });

  test("nothing but ApiVersions and SaslHandshake before authentication on a SASL listener; all on PLAINTEXT", () => {
    const shared = settings();
    const sasl = new ConnectionSecurity(listener, shared, "test");
    expect(sasl.admits(18)).toBe(true);
    expect(sasl.admits(17)).toBe(true);
    expect(sasl.admits(3)).toBe(false);
    const plaintext = new ConnectionSecurity({ ...listener, name: "PLAINTEXT", securityProtocol: "PLAINTEXT" }, shared, "test");
    expect(plaintext.admits(3)).toBe(true);
    expect(plaintext.handshake("PLAIN", 1).errorCode).toBe(ErrorCode.ILLEGAL_SASL_STATE);
  });
});

describe("principal from the client certificate", () => {
  test("RFC 2253 order (most specific first), escaped; anonymous when not verified", () => {
    const socket = (subject: Record<string, string | string[]>, authorized = true) => ({ authorized, getPeerCertificate: () => ({ subject }) });
    expect(principalFromPeerCertificate(socket({ C: "DE", O: "kgate", CN: "client1" }))).toBe("User:CN=client1,O=kgate,C=DE");
    expect(principalFromPeerCertificate(socket({ O: "a,b", OU: ["x", "y"], CN: " lead" }))).toBe("User:CN=\\ lead,OU=y,OU=x,O=a\\,b");
    expect(principalFromPeerCertificate(socket({ CN: "client1" }, false))).toBe("User:ANONYMOUS");
    expect(principalFromPeerCertificate({})).toBe("User:ANONYMOUS");
  });
});
