import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, helpText, parseConfig } from "../config.ts";
import { linkForwards, parseByteSize, remoteTopicName } from "./link-config.ts";

const base = ["--listen", "127.0.0.1:0", "--memory", "--edge-id", "box7"];
const parse = (uplinks: string[], env: Record<string, string> = {}, extra: string[] = []) =>
  parseConfig([...base, ...uplinks.flatMap((uplink) => ["--uplink", uplink]), ...extra], env)!.uplink!;

describe("--uplink", () => {
  test("a link with its topics on the command line alone, with defaults", () => {
    const { edgeId, links } = parse(["central bootstrap.servers=10.0.0.5:9092,[::1]:9093 topics=orders,telemetry"]);
    expect(edgeId).toBe("box7");
    const [link] = links;
    expect(link!.name).toBe("central");
    expect(link!.bootstrapServers).toEqual([{ host: "10.0.0.5", port: 9092 }, { host: "::1", port: 9093 }]);
    expect(link!).toMatchObject({ securityProtocol: "PLAINTEXT", tls: null, sasl: null, remoteTopic: "${topic}", partitioning: "same", delivery: "auto", fullPolicy: "reject", provenance: true, createRemoteTopics: false, bandwidthBytesPerSecond: 0 });
    expect(link!.unforwardedBytesMax).toBe(1024 * 1024 * 1024);
  });

  test("several links; regexes with excludes; templates; internal topics never", () => {
    const { links } = parse([
      "a bootstrap.servers=h:1 topics.regex=sensor\\..* topics.regex=metrics-.* topics.exclude=.*-debug remote.topic=site.${edge}.${topic}",
      "b bootstrap.servers=h:2 topics=x partitioning=key delivery=at-least-once full.policy=drop-oldest max.unforwarded.bytes=64MiB bandwidth.bytes.per.second=1MB",
    ]);
    const [a, b] = links;
    expect(linkForwards(a!, "sensor.temp", false)).toBe(true);
    expect(linkForwards(a!, "metrics-cpu", false)).toBe(true);
    expect(linkForwards(a!, "sensor.temp-debug", false)).toBe(false);
    expect(linkForwards(a!, "other", false)).toBe(false);
    expect(linkForwards(a!, "__consumer_offsets", true)).toBe(false);
    expect(linkForwards({ ...a!, topics: { names: ["_schemas"], patterns: [/.*/], excludes: [] } }, "_schemas", false)).toBe(false);
    expect(remoteTopicName(a!, "box7", "sensor.temp")).toBe("site.box7.sensor.temp");
    expect(b).toMatchObject({ partitioning: "key", delivery: "at-least-once", fullPolicy: "drop-oldest", unforwardedBytesMax: 64 * 1024 * 1024, bandwidthBytesPerSecond: 1_000_000 });
  });

  test("SASL secrets come from the environment or a file, never literally", () => {
    const folder = mkdtempSync(join(tmpdir(), "kgate-link-"));
    writeFileSync(join(folder, "password"), "s3cret\n");
    const sasl = "security.protocol=SASL_PLAINTEXT sasl.mechanism=SCRAM-SHA-512 sasl.username=edge";
    expect(parse([`c bootstrap.servers=h:1 topics=t ${sasl} sasl.password.env=UPLINK_PW`], { UPLINK_PW: "pw" }).links[0]!.sasl).toEqual({ mechanism: "SCRAM-SHA-512", username: "edge", password: "pw" });
    expect(parse([`c bootstrap.servers=h:1 topics=t ${sasl} sasl.password.file=${join(folder, "password")}`]).links[0]!.sasl!.password).toBe("s3cret");
    expect(() => parse([`c bootstrap.servers=h:1 topics=t ${sasl} sasl.password=pw`])).toThrow(/not taken literally/);
    expect(() => parse([`c bootstrap.servers=h:1 topics=t ${sasl} sasl.password.env=MISSING`])).toThrow(/MISSING is not set/);
    // The message names the variable, never a value.
    try {
      parse([`c bootstrap.servers=h:1 topics=t ${sasl} sasl.password.env=UPLINK_PW sasl.password.file=/nope`], { UPLINK_PW: "pw" });
    } catch (error) {
      expect((error as Error).message).not.toContain("pw ");
    }
  });

  test("mistakes are ConfigErrors that say what is wrong", () => {
    const cases: [string, RegExp][] = [
      ["c topics=t", /bootstrap.servers is required/],
      ["c bootstrap.servers=h topics=t", /HOST:PORT/],
      ["c bootstrap.servers=h:1", /names no topics/],
      ["c bootstrap.servers=h:1 topics=t delivery=twice", /delivery wants/],
      ["c bootstrap.servers=h:1 topics=t colour=red", /unknown key colour/],
      ["c bootstrap.servers=h:1 topics=t remote.topic=all", /must contain \$\{topic\}/],
      ["c bootstrap.servers=h:1 topics=t remote.topic=${host}.${topic}", /unknown variable/],
      ["c bootstrap.servers=h:1 topics=t topics.regex=(", /topics.regex/],
      ["c bootstrap.servers=h:1 topics=t ssl.ca.location=/x", /needs security.protocol SSL/],
      ["c bootstrap.servers=h:1 topics=t security.protocol=SSL ssl.ca.location=/does/not/exist", /cannot read/],
      ["c bootstrap.servers=h:1 topics=t max.unforwarded.bytes=lots", /max.unforwarded.bytes wants/],
      ["bootstrap.servers=h:1", /NAME key=value/],
    ];
    for (const [flag, message] of cases) {
      expect(() => parse([flag])).toThrow(ConfigError);
      expect(() => parse([flag])).toThrow(message);
    }
    expect(() => parse(["c bootstrap.servers=h:1 topics=t", "c bootstrap.servers=h:2 topics=u"])).toThrow(/defined twice/);
  });

  test("--uplink-file holds links with the same keys; the environment names one link", () => {
    const folder = mkdtempSync(join(tmpdir(), "kgate-link-"));
    const file = join(folder, "links.json");
    writeFileSync(file, JSON.stringify({ links: [{ name: "dc1", "bootstrap.servers": "h:1", topics: ["a", "b"], "topics.regex": ["c.*"], "create.remote.topics": true }] }));
    const { links } = parse(["x bootstrap.servers=h:2 topics=z"], {}, ["--uplink-file", file]);
    expect(links.map((link) => link.name)).toEqual(["x", "dc1"]);
    expect(links[1]!.topics.names).toEqual(["a", "b"]);
    expect(links[1]!.createRemoteTopics).toBe(true);
    expect(parseConfig([...base], { KGATE_UPLINK: "envlink bootstrap.servers=h:3 topics=q" })!.uplink!.links[0]!.name).toBe("envlink");
    writeFileSync(file, "{");
    expect(() => parse([], {}, ["--uplink-file", file])).toThrow(ConfigError);
  });

  test("no link: no uplink; --help lists the keys", () => {
    expect(parseConfig(["--memory"], {})!.uplink).toBeNull();
    expect(helpText()).toContain("bootstrap.servers=HOST:PORT");
    expect(helpText()).toContain("--uplink");
  });

  test("byte sizes", () => {
    expect(parseByteSize("1024")).toBe(1024);
    expect(parseByteSize("16MiB")).toBe(16 * 1024 * 1024);
    expect(parseByteSize("2GB")).toBe(2e9);
    expect(parseByteSize("-1")).toBeNull();
    expect(parseByteSize("1.5MiB")).toBeNull();
  });
});
