// Loading a napi codec addon. Inside the compiled executable Bun first writes the embedded .node file to $TMPDIR
// (/tmp) and loads it from there: with /tmp unwritable (a systemd unit with ProtectSystem=strict and no PrivateTmp)
// or mounted noexec, the load fails, and every batch of that codec would be refused as corrupt with nothing saying
// why. The first failure is logged with its cause; each call still throws, which the codec turns into its error.

import { log } from "../util/logger.ts";

const reported = new Set<string>();

export function loadAddon<T>(name: string, load: () => T): T {
  try {
    return load();
  } catch (error) {
    if (!reported.has(name)) {
      reported.add(name);
      log.error(`the ${name} addon cannot be loaded: ${name} batches are refused`, { error, tmpdir: process.env.TMPDIR ?? "/tmp", hint: "Bun extracts addons to TMPDIR, which must be writable and not noexec" });
    }
    throw error;
  }
}
