import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, parseConfig } from "../config.ts";
import { CredentialStore } from "./credential-store.ts";
import { createCredential } from "./scram.ts";

describe("security options", () => {
  test("--listeners and --advertised-listeners: one listener per protocol, advertised per name", () => {
    const config = parseConfig(
      ["--listeners", "PLAINTEXT://127.0.0.1:9092,SASL_SSL://0.0.0.0:9094", "--advertised-listeners", "SASL_SSL://edge.example:19094", "--tls-cert", "c.pem", "--tls-key", "k.pem"],
      {},
    )!;
    expect(config.security!.listeners).toEqual([
      { name: "PLAINTEXT", securityProtocol: "PLAINTEXT", host: "127.0.0.1", port: 9092, advertisedHost: "127.0.0.1", advertisedPort: 9092 },
      { name: "SASL_SSL", securityProtocol: "SASL_SSL", host: "0.0.0.0", port: 9094, advertisedHost: "edge.example", advertisedPort: 19094 },
    ]);
    // The first listener stands for --listen/--advertise.
    expect(config).toMatchObject({ listenHost: "127.0.0.1", listenPort: 9092, advertisedHost: "127.0.0.1", advertisedPort: 9092 });
    expect(config.security!.tls).toEqual({ certFile: "c.pem", keyFile: "k.pem", caFile: null, clientAuth: "none" });
  });

  test("--listen alone keeps the single PLAINTEXT listener; environment variables work", () => {
    expect(parseConfig(["--listen", "127.0.0.1:0"], {})!.security!.listeners).toBeNull();
    const config = parseConfig([], { KGATE_LISTENERS: "SASL_PLAINTEXT://127.0.0.1:9095", KGATE_SASL_SESSION_LIFETIME_MS: "60000", KGATE_SASL_MECHANISMS: "scram-sha-512" })!;
    expect(config.security).toMatchObject({ saslSessionLifetimeMs: 60000, saslMechanisms: ["SCRAM-SHA-512"] });
    expect(config.listenPort).toBe(9095);
  });

  test("a CA turns on mutual TLS (required) unless told otherwise", () => {
    const config = parseConfig(["--listeners", "SSL://127.0.0.1:0", "--tls-cert", "c", "--tls-key", "k", "--tls-ca", "ca"], {})!;
    expect(config.security!.tls!.clientAuth).toBe("required");
  });

  test("inconsistent options are refused with a message", () => {
    const refused = (argv: string[]) => expect(() => parseConfig(argv, {})).toThrow(ConfigError);
    refused(["--listeners", "SSL://127.0.0.1:9093"]); // no certificate
    refused(["--listeners", "BOGUS://127.0.0.1:9093"]);
    refused(["--listeners", "PLAINTEXT://127.0.0.1:1,PLAINTEXT://127.0.0.1:2"]);
    refused(["--listeners", "PLAINTEXT://127.0.0.1:1", "--advertised-listeners", "SSL://h:2"]);
    refused(["--listeners", "PLAINTEXT://127.0.0.1:1", "--listen", "127.0.0.1:2"]);
    refused(["--tls-cert", "c"]);
    refused(["--tls-client-auth", "required", "--tls-cert", "c", "--tls-key", "k"]);
    refused(["--http-tls", "true"]);
    refused(["--sasl-mechanisms", "GSSAPI"]);
    refused(["--sasl-session-lifetime-ms", "-1"]);
    refused(["--sasl-users-bootstrap", "nopassword"]);
  });
});

describe("credential store", () => {
  test("persists salted credentials only (mode 0600), reloads what another process wrote, refuses a damaged file", () => {
    const dir = mkdtempSync(join(tmpdir(), "kgate-users-"));
    try {
      const store = new CredentialStore(dir);
      store.apply({ upsert: [["alice", "SCRAM-SHA-256", createCredential("SCRAM-SHA-256", "hunter2")]] });
      const text = readFileSync(join(dir, "users.json"), "utf8");
      expect(text).not.toContain("hunter2");
      expect(JSON.parse(text).users.alice["SCRAM-SHA-256"]).toMatchObject({ iterations: 4096 });
      expect(statSync(join(dir, "users.json")).mode & 0o777).toBe(0o600);

      // Another process (kgate users) adds a user: the running store sees it at the next lookup.
      new CredentialStore(dir).apply({ upsert: [["bob", "SCRAM-SHA-512", createCredential("SCRAM-SHA-512", "pw")]] });
      expect(store.get("bob", "SCRAM-SHA-512")).toBeDefined();
      expect(store.list().map((entry) => entry.user)).toEqual(["alice", "bob"]);

      store.apply({ delete: [["alice", "SCRAM-SHA-256"]] });
      expect(new CredentialStore(dir).has("alice")).toBe(false);

      writeFileSync(join(dir, "users.json"), "{ not json");
      expect(() => new CredentialStore(dir)).toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
