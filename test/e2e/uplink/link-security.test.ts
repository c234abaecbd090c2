// The uplink to a secured central cluster: a second kgate process with SASL_SSL (behind the FaultProxy),
// SASL_PLAINTEXT and PLAINTEXT listeners and one SCRAM user, and a third with an SSL listener requiring client
// certificates (mutual TLS); certificates made by openssl for the run (test/helpers/certificates.ts). kafkajs reads
// the central topics on the PLAINTEXT listeners.
// - SASL_SSL with SCRAM-SHA-512 (password from sasl.password.env, CA from ssl.ca.location) forwards exactly once;
// - SASL_PLAINTEXT with PLAIN forwards;
// - SSL with a client certificate forwards; without one the link is refused with a clear error;
// - a wrong password leaves the link backing off with an authentication error (kind auth), the password appearing
//   neither in the status, the edge's logs, /uplinks, nor the central cluster's output;
// - a broker certificate from an unknown CA gives a clear TLS error.
// The edge's own produce and consume go on in every failing case. Refused credentials are retried at the backoff's
// cap (limits.uplinkBackoffMaxMs, 10 s): this file lowers the cap (in this process only) to see a retry within seconds.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { limits } from "../../../src/config.ts";
import { setLogLevel, setLogSink } from "../../../src/util/logger.ts";
import { makeCertificates, type TestCertificates } from "../../helpers/certificates.ts";
import { waitFor } from "../../helpers/server.ts";
import { backingOff, Central, createTopic, exactlyOnceInOrder, localRoundTrip, ProduceLoop, readCentral, startEdge, waitForwarded, type Edge } from "./rig.ts";

const PASSWORD = "Uplink-S3cret-pa55word";
const WRONG_PASSWORD = "Wr0ng-uplink-pa55word";
let certificates: TestCertificates;
/** SASL_SSL (proxied), SASL_PLAINTEXT, PLAINTEXT; user alice. */
let saslCentral: Central;
/** SSL with required client certificates (proxied), PLAINTEXT. */
let mtlsCentral: Central;
const logLines: string[] = [];
const BACKOFF_CAP_MS = 2_000;
const mutableLimits = limits as unknown as { uplinkBackoffMaxMs: number };
const backoffCapBefore = limits.uplinkBackoffMaxMs;

beforeAll(async () => {
  mutableLimits.uplinkBackoffMaxMs = BACKOFF_CAP_MS;
  certificates = makeCertificates();
  const tls = ["--tls-cert", certificates.serverCertFile, "--tls-key", certificates.serverKeyFile];
  [saslCentral, mtlsCentral] = await Promise.all([
    Central.start([...tls, "--sasl-users-bootstrap", `alice:${PASSWORD}`], { listeners: ["SASL_SSL", "SASL_PLAINTEXT", "PLAINTEXT"] }),
    Central.start([...tls, "--tls-ca", certificates.caFile], { listeners: ["SSL", "PLAINTEXT"] }),
  ]);
  setLogSink((line) => logLines.push(line));
});
afterAll(async () => {
  mutableLimits.uplinkBackoffMaxMs = backoffCapBefore;
  setLogSink((line) => process.stderr.write(line + "\n"));
  await Promise.all([saslCentral?.[Symbol.asyncDispose](), mtlsCentral?.[Symbol.asyncDispose]()]);
  certificates?.[Symbol.dispose]();
});

const link = (edge: Edge) => edge.links()[0]!;

/** An edge with one link; every log line of the edge goes to logLines from here on. */
async function edgeWith(uplink: string, extraArgs: string[] = []): Promise<Edge> {
  const edge = await startEdge([uplink], { env: { ALICE_PASSWORD: PASSWORD, WRONG_PASSWORD }, extraArgs });
  setLogLevel("debug");
  return edge;
}


