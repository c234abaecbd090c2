// The client side of SCRAM (RFC 5802, RFC 7677) as Kafka uses it: client-first, client-final from the server-first
// message, then a check of the server's signature in server-final (the broker proves it holds the credential). No
// channel binding (`n,,`), as Kafka's ScramSaslClient. Used by the uplink's KafkaConnection and by raw-client tests.

import { createHmac, pbkdf2, randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { credentialFromSaltedPassword, saltedPassword, SCRAM_ITERATIONS_MIN, ScramError, type ScramMechanism } from "./scram.ts";

const pbkdf2Async = promisify(pbkdf2);

/** RFC 5802 §5.1 saslname: ',' and '=' are escaped as "=2C" and "=3D". */
export function encodeSaslName(name: string): string {
  return name.replace(/=/g, "=3D").replace(/,/g, "=2C");
}

interface ServerFirst {
  readonly text: string;
  readonly nonce: string;
  readonly salt: Uint8Array;
  readonly iterations: number;
}

export class ScramClient {
  private expectedServerSignature = "";

  constructor(
    readonly mechanism: ScramMechanism,
    private readonly user: string,
    private readonly password: string,
    /** Printable ASCII without ','; random unless a test replays a known exchange. */
    readonly clientNonce = randomBytes(18).toString("base64"),
  ) {}

  get clientFirstBare(): string {
    return `n=${encodeSaslName(this.user)},r=${this.clientNonce}`;
  }

  clientFirst(): Uint8Array {
    return Buffer.from(`n,,${this.clientFirstBare}`);
  }

  /** client-final with PBKDF2 on the calling thread (tests). Throws ScramError on a malformed or refusing server-first. */
  clientFinal(serverFirstBytes: Uint8Array): Uint8Array {
    const serverFirst = this.parseServerFirst(serverFirstBytes);
    return this.finalWith(serverFirst, saltedPassword(this.mechanism, this.password, serverFirst.salt, serverFirst.iterations));
  }

  /** client-final with PBKDF2 off the event loop (up to 16384 iterations of SHA-512 would stall it). */
  async clientFinalAsync(serverFirstBytes: Uint8Array): Promise<Uint8Array> {
    const serverFirst = this.parseServerFirst(serverFirstBytes);
    const hash = this.mechanism === "SCRAM-SHA-256" ? "sha256" : "sha512";
    // The same NFC normalisation as saltedPassword (scram.ts), so both paths derive the key the broker stores.
    const salted = await pbkdf2Async(Buffer.from(this.password.normalize("NFC"), "utf8"), serverFirst.salt, serverFirst.iterations, hash === "sha256" ? 32 : 64, hash);
    return this.finalWith(serverFirst, salted);
  }

  /** What server-final must be for this exchange (after clientFinal). */
  get serverFinal(): string {
    return this.expectedServerSignature;
  }

  /** Checks server-final: `v=` with the expected signature, or `e=` (an error the server reports). Throws ScramError. */
  verifyServerFinal(serverFinalBytes: Uint8Array): void {
    const text = Buffer.from(serverFinalBytes).toString("utf8");
    if (text.startsWith("e=")) throw new ScramError(`the broker refused the SCRAM exchange: ${text.slice(2, 200)}`);
    if (this.expectedServerSignature === "" || text !== this.expectedServerSignature) {
      throw new ScramError("the broker's SCRAM server signature is wrong: it does not hold this user's credential");
    }
  }

  private parseServerFirst(bytes: Uint8Array): ServerFirst {
    const text = Buffer.from(bytes).toString("utf8");
    const attributes = new Map<string, string>();
    for (const part of text.split(",")) {
      if (part.length < 2 || part[1] !== "=") throw new ScramError(`invalid SCRAM server-first message ${JSON.stringify(text.slice(0, 80))}`);
      attributes.set(part[0]!, part.slice(2));
    }
    if (attributes.has("e")) throw new ScramError(`the broker refused the SCRAM exchange: ${attributes.get("e")!.slice(0, 200)}`);
    if (attributes.has("m")) throw new ScramError("SCRAM mandatory extensions are not supported");
    const nonce = attributes.get("r") ?? "";
    const saltText = attributes.get("s") ?? "";
    const iterations = Number(attributes.get("i"));
    // RFC 5802 §5.1: the server's nonce starts with ours and adds its own part.
    if (!nonce.startsWith(this.clientNonce) || nonce.length === this.clientNonce.length) throw new ScramError("SCRAM server nonce does not extend the client nonce");
    if (saltText === "") throw new ScramError("SCRAM server-first message without salt");
    // Kafka's ScramSaslClient refuses fewer iterations than the mechanism's minimum (a downgrade by a fake server).
    if (!Number.isInteger(iterations) || iterations < SCRAM_ITERATIONS_MIN) throw new ScramError(`SCRAM iteration count ${attributes.get("i")} is below the minimum ${SCRAM_ITERATIONS_MIN}`);
    return { text, nonce, salt: Buffer.from(saltText, "base64"), iterations };
  }

  private finalWith(serverFirst: ServerFirst, salted: Uint8Array): Uint8Array {
    const hash = this.mechanism === "SCRAM-SHA-256" ? "sha256" : "sha512";
    const { storedKey, serverKey } = credentialFromSaltedPassword(this.mechanism, serverFirst.salt, serverFirst.iterations, salted);
    const clientKey = createHmac(hash, salted).update("Client Key").digest();
    const withoutProof = `c=biws,r=${serverFirst.nonce}`; // biws: base64 of the gs2 header "n,,"
    const authMessage = `${this.clientFirstBare},${serverFirst.text},${withoutProof}`;
    const clientSignature = createHmac(hash, storedKey).update(authMessage).digest();
    const proof = Buffer.from(clientKey.map((byte, i) => byte ^ clientSignature[i]!));
    this.expectedServerSignature = `v=${createHmac(hash, serverKey).update(authMessage).digest("base64")}`;
    return Buffer.from(`${withoutProof},p=${proof.toString("base64")}`);
  }
}
