// `kgate users add|list|delete`: manages the SCRAM credentials of a data folder offline (or while the broker runs:
// it re-reads users.json at the next authentication). Passwords are salted and hashed here; only salt, iterations,
// StoredKey and ServerKey reach the file.

import { existsSync, mkdirSync } from "node:fs";
import { CredentialStore } from "./credential-store.ts";
import { createCredential, SCRAM_ITERATIONS_MAX, SCRAM_ITERATIONS_MIN, SCRAM_MECHANISMS, type ScramMechanism } from "./scram.ts";

export const usersHelpText = `Usage:
  kgate users add NAME --password PASSWORD [--mechanism SCRAM-SHA-256|SCRAM-SHA-512] [--iterations N] [--data DIR]
  kgate users list [--data DIR]
  kgate users delete NAME [--mechanism SCRAM-SHA-256|SCRAM-SHA-512] [--data DIR]

Without --mechanism, add and delete act on both SCRAM mechanisms (PLAIN logins check either).
The password may come from KGATE_USER_PASSWORD instead of --password (keeps it out of the process list).
--data defaults to KGATE_DATA or ./data; iterations to ${SCRAM_ITERATIONS_MIN} (${SCRAM_ITERATIONS_MIN}..${SCRAM_ITERATIONS_MAX}).`;

/** Runs the subcommand; returns the exit code and writes its output through `print`/`fail`. */
export function runUsersCommand(
  argv: string[],
  env: Record<string, string | undefined>,
  print: (line: string) => void,
  fail: (line: string) => void,
): number {
  const [action, ...rest] = argv;
  const flags = new Map<string, string>();
  const positional: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const argument = rest[i]!;
    if (!argument.startsWith("--")) {
      positional.push(argument);
      continue;
    }
    const equals = argument.indexOf("=");
    if (equals > 0) flags.set(argument.slice(0, equals), argument.slice(equals + 1));
    else if (argument === "--help") flags.set("--help", "");
    else if (i + 1 < rest.length) flags.set(argument, rest[++i]!);
    else return usage(fail, `${argument} needs a value`);
  }
  if (action === undefined || action === "--help" || flags.has("--help")) {
    print(usersHelpText);
    return action === undefined ? 2 : 0;
  }
  for (const flag of flags.keys()) {
    if (!["--password", "--mechanism", "--iterations", "--data"].includes(flag)) return usage(fail, `unknown option ${flag}`);
  }
  const dataDir = flags.get("--data") ?? env.KGATE_DATA ?? "./data";
  const mechanismText = flags.get("--mechanism");
  if (mechanismText !== undefined && !SCRAM_MECHANISMS.includes(mechanismText.toUpperCase() as ScramMechanism)) {
    return usage(fail, `--mechanism wants ${SCRAM_MECHANISMS.join(" or ")}, got ${mechanismText}`);
  }
  const mechanisms = mechanismText ? [mechanismText.toUpperCase() as ScramMechanism] : [...SCRAM_MECHANISMS];

  switch (action) {
    case "add": {
      const [name] = positional;
      if (!name || positional.length !== 1) return usage(fail, "users add wants one user NAME");
      const password = flags.get("--password") ?? env.KGATE_USER_PASSWORD;
      if (!password) return usage(fail, "users add needs --password (or KGATE_USER_PASSWORD)");
      const iterations = Number(flags.get("--iterations") ?? SCRAM_ITERATIONS_MIN);
      if (!Number.isInteger(iterations) || iterations < SCRAM_ITERATIONS_MIN || iterations > SCRAM_ITERATIONS_MAX) {
        return usage(fail, `--iterations wants an integer from ${SCRAM_ITERATIONS_MIN} to ${SCRAM_ITERATIONS_MAX}`);
      }
      mkdirSync(dataDir, { recursive: true });
      const store = new CredentialStore(dataDir);
      store.apply({ upsert: mechanisms.map((mechanism) => [name, mechanism, createCredential(mechanism, password, iterations)]) });
      print(`user ${name}: ${mechanisms.join(", ")} set (${iterations} iterations) in ${store.path}`);
      return 0;
    }
    case "list": {
      if (!existsSync(dataDir)) return usage(fail, `no data folder ${dataDir}`);
      const users = new CredentialStore(dataDir).list();
      if (users.length === 0) print("no users");
      for (const { user, credentials } of users) {
        print(`${user}\t${credentials.map(({ mechanism, iterations }) => `${mechanism}(${iterations})`).join(" ")}`);
      }
      return 0;
    }
    case "delete": {
      const [name] = positional;
      if (!name || positional.length !== 1) return usage(fail, "users delete wants one user NAME");
      if (!existsSync(dataDir)) return usage(fail, `no data folder ${dataDir}`);
      const store = new CredentialStore(dataDir);
      const present = mechanisms.filter((mechanism) => store.get(name, mechanism));
      if (present.length === 0) {
        fail(`kgate users: user ${name} has no ${mechanisms.join(" or ")} credential`);
        return 1;
      }
      store.apply({ delete: present.map((mechanism) => [name, mechanism]) });
      print(`user ${name}: ${present.join(", ")} deleted`);
      return 0;
    }
  }
  return usage(fail, `unknown users command ${action}`);
}

function usage(fail: (line: string) => void, message: string): number {
  fail(`kgate users: ${message} (see kgate users --help)`);
  return 2;
}
