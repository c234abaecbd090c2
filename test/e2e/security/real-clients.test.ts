// Real clients over TLS, mutual TLS and SASL against four listeners at once (PLAINTEXT, SSL with required client
// certificates, SASL_PLAINTEXT, SASL_SSL), with certificates made by openssl for this run: kcat/librdkafka,
// kafkajs, python3-confluent-kafka and kafka-python produce and consume; wrong passwords, unknown users and
// missing or foreign client certificates are refused; Metadata on each listener advertises that listener.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Kafka, logLevel } from "kafkajs";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseConfig } from "../../../src/config.ts";
import { setLogLevel, setLogSink } from "../../../src/util/logger.ts";
import { makeCertificates, type TestCertificates } from "../../helpers/certificates.ts";
import { startTestServer, waitFor, type TestServer } from "../../helpers/server.ts";

const KCAT = Bun.which("kcat");
const PYTHON = "/usr/bin/python3";
const PASSWORD = "alice-secret";

let certificates: TestCertificates;
let server: TestServer;
const ports: Record<string, number> = {};
const logLines: string[] = [];

beforeAll(async () => {
  certificates = makeCertificates();
  const { security } = parseConfig([
    "--listeners", "PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0",
    // SASL_SSL is advertised by name (the certificate covers localhost), PLAINTEXT by address: each listener's own.
    "--advertised-listeners", "SASL_SSL://localhost:0",
    "--tls-cert", certificates.serverCertFile, "--tls-key", certificates.serverKeyFile, "--tls-ca", certificates.caFile,
    "--sasl-users-bootstrap", `alice:${PASSWORD}`,
  ], {})!;
  server = await startTestServer({ security });
  for (const listener of server.listeners) ports[listener.name] = listener.port;
  // Security events are logged at info and warn: capture them to check address and principal.
  setLogLevel("info");
  setLogSink((line) => logLines.push(line));
});
afterAll(async () => {
  setLogSink((line) => process.stderr.write(line + "\n"));
  await server?.[Symbol.asyncDispose]();
  certificates?.[Symbol.dispose]();
});

