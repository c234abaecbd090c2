#!/usr/bin/env bun
// kgate: a Kafka-compatible gateway in one executable.

import { runStatus } from "./cli/status.ts";
import { ConfigError, helpText, parseConfig } from "./config.ts";
import { startGateway, validateTopicConfigDefaults, type Kgate } from "./kgate.ts";
import { log } from "./util/logger.ts";
import { runUsersCommand } from "./security/users-cli.ts";
import { notifySystemd } from "./util/sd-notify.ts";
import { versionText } from "./version.ts";

function main(): void {
  if (process.argv[2] === "users") {
    const print = (line: string) => process.stdout.write(line + "\n");
    const fail = (line: string) => process.stderr.write(line + "\n");
    process.exit(runUsersCommand(process.argv.slice(3), process.env, print, fail));
  }
  if (process.argv.slice(2).includes("--version")) {
    process.stdout.write(versionText() + "\n");
    return;
  }
  let config;
  try {
    config = parseConfig(process.argv.slice(2));
    if (config !== null) validateTopicConfigDefaults(config);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`kgate: ${error.message}\n`);
    process.exit(2);
  }
  if (config === null) {
    process.stdout.write(helpText() + "\n");
    return;
  }
  // Handlers first: a signal arriving once the listener is up (callers watch for its log line) must still get a clean
  // shutdown, which writes the data folder's clean-shutdown marker. JS callbacks run after startServer returns.
  let server: Kgate | null = null;
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping || server === null) return;
    stopping = true;
    log.info("shutting down", { signal });
    notifySystemd("STOPPING=1");
    server.stop().then(() => process.exit(0));
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
  try {
    server = startGateway(config);
  } catch (error) {
    log.error("cannot start", { data: config.dataDir ?? "memory", error });
    process.exit(1);
  }
  // Listeners are bound once startGateway returns: a Type=notify unit (src/release/kgate.service) is started now.
  notifySystemd("READY=1");
}

if (process.argv[2] === "status") {
  runStatus(process.argv.slice(3), process.env, (text) => process.stdout.write(text), (text) => process.stderr.write(text)).then((code) => process.exit(code));
} else {
  main();
}
