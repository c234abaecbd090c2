// SCRAM (RFC 5802, RFC 7677) as Kafka uses it: SCRAM-SHA-256 and SCRAM-SHA-512, no channel binding. The broker keeps
// only salt, iterations, StoredKey and ServerKey; the password is never stored. ScramServerExchange runs the server
// side of one authentication: client-first → server-first, client-final → server-final (or a failure).

import { createHash, createHmac, pbkdf2, pbkdf2Sync, randomBytes, timingSafeEqual } from "node:crypto";
import { promisify } from "node:util";

export type ScramMechanism = "SCRAM-SHA-256" | "SCRAM-SHA-512";
export const SCRAM_MECHANISMS: readonly ScramMechanism[] = ["SCRAM-SHA-256", "SCRAM-SHA-512"];

/** Kafka's ScramMechanism enum codes (DescribeUserScramCredentials / AlterUserScramCredentials). */
export const scramMechanismCodes: Record<ScramMechanism, number> = { "SCRAM-SHA-256": 1, "SCRAM-SHA-512": 2 };

export function scramMechanismFromCode(code: number): ScramMechanism | null {
  return code === 1 ? "SCRAM-SHA-256" : code === 2 ? "SCRAM-SHA-512" : null;
}

/** Kafka's bounds on iterations (ScramMechanism.minIterations/maxIterations): RFC 7677 asks for at least 4096. */
export const SCRAM_ITERATIONS_MIN = 4096;
export const SCRAM_ITERATIONS_MAX = 16384;

const pbkdf2Async = promisify(pbkdf2);

export interface ScramCredential {
  readonly salt: Uint8Array;
  readonly iterations: number;
  readonly storedKey: Uint8Array;
  readonly serverKey: Uint8Array;
}

function hashName(mechanism: ScramMechanism): "sha256" | "sha512" {
  return mechanism === "SCRAM-SHA-256" ? "sha256" : "sha512";
}

function keyBytes(mechanism: ScramMechanism): number {
  return mechanism === "SCRAM-SHA-256" ? 32 : 64;
}

function hmac(mechanism: ScramMechanism, key: Uint8Array, text: string | Uint8Array): Uint8Array {
  return createHmac(hashName(mechanism), key).update(text).digest();
}

function hash(mechanism: ScramMechanism, bytes: Uint8Array): Uint8Array {
  return createHash(hashName(mechanism)).update(bytes).digest();
}

/** StoredKey and ServerKey from SaltedPassword (what AlterUserScramCredentials carries). */
export function credentialFromSaltedPassword(mechanism: ScramMechanism, salt: Uint8Array, iterations: number, saltedPassword: Uint8Array): ScramCredential {
  const clientKey = hmac(mechanism, saltedPassword, "Client Key");
  return { salt, iterations, storedKey: hash(mechanism, clientKey), serverKey: hmac(mechanism, saltedPassword, "Server Key") };
}

export function saltedPassword(mechanism: ScramMechanism, password: string, salt: Uint8Array, iterations: number): Uint8Array {
  return pbkdf2Sync(normalizePassword(password), salt, iterations, keyBytes(mechanism), hashName(mechanism));
}

/** A new credential with a random salt (the CLI and the bootstrap users). */
export function createCredential(mechanism: ScramMechanism, password: string, iterations = SCRAM_ITERATIONS_MIN): ScramCredential {
  const salt = randomBytes(32);
  return credentialFromSaltedPassword(mechanism, salt, iterations, saltedPassword(mechanism, password, salt, iterations));
}

/** Whether `password` is the one the credential was made from (PBKDF2 off the event loop, then a constant-time compare). */
export async function verifyPassword(mechanism: ScramMechanism, credential: ScramCredential, password: string): Promise<boolean> {
  const salted = await pbkdf2Async(normalizePassword(password), credential.salt, credential.iterations, keyBytes(mechanism), hashName(mechanism));
  return constantTimeEqual(credentialFromSaltedPassword(mechanism, credential.salt, credential.iterations, salted).storedKey, credential.storedKey);
}