async function run(command: string[], input?: string): Promise<{ code: number; out: string; err: string }> {
  const child = Bun.spawn(command, { stdin: input === undefined ? "ignore" : new TextEncoder().encode(input), stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => child.kill(9), 30_000);
  const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(timer);
  return { code, out, err };
}

function kcatSecurity(listener: string, mechanism: string | null, user = "alice", password = PASSWORD, clientCert: "client" | "stranger" | null = null): string[] {
  const args = ["-b", `127.0.0.1:${ports[listener]}`, "-X", `security.protocol=${listener.toLowerCase()}`];
  if (listener.endsWith("SSL")) args.push("-X", `ssl.ca.location=${certificates.caFile}`);
  if (mechanism) args.push("-X", `sasl.mechanisms=${mechanism}`, "-X", `sasl.username=${user}`, "-X", `sasl.password=${password}`);
  if (clientCert === "client") args.push("-X", `ssl.certificate.location=${certificates.clientCertFile}`, "-X", `ssl.key.location=${certificates.clientKeyFile}`);
  if (clientCert === "stranger") args.push("-X", `ssl.certificate.location=${certificates.strangerCertFile}`, "-X", `ssl.key.location=${certificates.strangerKeyFile}`);
  return args;
}

async function kcatRoundTrip(topic: string, security: string[]): Promise<string[]> {
  const lines = ["one", "two", "three"].map((word) => `${topic} ${word}`);
  const produced = await run([KCAT!, ...security, "-P", "-t", topic, "-p", "0"], lines.join("\n") + "\n");
  expect(produced.err).not.toContain("ERROR");
  expect(produced.code).toBe(0);
  const consumed = await run([KCAT!, ...security, "-C", "-t", topic, "-p", "0", "-o", "beginning", "-e", "-q"]);
  expect(consumed.code).toBe(0);
  return consumed.out.trim().split("\n");
}

if (!KCAT) console.log("SKIPPED: kcat over TLS and SASL: kcat is not installed (npm run setup installs it)");
describe.skipIf(!KCAT)("kcat (librdkafka 2.0)", () => {
  for (const mechanism of ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]) {
    test(`SASL_PLAINTEXT ${mechanism}: produce and consume`, async () => {
      const topic = `kcat-sasl-${mechanism.toLowerCase()}`;
      expect(await kcatRoundTrip(topic, kcatSecurity("SASL_PLAINTEXT", mechanism))).toEqual([`${topic} one`, `${topic} two`, `${topic} three`]);
    });
  }

  test("SASL_SSL SCRAM-SHA-512: produce and consume over TLS", async () => {
    const topic = "kcat-sasl-ssl";
    expect(await kcatRoundTrip(topic, kcatSecurity("SASL_SSL", "SCRAM-SHA-512"))).toEqual([`${topic} one`, `${topic} two`, `${topic} three`]);
  });

  test("SSL with a client certificate: produce and consume; the principal is the certificate's subject", async () => {
    const topic = "kcat-mtls";
    expect(await kcatRoundTrip(topic, kcatSecurity("SSL", null, "", "", "client"))).toEqual([`${topic} one`, `${topic} two`, `${topic} three`]);
    expect(logLines.some((line) => line.includes("TLS connection established") && line.includes('principal="User:CN=client1,O=kgate"'))).toBe(true);
  });

  test("SSL without a client certificate, or with one from another CA, is refused", async () => {
    for (const clientCert of [null, "stranger"] as const) {
      const result = await run([KCAT!, ...kcatSecurity("SSL", null, "", "", clientCert), "-L", "-m", "2"]);
      expect(result.code, String(clientCert)).not.toBe(0);
      expect(result.err, String(clientCert)).toMatch(/SSL|ssl|handshake|transport/i);
    }
    await waitFor(() => logLines.some((line) => line.includes("TLS handshake refused")));
  }, 30_000);

  test("wrong passwords and unknown users are refused with SASL authentication failed", async () => {
    for (const [mechanism, user, password] of [["PLAIN", "alice", "wrong"], ["SCRAM-SHA-256", "alice", "wrong"], ["SCRAM-SHA-512", "mallory", PASSWORD]]) {
      const result = await run([KCAT!, ...kcatSecurity("SASL_PLAINTEXT", mechanism!, user, password), "-L", "-m", "2"]);
      expect(result.code).not.toBe(0);
      expect(result.err).toContain("Authentication failed");
    }
    expect(logLines.some((line) => line.includes("SASL authentication failed") && line.includes("client=127.0.0.1:"))).toBe(true);
  }, 30_000);

  test("each listener advertises its own address: PLAINTEXT 127.0.0.1, SASL_SSL localhost", async () => {
    const plaintext = await run([KCAT!, ...kcatSecurity("PLAINTEXT", null), "-L", "-m", "5"]);
    expect(plaintext.out).toContain(`broker 1 at 127.0.0.1:${ports.PLAINTEXT}`);
    const saslSsl = await run([KCAT!, ...kcatSecurity("SASL_SSL", "PLAIN"), "-L", "-m", "5"]);
    expect(saslSsl.out).toContain(`broker 1 at localhost:${ports.SASL_SSL}`);
  });
});

