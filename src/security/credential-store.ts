// SCRAM credentials of the SASL users: `users.json` in the data folder (replaced atomically like topics.json, mode
// 0600) or memory only with --memory. Salt, iterations, StoredKey and ServerKey per user and mechanism; never a
// password. The file is re-read when another process (`kgate users ...`) changed it, so users added offline or
// while the broker runs take effect at the next authentication.

import { chmodSync, existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../log/file/file-io.ts";
import { SCRAM_MECHANISMS, type ScramCredential, type ScramMechanism } from "./scram.ts";

export const CREDENTIALS_FILE = "users.json";
const CREDENTIALS_VERSION = 1;

interface StoredCredential {
  salt: string;
  iterations: number;
  storedKey: string;
  serverKey: string;
}

interface CredentialsFile {
  version: number;
  users: Record<string, Partial<Record<ScramMechanism, StoredCredential>>>;
}

export class CredentialStore {
  private users = new Map<string, Map<ScramMechanism, ScramCredential>>();
  private loadedVersion = "";
  /** Bumped on every change (HTTP Basic's verification cache keys on it). */
  generation = 0;

  /** `dataDir` null: memory only. Throws on a damaged file (never guess with credentials). */
  constructor(readonly dataDir: string | null) {
    this.reloadIfChanged();
  }

  get path(): string | null {
    return this.dataDir === null ? null : join(this.dataDir, CREDENTIALS_FILE);
  }

  get(user: string, mechanism: ScramMechanism): ScramCredential | undefined {
    this.reloadIfChanged();
    return this.users.get(user)?.get(mechanism);
  }

  /** Every user with the mechanisms it has, sorted by name. */
  list(): { user: string; credentials: { mechanism: ScramMechanism; iterations: number }[] }[] {
    this.reloadIfChanged();
    return [...this.users.keys()].sort().map((user) => ({
      user,
      credentials: [...this.users.get(user)!].map(([mechanism, credential]) => ({ mechanism, iterations: credential.iterations })),
    }));
  }

  has(user: string): boolean {
    this.reloadIfChanged();
    return this.users.has(user);
  }

  /** Applies deletions then upserts and persists once, before returning (AlterUserScramCredentials answers after). */
  apply(changes: { delete?: [string, ScramMechanism][]; upsert?: [string, ScramMechanism, ScramCredential][] }): void {
    this.reloadIfChanged();
    for (const [user, mechanism] of changes.delete ?? []) {
      const credentials = this.users.get(user);
      credentials?.delete(mechanism);
      if (credentials?.size === 0) this.users.delete(user);
    }
    for (const [user, mechanism, credential] of changes.upsert ?? []) {
      let credentials = this.users.get(user);
      if (!credentials) this.users.set(user, (credentials = new Map()));
      credentials.set(mechanism, credential);
    }
    this.generation++;
    this.save();
  }

  private save(): void {
    const path = this.path;
    if (path === null) return;
    const file: CredentialsFile = { version: CREDENTIALS_VERSION, users: {} };
    for (const [user, credentials] of this.users) {
      const stored: Partial<Record<ScramMechanism, StoredCredential>> = {};
      for (const [mechanism, credential] of credentials) {
        stored[mechanism] = {
          salt: Buffer.from(credential.salt).toString("base64"),
          iterations: credential.iterations,
          storedKey: Buffer.from(credential.storedKey).toString("base64"),
          serverKey: Buffer.from(credential.serverKey).toString("base64"),
        };
      }
      file.users[user] = stored;
    }
    writeFileAtomic(path, JSON.stringify(file, null, 1) + "\n");
    chmodSync(path, 0o600);
    this.loadedVersion = fileVersion(path);
  }

  private reloadIfChanged(): void {
    const path = this.path;
    if (path === null) return;
    const version = fileVersion(path);
    if (version === this.loadedVersion) return;
    const users = new Map<string, Map<ScramMechanism, ScramCredential>>();
    if (existsSync(path)) {
      const parsed = JSON.parse(readFileSync(path, "utf8")) as CredentialsFile;
      if (parsed.version !== CREDENTIALS_VERSION || typeof parsed.users !== "object" || parsed.users === null) {
        throw new Error(`${path}: unknown credentials file version ${parsed.version}`);
      }
      for (const [user, stored] of Object.entries(parsed.users)) {
        const credentials = new Map<ScramMechanism, ScramCredential>();
        for (const mechanism of SCRAM_MECHANISMS) {
          const credential = stored[mechanism];
          if (!credential) continue;
          credentials.set(mechanism, {
            salt: Buffer.from(credential.salt, "base64"),
            iterations: credential.iterations,
            storedKey: Buffer.from(credential.storedKey, "base64"),
            serverKey: Buffer.from(credential.serverKey, "base64"),
          });
        }
        if (credentials.size > 0) users.set(user, credentials);
      }
    }
    this.users = users;
    this.loadedVersion = version;
    this.generation++;
  }
}

/** Changes when the file is replaced (rename gives a new inode) or rewritten; "" when it does not exist. */
function fileVersion(path: string): string {
  try {
    const stat = statSync(path);
    return `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
  } catch {
    return "";
  }
}
