// For tests that send @platformatic/kafka's own protocol functions (`describeClusterV1.api.async(connection, ...)`)
// over one of its Connections: a test server and a connection to it, closed together, and the error codes of an
// answer the client turned into a ResponseError.

import { Connection } from "@platformatic/kafka";
import type { Config } from "../../src/config.ts";
import { startTestServer, type TestServer } from "./server.ts";

export interface ProtocolSession extends AsyncDisposable {
  server: TestServer;
  connection: Connection;
}

export async function startProtocolSession(clientId: string, overrides: Partial<Config> = {}): Promise<ProtocolSession> {
  const server = await startTestServer(overrides);
  const connection = new Connection(clientId);
  await connection.connect("127.0.0.1", server.port);
  return {
    server,
    connection,
    async [Symbol.asyncDispose]() {
      await connection.close();
      await server[Symbol.asyncDispose]();
    },
  };
}

/** The error codes of the ResponseError the request fails with (it must fail). */
export async function errorCodesOf(request: Promise<unknown>): Promise<number[]> {
  const error = await request.then(
    () => null,
    (failure: { errors?: { apiCode?: number }[] }) => failure,
  );
  if (error === null) throw new Error("the request succeeded");
  return (error.errors ?? []).map((e) => e.apiCode ?? -1);
}