describe("kafkajs 2.2.4", () => {
  const ca = () => [readFileSync(certificates.caFile, "utf8")];
  const roundTrip = async (kafka: Kafka, topic: string) => {
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: [{ value: "a" }, { value: "b" }] });
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: `group-${topic}` });
    const seen: string[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) });
    try {
      await waitFor(() => seen.length >= 2, { timeoutMs: 20_000 });
    } finally {
      await consumer.disconnect();
    }
    return seen;
  };

  // The four run at once: each waits out the group's initial rebalance delay.
  test("ssl with a client certificate (mutual TLS), and SASL_SSL plain, scram-sha-256, scram-sha-512: produce and consume in a group", async () => {
    const mtls = new Kafka({
      clientId: "kafkajs-mtls",
      brokers: [`localhost:${ports.SSL}`],
      ssl: { ca: ca(), cert: readFileSync(certificates.clientCertFile, "utf8"), key: readFileSync(certificates.clientKeyFile, "utf8") },
      logLevel: logLevel.NOTHING,
    });
    const sasl = (["plain", "scram-sha-256", "scram-sha-512"] as const).map((mechanism) => ({
      mechanism,
      kafka: new Kafka({
        clientId: `kafkajs-${mechanism}`,
        brokers: [`localhost:${ports.SASL_SSL}`],
        ssl: { ca: ca() },
        sasl: { mechanism, username: "alice", password: PASSWORD } as never,
        logLevel: logLevel.NOTHING,
      }),
    }));
    const results = await Promise.all([roundTrip(mtls, "kafkajs-mtls"), ...sasl.map(({ kafka, mechanism }) => roundTrip(kafka, `kafkajs-${mechanism}`))]);
    expect(results).toEqual([["a", "b"], ["a", "b"], ["a", "b"], ["a", "b"]]);
  }, 60_000);

  test("a wrong password is refused (KafkaJSSASLAuthenticationError)", async () => {
    const kafka = new Kafka({
      clientId: "kafkajs-wrong",
      brokers: [`127.0.0.1:${ports.SASL_PLAINTEXT}`],
      sasl: { mechanism: "scram-sha-256", username: "alice", password: "wrong" },
      retry: { retries: 0 },
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    const error = await admin.connect().then(() => null, (caught: Error) => caught);
    expect(error?.name).toBe("KafkaJSSASLAuthenticationError");
    expect(error?.message).toContain("Authentication failed");
  });
});

describe("python3 clients", () => {
  const script = join(import.meta.dir, "sasl_client.py");
  const python = (client: string, listener: string, mechanism: string, password: string, topic: string) =>
    run([PYTHON, script, client, `127.0.0.1:${ports[listener]}`, listener, mechanism, "alice", password, listener.endsWith("SSL") ? certificates.caFile : "-", topic, "3"]);

  for (const [listener, mechanism] of [["SASL_SSL", "SCRAM-SHA-256"], ["SASL_PLAINTEXT", "SCRAM-SHA-512"], ["SASL_PLAINTEXT", "PLAIN"]] as const) {
    test(`confluent_kafka ${listener} ${mechanism}: produce and consume`, async () => {
      const topic = `confluent-${listener}-${mechanism}`.toLowerCase();
      const result = await python("confluent", listener, mechanism, PASSWORD, topic);
      expect(result.code, result.out + result.err).toBe(0);
      expect(result.out.trim().split("\n").map((line) => JSON.parse(line).value)).toEqual(["value 0", "value 1", "value 2"]);
    }, 40_000);
  }

  test("confluent_kafka with a wrong password is refused", async () => {
    const result = await python("confluent", "SASL_PLAINTEXT", "SCRAM-SHA-256", "wrong", "confluent-refused");
    expect(result.code).toBe(1);
    expect(result.out).toContain("Authentication failed");
  }, 40_000);

  test("kafka-python SASL PLAIN (SaslHandshake v0, then raw tokens): produce and consume", async () => {
    const result = await python("kafka-python", "SASL_PLAINTEXT", "PLAIN", PASSWORD, "kafka-python-plain");
    expect(result.code, result.out + result.err).toBe(0);
    expect(result.out.trim().split("\n").map((line) => JSON.parse(line).value)).toEqual(["value 0", "value 1", "value 2"]);
  }, 40_000);

  test("kafka-python with a wrong PLAIN password is refused", async () => {
    const result = await python("kafka-python", "SASL_PLAINTEXT", "PLAIN", "wrong", "kafka-python-refused");
    expect(result.code).toBe(1);
    expect(result.out).toMatch(/Authentication|NoBrokersAvailable|KafkaError/);
  }, 40_000);
});
