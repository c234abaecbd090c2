import { describe, expect, test } from "bun:test";
import { ConfigError, parseConfig, serverLimitDefaults, serverLimits } from "./config.ts";

describe("parseConfig", () => {
  test("defaults: listen on 0.0.0.0:9092, advertise 127.0.0.1, data in ./data", () => {
    const config = parseConfig([], {})!;
    expect(config).toMatchObject({ listenHost: "0.0.0.0", listenPort: 9092, advertisedHost: "127.0.0.1", advertisedPort: 9092, dataDir: "./data", nodeId: 1, autoCreateTopics: true, defaultPartitions: 1 });
  });

  test("flags win over environment variables, which win over defaults", () => {
    const env = { KGATE_LISTEN: "127.0.0.1:19092", KGATE_NODE_ID: "7", KGATE_ADVERTISE: "edge.local:9093" };
    expect(parseConfig([], env)).toMatchObject({ listenPort: 19092, nodeId: 7, advertisedHost: "edge.local", advertisedPort: 9093 });
    expect(parseConfig(["--node-id", "3", "--listen=[::1]:9000"], env)).toMatchObject({ listenHost: "::1", listenPort: 9000, nodeId: 3 });
  });

  test("--memory drops the data folder; --help returns null", () => {
    expect(parseConfig(["--memory"], {})!.dataDir).toBeNull();
    expect(parseConfig(["--help"], {})).toBeNull();
  });

  test("bad values are reported, not guessed", () => {
    expect(() => parseConfig(["--listen", "nohost"], {})).toThrow(ConfigError);
    expect(() => parseConfig(["--node-id", "-1"], {})).toThrow(ConfigError);
    expect(() => parseConfig(["--memory", "--data", "x"], {})).toThrow(ConfigError);
    expect(() => parseConfig(["--bogus"], {})).toThrow(ConfigError);
    expect(() => parseConfig(["--auto-create-topics", "maybe"], {})).toThrow(ConfigError);
  });
});

test("--registry-listen: the Kafka listen host on 8081 by default, port 0 with a port-0 Kafka listener, off, or an address", () => {
  expect(parseConfig([], {})!.registryListen).toEqual({ host: "0.0.0.0", port: 8081 });
  expect(parseConfig(["--listen", "127.0.0.1:0"], {})!.registryListen).toEqual({ host: "127.0.0.1", port: 0 });
  expect(parseConfig(["--listen", "127.0.0.1:9092"], {})!.registryListen).toEqual({ host: "127.0.0.1", port: 8081 });
  expect(parseConfig(["--listen", "[::1]:9092"], {})!.registryListen).toEqual({ host: "::1", port: 8081 });
  expect(parseConfig(["--listen", "127.0.0.1:9092", "--registry-listen", "127.0.0.2:18081"], {})!.registryListen).toEqual({ host: "127.0.0.2", port: 18081 });
  expect(parseConfig(["--registry-listen", "off"], {})!.registryListen).toBeNull();
  expect(parseConfig([], { KGATE_REGISTRY_LISTEN: "127.0.0.1:18081" })!.registryListen).toEqual({ host: "127.0.0.1", port: 18081 });
  expect(() => parseConfig(["--registry-listen", "8081"], {})).toThrow(ConfigError);
});

test("--authorizer: off by default; acl with --super-users and --allow-everyone-if-no-acl-found, from flags or env", () => {
  expect(parseConfig([], {})!.authorizer).toBeNull();
  expect(parseConfig(["--authorizer", "acl"], {})!.authorizer).toEqual({ superUsers: [], allowEveryoneIfNoAclFound: false });
  expect(parseConfig(["--authorizer", "acl", "--super-users", "User:admin; User:bob", "--allow-everyone-if-no-acl-found", "true"], {})!.authorizer).toEqual({
    superUsers: ["User:admin", "User:bob"],
    allowEveryoneIfNoAclFound: true,
  });
  expect(parseConfig([], { KGATE_AUTHORIZER: "acl", KGATE_SUPER_USERS: "User:ops" })!.authorizer).toEqual({ superUsers: ["User:ops"], allowEveryoneIfNoAclFound: false });
  expect(() => parseConfig(["--authorizer", "simple"], {})).toThrow(ConfigError);
  expect(() => parseConfig(["--super-users", "User:admin"], {})).toThrow(ConfigError);
  expect(() => parseConfig(["--authorizer", "acl", "--super-users", "admin"], {})).toThrow(ConfigError);
});

test("limit flags and environment variables override the named defaults per server; --log-format", () => {
  expect(serverLimits(parseConfig([], {})!)).toEqual(serverLimitDefaults);
  const config = parseConfig(["--connections-max", "50", "--connections-per-ip-max=5", "--connection-idle-ms", "30000", "--frame-bytes-max", "1048576", "--in-flight-requests-max", "10", "--pending-write-bytes-max", "1048576", "--stalled-writer-ms", "5000", "--log-format", "json"], { KGATE_BUFFER_MEMORY_MAX: "33554432" })!;
  expect(serverLimits(config)).toEqual({
    connectionsMax: 50,
    connectionsPerIpMax: 5,
    connectionIdleMs: 30_000,
    frameBytesMax: 1_048_576,
    inFlightRequestsPerConnectionMax: 10,
    pendingWriteBytesMax: 1_048_576,
    bufferMemoryMax: 33_554_432,
    stalledWriterMs: 5_000,
  });
  expect(config.logFormat).toBe("json");
  expect(parseConfig([], {})!.logFormat).toBe("text");
  expect(() => parseConfig(["--connections-max", "0"], {})).toThrow(ConfigError);
  expect(() => parseConfig(["--log-format", "xml"], {})).toThrow(ConfigError);
});
