// The CLI's connection to a broker: a KafkaConnection (src/client/kafka-connection.ts) with the CLI's client id and
// one timeout for connecting and for each answer. Plaintext only: `kgate status` reads a local gateway.

import { KafkaConnection, KafkaConnectionError } from "../client/kafka-connection.ts";

export type KafkaClient = KafkaConnection;
export { KafkaConnectionError as KafkaClientError };

export const KafkaClient = {
  connect(host: string, port: number, { clientId = "kgate-cli", timeoutMs = 10_000 } = {}): Promise<KafkaConnection> {
    return KafkaConnection.connect({
      host,
      port,
      clientId,
      connectTimeoutMs: timeoutMs,
      requestTimeoutMs: timeoutMs,
      clientSoftwareName: "kgate-cli",
      clientSoftwareVersion: "1",
    });
  },
};
