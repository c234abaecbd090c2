// `kgate --config FILE`: the properties syntax, Kafka's names mapped to kgate's flags, broker-wide topic defaults
// (checked over the wire with kafkajs's DescribeConfigs and on the log's retention), the precedence flags >
// environment > file > defaults, and errors that name the key. A PEM keystore serves TLS.

import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { makeCertificates } from "../test/helpers/certificates.ts";
import { parseProperties } from "./config-file.ts";
import { ConfigError, parseConfig } from "./config.ts";
import { startKgate } from "./kgate.ts";

const folder = mkdtempSync(join(tmpdir(), "kgate-config-file-"));
afterAll(() => rmSync(folder, { recursive: true, force: true }));
let written = 0;
function file(text: string): string {
  const path = join(folder, `server-${++written}.properties`);
  writeFileSync(path, text);
  return path;
}
function configError(argv: string[], env: Record<string, string> = {}): string {
  try {
    parseConfig(argv, env);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error("parsed");
}

describe("properties syntax (java.util.Properties)", () => {
  test("separators, comments, continuations, escapes", () => {
    const entries = parseProperties(
      [
        "# a comment",
        "! another",
        "  listeners = PLAINTEXT://127.0.0.1:9092",
        "num.partitions:3",
        "log.dirs /var/lib/kgate",
        "super.users=User:admin;\\",
        "    User:ops",
        "kgate.cluster.id=edge\\u0041\\tx",
        "empty=",
        "",
      ].join("\n"),
    );
    expect(entries.map(({ key, value }) => [key, value])).toEqual([
      ["listeners", "PLAINTEXT://127.0.0.1:9092"],
      ["num.partitions", "3"],
      ["log.dirs", "/var/lib/kgate"],
      ["super.users", "User:admin;User:ops"],
      ["kgate.cluster.id", "edgeA\tx"],
      ["empty", ""],
    ]);
    expect(() => parseProperties("a=1\na=2", "f")).toThrow("f:2: a is set twice");
  });
});

describe("kgate --config", () => {
  test("Kafka's broker names, kgate.* names, topic defaults and ignored keys", () => {
    const data = join(folder, "data");
    const path = file(
      [
        "listeners=PLAINTEXT://127.0.0.1:0",
        `log.dirs=${data}`,
        "node.id=3",
        "num.partitions=4",
        "auto.create.topics.enable=false",
        "log.retention.hours=48",
        "log.retention.bytes=1073741824",
        "log.segment.bytes=104857600",
        "message.max.bytes=2000000",
        "log.cleanup.policy=delete",
        "log.flush.interval.messages=1",
        "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "super.users=User:admin",
        "connections.max.idle.ms=120000",
        "num.network.threads=3",
        "offsets.topic.replication.factor=1",
        "kgate.registry.listen=off",
        "kgate.cluster.id=edge-7",
        "kgate.buffer.memory.max=33554432",
      ].join("\n"),
    );
    const config = parseConfig(["--config", path], {})!;
    expect(config).toMatchObject({ dataDir: data, nodeId: 3, defaultPartitions: 4, autoCreateTopics: false, clusterId: "edge-7", registryListen: null, flush: { mode: "always" } });
    expect(config.security?.listeners?.[0]).toMatchObject({ host: "127.0.0.1", port: 0 });
    expect(config.authorizer).toEqual({ superUsers: ["User:admin"], allowEveryoneIfNoAclFound: false });
    expect(config.limits).toMatchObject({ connectionIdleMs: 120_000, bufferMemoryMax: 33_554_432 });
    expect(Object.fromEntries(config.topicConfigDefaults!)).toEqual({
      "retention.ms": String(48 * 3_600_000),
      "retention.bytes": "1073741824",
      "segment.bytes": "104857600",
      "max.message.bytes": "2000000",
      "cleanup.policy": "delete",
    });
    expect(config.ignoredConfigKeys!.map((ignored) => ignored.key)).toEqual(["num.network.threads", "offsets.topic.replication.factor"]);
  });

  test("precedence: flags over the environment over the file over the defaults", () => {
    const path = file("num.partitions=3\nnode.id=9\nkgate.cluster.id=from-file\n");
    const env = { KGATE_DEFAULT_PARTITIONS: "5", KGATE_NODE_ID: "8" };
    const config = parseConfig(["--config", path, "--memory", "--default-partitions", "6"], env)!;
    expect(config.defaultPartitions).toBe(6);
    expect(config.nodeId).toBe(8);
    expect(config.clusterId).toBe("from-file");
    expect(parseConfig(["--memory"], {})!.defaultPartitions).toBe(1);
    // KGATE_CONFIG names the file too.
    expect(parseConfig(["--memory"], { KGATE_CONFIG: path })!.clusterId).toBe("from-file");
    // log.retention.ms wins over .hours whatever the order, as in Kafka.
    const retention = parseConfig(["--config", file("log.retention.hours=1\nlog.retention.ms=5000\n"), "--memory"], {})!;
    expect(retention.topicConfigDefaults!.get("retention.ms")).toBe("5000");
  });

  test("errors name the key, the file and line, and suggest the nearest key", () => {
    expect(configError(["--config", file("num.partitons=3\n")])).toMatch(/server-\d+\.properties:1: num\.partitons: unknown key; did you mean num\.partitions\?/);
    expect(configError(["--config", file("kgate.registy.listen=off\n")])).toContain("did you mean kgate.registry.listen?");
    expect(configError(["--config", file("num.partitions=zero\n"), "--memory"])).toMatch(/num\.partitions \(in .*server-\d+\.properties\) wants an integer/);
    expect(configError(["--config", file("log.dirs=/a,/b\n")])).toContain("log.dirs: kgate keeps its log in one folder, got 2");
    expect(configError(["--config", file("authorizer.class.name=com.example.Custom\n"), "--memory"])).toContain("kgate has Kafka's ACL authorizer only");
    expect(configError(["--config", file("broker.id=1\nnode.id=2\n"), "--memory"])).toContain("node.id and broker.id set the same thing");
    expect(configError(["--config", join(folder, "missing.properties")])).toContain("missing.properties");
  });

  test("a bad broker-wide topic default stops the start, naming the file's key", async () => {
    const path = file("log.retention.hours=soon\n");
    const refused = await startKgate({ config: path }).then(
      () => null,
      (error: Error) => error.message,
    );
    expect(refused).toMatch(/server-\d+\.properties:1: log\.retention\.hours = "soon": invalid value/);
  });

  test("a topic without its own retention takes the file's log.retention.hours; DescribeConfigs says STATIC_BROKER_CONFIG", async () => {
    const path = file("log.retention.hours=48\nnum.partitions=2\nmessage.max.bytes=2000000\n");
    await using kgate = await startKgate({ config: path });
    expect(kgate.broker.config.defaultPartitions).toBe(2);
    const admin = new Kafka({ brokers: [kgate.bootstrap], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic: "defaulted" }, { topic: "own", configEntries: [{ name: "retention.ms", value: "1000" }] }] });
      const described = await admin.describeConfigs({
        includeSynonyms: true,
        resources: ["defaulted", "own"].map((name) => ({ type: 2, name, configNames: ["retention.ms", "max.message.bytes", "segment.ms"] })),
      });
      const entry = (topic: string, name: string) => described.resources.find((r) => r.resourceName === topic)!.configEntries.find((c) => c.configName === name)!;
      expect(entry("defaulted", "retention.ms")).toMatchObject({ configValue: String(48 * 3_600_000), configSource: 4, isDefault: false });
      expect(entry("defaulted", "retention.ms").configSynonyms.map((s) => [s.configName, s.configSource])).toEqual([
        ["log.retention.ms", 4],
        ["retention.ms", 5],
      ]);
      expect(entry("defaulted", "max.message.bytes")).toMatchObject({ configValue: "2000000", configSource: 4 });
      expect(entry("defaulted", "segment.ms")).toMatchObject({ configSource: 5, isDefault: true });
      expect(entry("own", "retention.ms")).toMatchObject({ configValue: "1000", configSource: 1 });
    } finally {
      await admin.disconnect();
    }
    // The log reads the broker-wide default through the topic's effective configs.
    expect(kgate.broker.topics.get("defaulted")!.effectiveConfigs.get("retention.ms")).toBe(String(48 * 3_600_000));
    expect(kgate.broker.topics.get("defaulted")!.configs.has("retention.ms")).toBe(false);
  });

  test("a PEM keystore (key and certificate chain in one file) serves the SSL listener", async () => {
    using certificates = makeCertificates();
    const keystore = join(certificates.dir, "keystore.pem");
    writeFileSync(keystore, readFileSync(certificates.serverKeyFile, "utf8") + readFileSync(certificates.serverCertFile, "utf8"));
    const path = file(`listeners=SSL://127.0.0.1:0\nssl.keystore.location=${keystore}\n`);
    // Error level: the probe closes right after the handshake, which the listener reports as a warning.
    await using kgate = await startKgate({ config: path, logLevel: "error" });
    const answered = await new Promise<boolean>((resolve, reject) => {
      void Bun.connect({
        hostname: "127.0.0.1",
        port: kgate.port,
        tls: { ca: readFileSync(certificates.caFile, "utf8"), serverName: "localhost" },
        socket: {
          handshake: (socket, success) => {
            socket.end();
            resolve(success);
          },
          data() {},
          error: (_socket, error) => reject(error),
        },
      });
    });
    expect(answered).toBe(true);
  });
});
