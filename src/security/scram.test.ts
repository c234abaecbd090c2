import { describe, expect, test } from "bun:test";
import { createHmac, createHash, pbkdf2Sync } from "node:crypto";
import {
  createCredential,
  credentialFromSaltedPassword,
  decodeSaslName,
  parseClientFirst,
  saltedPassword,
  ScramError,
  ScramServerExchange,
  verifyPassword,
} from "./scram.ts";
import { ScramClient } from "../../test/helpers/scram-client.ts";

describe("SCRAM server", () => {
  test("replays RFC 7677 §3's SCRAM-SHA-256 exchange (user, pencil) byte for byte", () => {
    const salt = Buffer.from("W22ZaJ0SNY7soEsUEjb6gQ==", "base64");
    const credential = credentialFromSaltedPassword("SCRAM-SHA-256", salt, 4096, saltedPassword("SCRAM-SHA-256", "pencil", salt, 4096));
    const clientFirst = parseClientFirst("n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
    const exchange = new ScramServerExchange("SCRAM-SHA-256", clientFirst, credential, "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
    expect(exchange.serverFirstMessage()).toBe("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
    const serverFinal = exchange.finish("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
    expect(serverFinal).toBe("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
  });

  for (const mechanism of ["SCRAM-SHA-256", "SCRAM-SHA-512"] as const) {
    test(`${mechanism}: a client with the right password passes and gets the server signature it expects`, () => {
      const credential = createCredential(mechanism, "s3cret");
      const client = new ScramClient(mechanism, "alice", "s3cret");
      const exchange = new ScramServerExchange(mechanism, parseClientFirst(Buffer.from(client.clientFirst()).toString()), credential);
      const serverFinal = exchange.finish(Buffer.from(client.clientFinal(Buffer.from(exchange.serverFirstMessage()))).toString());
      expect(serverFinal).toBe(client.serverFinal);
    });

    test(`${mechanism}: a wrong password, a changed nonce or channel binding are refused`, () => {
      const credential = createCredential(mechanism, "s3cret");
      const attempt = (password: string, tamper: (final: string) => string) => {
        const client = new ScramClient(mechanism, "alice", password);
        const exchange = new ScramServerExchange(mechanism, parseClientFirst(Buffer.from(client.clientFirst()).toString()), credential);
        return () => exchange.finish(tamper(Buffer.from(client.clientFinal(Buffer.from(exchange.serverFirstMessage()))).toString()));
      };
      expect(attempt("wrong", (final) => final)).toThrow(ScramError);
      expect(attempt("s3cret", (final) => final.replace(/,r=/, ",r=x"))).toThrow(ScramError);
      expect(attempt("s3cret", (final) => final.replace("c=biws", "c=eSws"))).toThrow(ScramError);
      expect(attempt("s3cret", (final) => final.replace(/,p=.*/, ",p=AAAA"))).toThrow(ScramError);
      expect(attempt("s3cret", (final) => final)).not.toThrow();
    });
  }

  test("the stored credential holds StoredKey = H(HMAC(SaltedPassword, 'Client Key')) and ServerKey, not the password", () => {
    const credential = createCredential("SCRAM-SHA-512", "pw", 4096);
    const salted = pbkdf2Sync("pw", credential.salt, 4096, 64, "sha512");
    expect(Buffer.from(credential.storedKey)).toEqual(createHash("sha512").update(createHmac("sha512", salted).update("Client Key").digest()).digest());
    expect(Buffer.from(credential.serverKey)).toEqual(createHmac("sha512", salted).update("Server Key").digest());
    expect(credential.iterations).toBe(4096);
  });

  test("verifyPassword (PLAIN's check) accepts the password and refuses others", async () => {
    const credential = createCredential("SCRAM-SHA-256", "correct horse");
    expect(await verifyPassword("SCRAM-SHA-256", credential, "correct horse")).toBe(true);
    expect(await verifyPassword("SCRAM-SHA-256", credential, "correct horse ")).toBe(false);
  });

  test("client-first parsing: saslname escapes, authzid, channel binding and malformed messages", () => {
    expect(parseClientFirst("n,,n=a=2Cb=3Dc,r=abc").userName).toBe("a,b=c");
    expect(parseClientFirst("n,a=bob,n=bob,r=abc").gs2Header).toBe("n,a=bob,");
    expect(() => parseClientFirst("n,a=eve,n=bob,r=abc")).toThrow(ScramError);
    expect(() => parseClientFirst("p=tls-unique,,n=bob,r=abc")).toThrow(ScramError);
    expect(() => parseClientFirst("n,,n=bob")).toThrow(ScramError);
    expect(() => parseClientFirst("garbage")).toThrow(ScramError);
    expect(decodeSaslName("a=2")).toBeNull();
  });
});
