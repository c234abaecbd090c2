// ApiVersions: v0–4
// Behaviour:
// - Lists every API this node serves with the range it serves (handlers/registry.ts).
// - A version above 4 never reaches this handler: the dispatcher answers it in v0 with UNSUPPORTED_VERSION and
//   the same list (KIP-511), and the response header is always v0 (trap 1).
// - No supported or finalized features are reported (no KRaft feature levels to negotiate).
// Version notes: v1 adds throttleTimeMs; v3 adds client software name/version (logged at debug) and a flexible body.

import type { ApiVersionsRequest, ApiVersionsResponse } from "../protocol/messages/18-api-versions.ts";
import { ErrorCode } from "../protocol/error-codes.ts";
import { log } from "../util/logger.ts";
import type { ApiHandler } from "./handler.ts";
import { supportedApiKeys } from "./supported-apis.ts";

export const apiVersionsHandler: ApiHandler<ApiVersionsRequest, ApiVersionsResponse> = {
  apiKey: 18,
  minVersion: 0,
  maxVersion: 4,
  handle(context, request) {
    if (context.apiVersion >= 3) {
      log.debug("client software", { client: context.clientAddress, name: request.clientSoftwareName, version: request.clientSoftwareVersion });
    }
    return { errorCode: ErrorCode.NONE, apiKeys: supportedApiKeys(), throttleTimeMs: 0 };
  },
};
