// The schema registry inside kgate: the store rebuilt from `_schemas` and the REST API serving it.

import type { TLSOptions } from "bun";
import type { TopicStore } from "../metadata/topic-store.ts";
import { log } from "../util/logger.ts";
import { startRegistryServer, type OperationsRoute, type RegistryServer } from "./http.ts";
import { createRecordValidator, PayloadDecoders, type RecordValidator } from "./record-validation.ts";
import { SchemaStore } from "./store.ts";

export interface SchemaRegistry {
  readonly store: SchemaStore;
  readonly server: RegistryServer;
  /** Checks produced records of topics with schema validation on (the produce handler calls it). */
  readonly recordValidator: RecordValidator;
  /** Decodes enveloped payloads with the stored schemas (the record view and the library's records()). */
  readonly decoders: PayloadDecoders;
  stop(): void;
}

/** Replays `_schemas` from the broker's topics and starts the REST API (throws when the address is taken). */
export function startSchemaRegistry(topics: TopicStore, host: string, port: number, operationsRoute?: OperationsRoute, tls?: TLSOptions): SchemaRegistry {
  const store = new SchemaStore(topics);
  store.load();
  const decoders = new PayloadDecoders(store);
  const server = startRegistryServer(store, topics, host, port, decoders, operationsRoute, tls);
  log.info("schema registry up", { listen: `${server.host}:${server.port}` });
  return { store, server, recordValidator: createRecordValidator(store, decoders), decoders, stop: () => server.stop() };
}
