// The APIs this node serves and their version ranges: the one source for dispatch and for ApiVersions.

import type { ApiHandler } from "./handler.ts";
import { produceHandler } from "./00-produce.ts";
import { fetchHandler } from "./01-fetch.ts";
import { listOffsetsHandler } from "./02-list-offsets.ts";
import { metadataHandler } from "./03-metadata.ts";
import { apiVersionsHandler } from "./18-api-versions.ts";
import { createTopicsHandler } from "./19-create-topics.ts";
import { deleteTopicsHandler } from "./20-delete-topics.ts";

const handlers: ApiHandler[] = [
  produceHandler,
  fetchHandler,
  listOffsetsHandler,
  metadataHandler,
  apiVersionsHandler,
  createTopicsHandler,
  deleteTopicsHandler,
];

const handlersByKey: (ApiHandler | undefined)[] = [];
for (const handler of handlers) handlersByKey[handler.apiKey] = handler;

export function handlerFor(apiKey: number): ApiHandler | undefined {
  return apiKey >= 0 ? handlersByKey[apiKey] : undefined;
}

export interface SupportedApi {
  apiKey: number;
  minVersion: number;
  maxVersion: number;
}

let supported: SupportedApi[] | null = null;

/** The ranges ApiVersions advertises, in key order. */
export function supportedApiKeys(): SupportedApi[] {
  supported ??= handlers
    .map(({ apiKey, minVersion, maxVersion }) => ({ apiKey, minVersion, maxVersion }))
    .sort((a, b) => a.apiKey - b.apiKey);
  return supported;
}
