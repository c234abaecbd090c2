// SaslHandshake: v0–1
// Behaviour:
// - On a SASL listener: picks the mechanism (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 as enabled) and lists the enabled
//   ones; an unknown mechanism answers UNSUPPORTED_SASL_MECHANISM and closes the connection, as Kafka does.
// - On an authenticated connection whose client used SaslAuthenticate v1+: starts a re-authentication (KIP-368).
// - Elsewhere (PLAINTEXT/SSL listener, or no re-authentication possible): ILLEGAL_SASL_STATE.
// Version notes: v0 means the SASL tokens follow raw (no Kafka header, the dispatcher reads them); v1 means they
// come in SaslAuthenticate requests.

import type { SaslHandshakeRequest, SaslHandshakeResponse } from "../protocol/messages/17-sasl-handshake.ts";
import { CLOSE_AFTER_RESPONSE, type ApiHandler } from "./handler.ts";

export const saslHandshakeHandler: ApiHandler<SaslHandshakeRequest, SaslHandshakeResponse> = {
  apiKey: 17,
  minVersion: 0,
  maxVersion: 1,
  handle(context, request) {
    const { errorCode, mechanisms, close } = context.security.handshake(request.mechanism, context.apiVersion);
    return close ? { errorCode, mechanisms, [CLOSE_AFTER_RESPONSE]: true } : { errorCode, mechanisms };
  },
};
