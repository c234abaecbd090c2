// The console's Kafka client: the gateway's own handlers called in-process, so that what the console reads and changes
// goes through the same validation and authorization as a Kafka client's request. Each call encodes the request as a
// client would, decodes it as the server does (defaults filled for fields the version lacks), hands it to the
// handler with a context for the caller's principal, and round-trips the answer through the response codec (the
// caller sees what a client would). Not counted in the request metrics: the console is not a Kafka client.

import type { Broker } from "../broker.ts";
import { KafkaConnectionError } from "../client/kafka-connection.ts";
import { CLOSE_WITHOUT_RESPONSE, NO_RESPONSE, type RequestContext } from "../handlers/handler.ts";
import { handlerFor } from "../handlers/registry.ts";
import { ByteReader } from "../protocol/byte-reader.ts";
import { ByteWriter } from "../protocol/byte-writer.ts";
import { apiTable } from "../protocol/messages/index.ts";
import { ANONYMOUS_PRINCIPAL, ConnectionSecurity } from "../security/sasl.ts";
import { defaultSaslSettings, plaintextListener } from "../security/security.ts";
import type { StatusClient } from "../status/cluster-status.ts";

/**
 * The broker as the handlers see it, without its ACL authorizer: for the console's reads, which the HTTP listener's
 * credentials and roles govern (a `read` user sees every topic and group). Everything else is the broker itself.
 */
function withoutAuthorizer(broker: Broker): Broker {
  return new Proxy(broker, {
    get(target, property) {
      if (property === "authorizer") return null;
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

export class InProcessClient implements StatusClient {
  private readonly security: ConnectionSecurity;
  private readonly broker: Broker;

  /**
   * `principal` (`User:<name>`) is whose ACLs apply; null: a reader the ACLs do not apply to (the console's reads).
   * `clientAddress`: the HTTP caller's, for the authorizer's host match and the log.
   */
  constructor(broker: Broker, principal: string | null, private readonly clientAddress = "console") {
    this.broker = principal === null ? withoutAuthorizer(broker) : broker;
    this.security = new ConnectionSecurity(plaintextListener(broker.config), defaultSaslSettings(), clientAddress, principal ?? ANONYMOUS_PRINCIPAL);
  }

  get principal(): string {
    return this.security.principal;
  }

  version(apiKey: number, max = Infinity): number {
    const descriptor = apiTable[apiKey];
    const handler = handlerFor(apiKey);
    if (!descriptor || !handler) throw new KafkaConnectionError("unsupported", `the gateway does not serve API key ${apiKey}`);
    const high = Math.min(descriptor.maxVersion, handler.maxVersion, max);
    if (high < Math.max(descriptor.minVersion, handler.minVersion)) throw new KafkaConnectionError("unsupported", `no ${descriptor.name} version at most v${max}`);
    return high;
  }

  async call<Response = any>(apiKey: number, version: number, body: object): Promise<Response> {
    const descriptor = apiTable[apiKey]!;
    const handler = handlerFor(apiKey)!;
    const writer = new ByteWriter();
    descriptor.encodeRequest(writer, version, body as never);
    const request = descriptor.decodeRequest(new ByteReader(writer.toUint8Array()), version);
    const callbacks: (() => void)[] = [];
    const context: RequestContext = {
      apiKey,
      apiVersion: version,
      correlationId: 0,
      clientId: "kgate-console",
      clientAddress: this.clientAddress,
      broker: this.broker,
      principal: this.principal,
      listenerName: this.security.listenerName,
      securityProtocol: this.security.securityProtocol,
      security: this.security,
      afterResponse: (callback) => callbacks.push(callback),
    };
    try {
      const result = await handler.handle(context, request);
      if (result === NO_RESPONSE || result === CLOSE_WITHOUT_RESPONSE) throw new Error(`${descriptor.name} gave no answer`);
      const answer = new ByteWriter();
      descriptor.encodeResponse(answer, version, result as never);
      return descriptor.decodeResponse(new ByteReader(answer.toUint8Array()), version) as Response;
    } finally {
      for (const callback of callbacks) callback();
    }
  }
}
