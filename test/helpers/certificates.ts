// Test certificates made with openssl: a CA, a server certificate for 127.0.0.1/localhost and a client certificate
// (CN=client1, O=kgate), in a fresh temporary folder removed on dispose.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestCertificates extends Disposable {
  readonly dir: string;
  readonly caFile: string;
  readonly serverCertFile: string;
  readonly serverKeyFile: string;
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
  /** A client certificate signed by another CA (refused by mutual TLS). */
  readonly strangerCertFile: string;
  readonly strangerKeyFile: string;
}

function openssl(dir: string, args: string[]): void {
  const result = Bun.spawnSync(["openssl", ...args], { cwd: dir, stdout: "pipe", stderr: "pipe" });
  if (result.exitCode !== 0) throw new Error(`openssl ${args.join(" ")}: ${result.stderr.toString()}`);
}

export function makeCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), "kgate-certs-"));
  const days = ["-days", "2"];
  const selfSignedCa = (name: string, cn: string) =>
    openssl(dir, ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.pem`, ...days, "-subj", `/CN=${cn}`]);
  const signed = (name: string, subject: string, ca: string, extensions: string | null) => {
    openssl(dir, ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject]);
    const extra = extensions ? ["-extfile", extensions] : [];
    openssl(dir, ["x509", "-req", "-in", `${name}.csr`, "-CA", `${ca}.pem`, "-CAkey", `${ca}.key`, "-CAcreateserial", "-out", `${name}.pem`, ...days, ...extra]);
  };
  selfSignedCa("ca", "kgate-test-ca");
  selfSignedCa("other-ca", "another-ca");
  writeFileSync(join(dir, "server.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  signed("server", "/CN=localhost", "ca", "server.ext");
  signed("client", "/O=kgate/CN=client1", "ca", null);
  signed("stranger", "/CN=stranger", "other-ca", null);
  const file = (name: string) => join(dir, name);
  return {
    dir,
    caFile: file("ca.pem"),
    serverCertFile: file("server.pem"),
    serverKeyFile: file("server.key"),
    clientCertFile: file("client.pem"),
    clientKeyFile: file("client.key"),
    strangerCertFile: file("stranger.pem"),
    strangerKeyFile: file("stranger.key"),
    [Symbol.dispose]() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
