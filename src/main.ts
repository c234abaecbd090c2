#!/usr/bin/env bun
// kgate: a Kafka-compatible gateway in one executable.

import { ConfigError, helpText, parseConfig } from "./config.ts";
import { startServer } from "./server/server.ts";
import { log, setLogLevel } from "./util/logger.ts";

function main(): void {
  let config;
  try {
    config = parseConfig(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`kgate: ${error.message}\n`);
    process.exit(2);
  }
  if (config === null) {
    process.stdout.write(helpText() + "\n");
    return;
  }
  setLogLevel(config.logLevel);
  if (config.dataDir !== null) {
    log.warn("the durable file-segment log is not built yet; serving from memory", { data: config.dataDir });
  }
  const server = startServer(config);
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info("shutting down", { signal });
    server.stop().then(() => process.exit(0));
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
}

main();
