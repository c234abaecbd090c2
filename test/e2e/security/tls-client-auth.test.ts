// --tls-client-auth requested (Kafka's ssl.client.auth=requested): the SSL listener asks for a certificate but lets
// clients without one in as User:ANONYMOUS; a verified certificate still gives its subject as the principal.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { parseConfig } from "../../../src/config.ts";
import { setLogLevel, setLogSink } from "../../../src/util/logger.ts";
import { makeCertificates, type TestCertificates } from "../../helpers/certificates.ts";
import { startTestServer, type TestServer } from "../../helpers/server.ts";

const KCAT = Bun.which("kcat");
let certificates: TestCertificates;
let server: TestServer;
const logLines: string[] = [];

beforeAll(async () => {
  certificates = makeCertificates();
  const { security } = parseConfig([
    "--listeners", "SSL://127.0.0.1:0",
    "--tls-cert", certificates.serverCertFile, "--tls-key", certificates.serverKeyFile, "--tls-ca", certificates.caFile,
    "--tls-client-auth", "requested",
  ], {})!;
  server = await startTestServer({ security });
  setLogLevel("info");
  setLogSink((line) => logLines.push(line));
});
afterAll(async () => {
  setLogSink((line) => process.stderr.write(line + "\n"));
  await server?.[Symbol.asyncDispose]();
  certificates?.[Symbol.dispose]();
});

async function kcatMetadata(extra: string[]): Promise<{ code: number; out: string }> {
  const child = Bun.spawn([KCAT!, "-b", `localhost:${server.port}`, "-X", "security.protocol=ssl", "-X", `ssl.ca.location=${certificates.caFile}`, ...extra, "-L", "-m", "5"], { stdout: "pipe", stderr: "pipe" });
  const [out, code] = await Promise.all([new Response(child.stdout).text(), child.exited]);
  return { code, out };
}

if (!KCAT) console.log("SKIPPED: kcat with requested client certificates: kcat is not installed (npm run setup installs it)");
describe.skipIf(!KCAT)("SSL listener with requested client certificates", () => {
  test("a client without a certificate is served as User:ANONYMOUS", async () => {
    const result = await kcatMetadata([]);
    expect(result.code).toBe(0);
    expect(result.out).toContain(`broker 1 at 127.0.0.1:${server.port}`);
    expect(logLines.some((line) => line.includes("TLS connection established") && line.includes("principal=User:ANONYMOUS"))).toBe(true);
  });

  test("a client with a certificate from the CA gets its subject as principal", async () => {
    const result = await kcatMetadata(["-X", `ssl.certificate.location=${certificates.clientCertFile}`, "-X", `ssl.key.location=${certificates.clientKeyFile}`]);
    expect(result.code).toBe(0);
    expect(logLines.some((line) => line.includes('principal="User:CN=client1,O=kgate"'))).toBe(true);
  });
});
