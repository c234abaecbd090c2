// The client side of SCRAM (RFC 5802) for raw-client tests: client-first, then client-final from server-first, and
// the server signature to expect.

import { createHash, createHmac, pbkdf2Sync, randomBytes } from "node:crypto";

export class ScramClient {
  readonly clientNonce = randomBytes(18).toString("base64");
  private expectedServerSignature = "";

  constructor(
    private readonly mechanism: "SCRAM-SHA-256" | "SCRAM-SHA-512",
    private readonly user: string,
    private readonly password: string,
  ) {}

  private get hash(): "sha256" | "sha512" {
    return this.mechanism === "SCRAM-SHA-256" ? "sha256" : "sha512";
  }

  get clientFirstBare(): string {
    return `n=${this.user.replace(/=/g, "=3D").replace(/,/g, "=2C")},r=${this.clientNonce}`;
  }

  clientFirst(): Uint8Array {
    return Buffer.from(`n,,${this.clientFirstBare}`);
  }

  clientFinal(serverFirstBytes: Uint8Array): Uint8Array {
    const serverFirst = Buffer.from(serverFirstBytes).toString();
    const attributes = new Map(serverFirst.split(",").map((part) => [part[0]!, part.slice(2)] as [string, string]));
    const nonce = attributes.get("r")!;
    const salt = Buffer.from(attributes.get("s")!, "base64");
    const iterations = Number(attributes.get("i"));
    const salted = pbkdf2Sync(this.password, salt, iterations, this.hash === "sha256" ? 32 : 64, this.hash);
    const clientKey = createHmac(this.hash, salted).update("Client Key").digest();
    const storedKey = createHash(this.hash).update(clientKey).digest();
    const withoutProof = `c=biws,r=${nonce}`;
    const authMessage = `${this.clientFirstBare},${serverFirst},${withoutProof}`;
    const signature = createHmac(this.hash, storedKey).update(authMessage).digest();
    const proof = Buffer.from(clientKey.map((byte, i) => byte ^ signature[i]!));
    const serverKey = createHmac(this.hash, salted).update("Server Key").digest();
    this.expectedServerSignature = `v=${createHmac(this.hash, serverKey).update(authMessage).digest("base64")}`;
    return Buffer.from(`${withoutProof},p=${proof.toString("base64")}`);
  }

  /** What server-final must be for this exchange. */
  get serverFinal(): string {
    return this.expectedServerSignature;
  }
}
