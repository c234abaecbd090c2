// What `kgate --version` prints: package.json's version and the git commit build.ts embeds with --define
// (KGATE_BUILD_COMMIT, "-dirty" when the work tree had changes); "source" when run from the source files.

import packageJson from "../package.json" with { type: "json" };

declare const KGATE_BUILD_COMMIT: string | undefined;

export const kgateVersion: string = packageJson.version;

export const kgateCommit: string = typeof KGATE_BUILD_COMMIT === "string" ? KGATE_BUILD_COMMIT : "source";

export function versionText(): string {
  return kgateCommit === "source" ? `kgate ${kgateVersion} (source)` : `kgate ${kgateVersion} (commit ${kgateCommit})`;
}