test("SASL_SSL with SCRAM-SHA-512 forwards every acknowledged record exactly once, in order", async () => {
  const topic = "secure-scram";
  await using edge = await edgeWith(
    `central bootstrap.servers=${saslCentral.bootstrap} topics=${topic} create.remote.topics=true request.timeout.ms=3000 ` +
      `security.protocol=SASL_SSL sasl.mechanism=SCRAM-SHA-512 sasl.username=alice sasl.password.env=ALICE_PASSWORD ssl.ca.location=${certificates.caFile}`,
  );
  await createTopic(edge.bootstrap, topic, 2);
  const producer = new ProduceLoop(edge.bootstrap, topic, { partitions: 2, batchSize: 20, pauseMs: 10, maxSends: 40 });
  await waitFor(() => link(edge).forwardedRecords > 0, { timeoutMs: 20_000 });
  // A reset in the middle of a request on the TLS connection: the session starts over, nothing is lost or doubled.
  saslCentral.proxy.resetNextRequest();
  await waitFor(() => producer.acknowledged.length === 800, { timeoutMs: 20_000 });
  await producer.stop();
  await waitForwarded(edge.links, 30_000);
  expect(link(edge).delivery).toBe("exactly-once");
  const records = await readCentral(saslCentral.listenerBootstrap("PLAINTEXT"), topic, producer.acknowledged.length);
  expect(producer.acknowledged.length).toBe(800);
  expect(exactlyOnceInOrder(producer.acknowledged, records)).toEqual({ missing: [], duplicated: [], outOfOrder: [] });
  // The central cluster saw alice authenticate with SCRAM-SHA-512.
  expect(saslCentral.gateway.output()).toMatch(/SCRAM-SHA-512/);
  expect(logLines.join("\n")).not.toContain(PASSWORD);
}, 90_000);

test("SASL_PLAINTEXT with PLAIN forwards", async () => {
  const topic = "secure-plain";
  await using edge = await edgeWith(
    `central bootstrap.servers=${saslCentral.listenerBootstrap("SASL_PLAINTEXT")} topics=${topic} create.remote.topics=true request.timeout.ms=3000 ` +
      `security.protocol=SASL_PLAINTEXT sasl.mechanism=PLAIN sasl.username=alice sasl.password.env=ALICE_PASSWORD`,
  );
  await createTopic(edge.bootstrap, topic, 1);
  const producer = new ProduceLoop(edge.bootstrap, topic, { partitions: 1, batchSize: 10, pauseMs: 5, maxSends: 20 });
  await waitFor(() => producer.acknowledged.length === 200, { timeoutMs: 20_000 });
  await producer.stop();
  await waitForwarded(edge.links, 30_000);
  const records = await readCentral(saslCentral.listenerBootstrap("PLAINTEXT"), topic, producer.acknowledged.length);
  expect(exactlyOnceInOrder(producer.acknowledged, records)).toEqual({ missing: [], duplicated: [], outOfOrder: [] });
  expect(records.length).toBe(200);
  expect(logLines.join("\n")).not.toContain(PASSWORD);
}, 60_000);

test("SSL with a client certificate (mutual TLS) forwards; without one, or with a stranger's, the link says why it is refused", async () => {
  const topic = "secure-mtls";
  const tlsKeys = `security.protocol=SSL ssl.ca.location=${certificates.caFile}`;
  for (const [clientCertificate, expected] of [
    ["", /CERTIFICATE_REQUIRED.*set ssl.certificate.location and ssl.key.location/],
    [`ssl.certificate.location=${certificates.strangerCertFile} ssl.key.location=${certificates.strangerKeyFile}`, /refuses ours; is ssl.certificate.location signed by a CA it trusts/],
  ] as const) {
    await using edge = await edgeWith(`central bootstrap.servers=${mtlsCentral.bootstrap} topics=${topic} create.remote.topics=true request.timeout.ms=3000 ${tlsKeys} ${clientCertificate}`);
    await createTopic(edge.bootstrap, topic, 1);
    const error = await backingOff(edge);
    console.log(`mutual TLS refused: ${error}`);
    expect(error).toMatch(expected);
    expect(link(edge).lastErrorKind).toBe("connect");
    expect(await localRoundTrip(edge.bootstrap, topic, "local")).toBe(10);
    expect(link(edge).forwardedRecords).toBe(0);
  }
  await using edge = await edgeWith(
    `central bootstrap.servers=${mtlsCentral.bootstrap} topics=${topic} create.remote.topics=true request.timeout.ms=3000 ${tlsKeys} ` +
      `ssl.certificate.location=${certificates.clientCertFile} ssl.key.location=${certificates.clientKeyFile}`,
  );
  await createTopic(edge.bootstrap, topic, 1);
  const producer = new ProduceLoop(edge.bootstrap, topic, { partitions: 1, batchSize: 10, pauseMs: 5, maxSends: 20 });
  await waitFor(() => producer.acknowledged.length === 200, { timeoutMs: 20_000 });
  await producer.stop();
  await waitForwarded(edge.links, 30_000);
  const records = await readCentral(mtlsCentral.listenerBootstrap("PLAINTEXT"), topic, producer.acknowledged.length);
  expect(exactlyOnceInOrder(producer.acknowledged, records)).toEqual({ missing: [], duplicated: [], outOfOrder: [] });
  expect(records.length).toBe(200);
  expect(mtlsCentral.gateway.output()).toContain("CN=client1,O=kgate");
}, 90_000);

