// SaslAuthenticate: v0–2
// Behaviour:
// - Carries one SASL token of the mechanism chosen by SaslHandshake v1: PLAIN in one step, SCRAM in two
//   (client-first → server-first, client-final → server-final). Passwords are checked against the salted SCRAM
//   credentials (security/credential-store.ts).
// - A wrong password, an unknown user or a malformed token answers SASL_AUTHENTICATION_FAILED with Kafka's message,
//   then the connection closes; the answer waits limits.saslFailedAuthenticationDelayMs first, as Kafka's
//   connection.failed.authentication.delay.ms. Without a preceding SaslHandshake: ILLEGAL_SASL_STATE.
// Version notes: v1 adds sessionLifetimeMs (KIP-368: --sasl-session-lifetime-ms, 0 = no expiry); v2 is flexible.

import type { SaslAuthenticateRequest, SaslAuthenticateResponse } from "../protocol/messages/36-sasl-authenticate.ts";
import type { SaslStep } from "../security/sasl.ts";
import { limits } from "../config.ts";
import { ErrorCode } from "../protocol/error-codes.ts";
import { CLOSE_AFTER_RESPONSE, type ApiHandler } from "./handler.ts";

export const saslAuthenticateHandler: ApiHandler<SaslAuthenticateRequest, SaslAuthenticateResponse> = {
  apiKey: 36,
  minVersion: 0,
  maxVersion: 2,
  handle(context, request) {
    const step = context.security.authenticate(request.authBytes, context.apiVersion);
    return step instanceof Promise ? step.then(toResponse) : toResponse(step);
  },
};

function toResponse(step: SaslStep) {
  const response = { errorCode: step.errorCode, errorMessage: step.errorMessage, authBytes: step.authBytes, sessionLifetimeMs: step.sessionLifetimeMs };
  if (!step.close) return response;
  const closing = { ...response, [CLOSE_AFTER_RESPONSE]: true };
  return step.errorCode === ErrorCode.SASL_AUTHENTICATION_FAILED ? Bun.sleep(limits.saslFailedAuthenticationDelayMs).then(() => closing) : closing;
}