function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** SASLprep is not applied (as Kafka's ScramFormatter): NFC normalisation keeps equal-looking passwords equal. */
function normalizePassword(password: string): Buffer {
  return Buffer.from(password.normalize("NFC"), "utf8");
}

/** RFC 5802 §5.1 saslname: "=2C" for ',' and "=3D" for '='; any other '=' is invalid. */
export function decodeSaslName(text: string): string | null {
  if (/=(?!2C|3D)/.test(text)) return null;
  return text.replace(/=2C/g, ",").replace(/=3D/g, "=");
}

export class ScramError extends Error {
  override name = "ScramError";
}

function parseAttributes(text: string): Map<string, string> {
  const attributes = new Map<string, string>();
  for (const part of text.split(",")) {
    if (part.length < 2 || part[1] !== "=") throw new ScramError(`invalid SCRAM attribute ${JSON.stringify(part.slice(0, 20))}`);
    attributes.set(part[0]!, part.slice(2));
  }
  return attributes;
}

export interface ScramClientFirst {
  readonly gs2Header: string;
  readonly userName: string;
  readonly clientNonce: string;
  readonly bare: string;
}

/** `n,,n=user,r=nonce` (optionally `n,a=authzid,...` and extensions; channel binding `p=` is refused). */
export function parseClientFirst(text: string): ScramClientFirst {
  const match = /^([ny]),(a=[^,]*)?,(.*)$/s.exec(text);
  if (!match) throw new ScramError("invalid SCRAM client-first message (no channel binding header)");
  const gs2Header = `${match[1]},${match[2] ?? ""},`;
  const bare = match[3]!;
  const attributes = parseAttributes(bare);
  const userName = decodeSaslName(attributes.get("n") ?? "");
  const clientNonce = attributes.get("r") ?? "";
  if (!userName) throw new ScramError("invalid SCRAM user name");
  if (!/^[\x21-\x2b\x2d-\x7e]+$/.test(clientNonce)) throw new ScramError("invalid SCRAM client nonce");
  if (attributes.has("m")) throw new ScramError("SCRAM mandatory extensions are not supported");
  if (match[2]) {
    const authorizationId = decodeSaslName(match[2].slice(2));
    if (authorizationId !== userName) throw new ScramError("SCRAM authorization id differs from the user name");
  }
  return { gs2Header, userName, clientNonce, bare };
}

/** Server side of one SCRAM exchange; the user's credential was looked up from the client-first message. */
export class ScramServerExchange {
  private readonly serverFirst: string;
  private readonly nonce: string;

  constructor(
    readonly mechanism: ScramMechanism,
    private readonly clientFirst: ScramClientFirst,
    private readonly credential: ScramCredential,
    /** The server's part of the nonce; random unless a test replays RFC 7677's exchange. */
    serverNonce = randomBytes(24).toString("base64url"),
  ) {
    this.nonce = clientFirst.clientNonce + serverNonce;
    this.serverFirst = `r=${this.nonce},s=${Buffer.from(credential.salt).toString("base64")},i=${credential.iterations}`;
  }

  get userName(): string {
    return this.clientFirst.userName;
  }

  serverFirstMessage(): string {
    return this.serverFirst;
  }

  /** Checks the client's proof; returns the server-final message (`v=...`). Throws ScramError when the proof is wrong. */
  finish(clientFinal: string): string {
    const proofAt = clientFinal.lastIndexOf(",p=");
    if (proofAt < 0) throw new ScramError("SCRAM client-final message without proof");
    const withoutProof = clientFinal.slice(0, proofAt);
    const attributes = parseAttributes(withoutProof);
    const channelBinding = Buffer.from(this.clientFirst.gs2Header).toString("base64");
    if (attributes.get("c") !== channelBinding) throw new ScramError("SCRAM channel binding differs from the client-first header");
    // librdkafka (≤ 2.x) sends the client nonce again in front of the server's, so Kafka checks only endsWith; the
    // exact nonce or that one librdkafka form are accepted here.
    const nonce = attributes.get("r");
    if (nonce !== this.nonce && nonce !== this.clientFirst.clientNonce + this.nonce) throw new ScramError("SCRAM nonce differs from the server's");
    // Base64 and nothing after it, as Kafka's pattern demands: Buffer.from stops at the padding, so a proof with
    // trailing bytes would otherwise pass.
    const proofText = clientFinal.slice(proofAt + 3);
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(proofText)) throw new ScramError("invalid SCRAM client proof");
    const proof = Buffer.from(proofText, "base64");
    const authMessage = `${this.clientFirst.bare},${this.serverFirst},${withoutProof}`;
    const clientSignature = hmac(this.mechanism, this.credential.storedKey, authMessage);
    if (proof.length !== clientSignature.length) throw new ScramError("invalid SCRAM client proof");
    const clientKey = new Uint8Array(proof.length);
    for (let i = 0; i < proof.length; i++) clientKey[i] = proof[i]! ^ clientSignature[i]!;
    if (!constantTimeEqual(hash(this.mechanism, clientKey), this.credential.storedKey)) throw new ScramError("invalid SCRAM client proof");
    return `v=${Buffer.from(hmac(this.mechanism, this.credential.serverKey, authMessage)).toString("base64")}`;
  }
}
