// The version ranges ApiVersions advertises. registry.ts fills them from its handler table; ApiVersions, itself one of
// those handlers, reads them here rather than importing the registry (that import was a cycle: loading
// 18-api-versions.ts first threw "Cannot access 'apiVersionsHandler' before initialization").

export interface SupportedApi {
  apiKey: number;
  minVersion: number;
  maxVersion: number;
}

let supported: SupportedApi[] = [];

/** Called once by registry.ts with every handler it serves. */
export function advertise(handlers: readonly SupportedApi[]): void {
  supported = handlers.map(({ apiKey, minVersion, maxVersion }) => ({ apiKey, minVersion, maxVersion })).sort((a, b) => a.apiKey - b.apiKey);
}

/** The ranges ApiVersions advertises, in key order. */
export function supportedApiKeys(): SupportedApi[] {
  return supported;
}