test("refused credentials: an auth error in the status, retried, and the password in no status, log or /uplinks", async () => {
  const topic = "secure-refused";
  const before = logLines.length;
  for (const [mechanism, bootstrap, protocol] of [
    ["SCRAM-SHA-512", saslCentral.bootstrap, `security.protocol=SASL_SSL ssl.ca.location=${certificates.caFile}`],
    ["PLAIN", saslCentral.listenerBootstrap("SASL_PLAINTEXT"), "security.protocol=SASL_PLAINTEXT"],
  ] as const) {
    await using edge = await edgeWith(
      `central bootstrap.servers=${bootstrap} topics=${topic} create.remote.topics=true request.timeout.ms=3000 ${protocol} ` +
        `sasl.mechanism=${mechanism} sasl.username=alice sasl.password.env=WRONG_PASSWORD`,
      ["--registry-listen", "127.0.0.1:0"],
    );
    await createTopic(edge.bootstrap, topic, 1);
    const error = await backingOff(edge);
    expect(error).toContain(`SASL ${mechanism} authentication of alice`);
    expect(error).toContain("failed");
    expect(link(edge).lastErrorKind).toBe("auth");
    if (bootstrap === saslCentral.bootstrap) {
      // Retried (at the backoff's cap): the proxied listener sees another connection.
      const connections = saslCentral.proxy.stats.connectionsAccepted;
      await waitFor(() => saslCentral.proxy.stats.connectionsAccepted > connections, { timeoutMs: BACKOFF_CAP_MS + 5_000 });
      expect(link(edge).state).toBe("backing-off");
    }
    expect(await localRoundTrip(edge.bootstrap, topic, `local-${mechanism}`)).toBe(10);
    const uplinks = await (await fetch(`http://127.0.0.1:${edge.registry!.server.port}/uplinks`)).text();
    expect(uplinks).toContain("authentication of alice");
    for (const text of [JSON.stringify(edge.uplink!.status()), uplinks]) {
      expect(text).not.toContain(WRONG_PASSWORD);
      expect(text).not.toContain(PASSWORD);
    }
  }
  const edgeLogs = logLines.slice(before).join("\n");
  expect(edgeLogs).toContain("authentication of alice");
  expect(edgeLogs).not.toContain(WRONG_PASSWORD);
  expect(saslCentral.gateway.output()).not.toContain(WRONG_PASSWORD);
  expect(saslCentral.gateway.output()).not.toContain(PASSWORD);
}, 90_000);

test("a broker certificate from an unknown CA gives a clear TLS error", async () => {
  const topic = "secure-unknown-ca";
  await using edge = await edgeWith(
    `central bootstrap.servers=${saslCentral.bootstrap} topics=${topic} create.remote.topics=true request.timeout.ms=3000 ` +
      `security.protocol=SASL_SSL sasl.mechanism=SCRAM-SHA-512 sasl.username=alice sasl.password.env=ALICE_PASSWORD ssl.ca.location=${join(certificates.dir, "other-ca.pem")}`,
  );
  await createTopic(edge.bootstrap, topic, 1);
  const error = await backingOff(edge);
  console.log(`unknown CA: ${error}`);
  expect(error).toContain("TLS handshake");
  expect(error).toMatch(/certificate/i);
  expect(error).toContain("is ssl.ca.location the CA that signed the central broker's certificate?");
  expect(link(edge).lastErrorKind).toBe("connect");
  expect(await localRoundTrip(edge.bootstrap, topic, "local")).toBe(10);
  expect(link(edge).forwardedRecords).toBe(0);
}, 60_000);
