// The Kafka listener: accepts connections with Bun.listen and hands each socket's bytes to its Connection.

import type { Socket, TCPSocketListener } from "bun";
import { Broker } from "../broker.ts";
import type { PartitionLogFactory } from "../metadata/topic-store.ts";
import { serverLimits, type Config } from "../config.ts";
import { log } from "../util/logger.ts";
import { attachRecordValidator } from "../registry/record-validation.ts";
import { startSchemaRegistry, type SchemaRegistry } from "../registry/registry.ts";
import { Connection } from "./connection.ts";
import { registerBrokerMetrics } from "../metrics/broker-metrics.ts";

/** Kafka's name for an unencrypted, unauthenticated listener (the metrics' `listener` label). */
const LISTENER_NAME = "PLAINTEXT";
import { RequestDispatcher } from "./dispatcher.ts";
import { closeIdleConnections, ConnectionAdmission, createConnectionEnvironment, idleSweepIntervalMs } from "./limits.ts";

export interface KgateServer {
  readonly broker: Broker;
  readonly host: string;
  /** The bound port (the real one when the config asked for port 0). */
  readonly port: number;
  readonly connectionCount: number;
  /** The schema registry (its REST port: registry.server.port), or null when --registry-listen is off. */
  readonly registry: SchemaRegistry | null;
  /** Stops accepting, closes connections and releases the broker's state. */
  stop(): Promise<void>;
}

interface SocketState {
  connection: Connection | null;
}

export function startServer(config: Config, logFactory?: PartitionLogFactory): KgateServer {
  const broker = new Broker(config, logFactory);
  const dispatcher = new RequestDispatcher(broker);
  const connections = new Set<Connection>();
  const limits = serverLimits(config);
  const admission = new ConnectionAdmission(limits);
  const { metrics } = broker;
  const environment = createConnectionEnvironment(limits, metrics);
  metrics.connections.collect(() => connections.size);
  registerBrokerMetrics(broker);
  metrics.requestsInFlight.collect(() => sumOver(connections, (connection) => connection.inFlightRequests));
  metrics.pendingWriteBytes.collect(() => sumOver(connections, (connection) => connection.pendingWriteBytes));
  metrics.connectionsPerIpBusiest.collect(() => admission.busiestAddressCount);

  const listener: TCPSocketListener<SocketState> = Bun.listen<SocketState>({
    hostname: config.listenHost,
    port: config.listenPort,
    data: { connection: null },
    socket: {
      open(socket: Socket<SocketState>) {
        const clientAddress = `${socket.remoteAddress}:${(socket as unknown as { remotePort?: number }).remotePort ?? "?"}`;
        const refusedBy = admission.admit(socket.remoteAddress);
        if (refusedBy !== null) {
          log.warn("refusing connection: limit reached", { client: clientAddress, limit: refusedBy, max: limits[refusedBy] });
          metrics.connectionsRefused.inc({ limit: refusedBy });
          socket.end();
          return;
        }
        socket.setNoDelay(true);
        const connection = new Connection(socket as Socket<unknown>, dispatcher, clientAddress, environment);
        socket.data = { connection };
        connections.add(connection);
        metrics.listenerConnections.add(1, { listener: LISTENER_NAME });
        log.debug("connection opened", { client: clientAddress });
      },
      data(socket, chunk) {
        metrics.bytesIn.inc(undefined, chunk.length);
        socket.data.connection?.onData(chunk);
      },
      drain(socket) {
        socket.data.connection?.onDrain();
      },
      close(socket) {
        const connection = socket.data.connection;
        if (!connection) return;
        connection.onClosed();
        connections.delete(connection);
        metrics.listenerConnections.add(-1, { listener: LISTENER_NAME });
        admission.release(socket.remoteAddress);
        log.debug("connection closed", { client: connection.clientAddress });
      },
      error(socket, error) {
        log.warn("socket error", { client: socket.data.connection?.clientAddress ?? "?", error });
      },
    },
  });

  // Our own sweep, not socket.timeout(): uSockets counts timeouts in 4-second ticks, too coarse for short limits.
  const idleSweep = setInterval(() => {
    for (const connection of closeIdleConnections(connections, limits.connectionIdleMs, performance.now())) {
      log.info("closing idle connection", { client: connection.clientAddress, idleMs: limits.connectionIdleMs });
      metrics.connectionsClosed.inc({ reason: "idle" });
    }
  }, idleSweepIntervalMs(limits.connectionIdleMs));
  idleSweep.unref();

  log.info("kafka listener up", { listen: `${listener.hostname}:${listener.port}`, advertised: `${config.advertisedHost}:${config.advertisedPort === 0 ? listener.port : config.advertisedPort}` });
  if (config.advertisedPort === 0) config.advertisedPort = listener.port;
  let registry: SchemaRegistry | null = null;
  if (config.registryListen) {
    try {
      registry = startSchemaRegistry(broker.topics, config.registryListen.host, config.registryListen.port, operationsRoute(broker));
      attachRecordValidator(broker, registry.recordValidator);
    } catch (error) {
      listener.stop(true);
      broker.close();
      throw error;
    }
  }

  return {
    broker,
    host: listener.hostname,
    port: listener.port,
    registry,
    get connectionCount() {
      return connections.size;
    },
    async stop() {
      // Stop accepting, let parked long polls answer and in-flight responses leave, then close.
      listener.stop(false);
      clearInterval(idleSweep);
      registry?.stop();
      broker.close();
      await Bun.sleep(0);
      for (const connection of connections) connection.close();
      connections.clear();
      listener.stop(true);
    },
  };
}

function sumOver<T>(items: Iterable<T>, read: (item: T) => number): number {
  let sum = 0;
  for (const item of items) sum += read(item);
  return sum;
}

/** /metrics (Prometheus), /health (the process serves) and /ready (log recovered, listener up) on the HTTP listener. */
function operationsRoute(broker: Broker): (request: Request) => Response | null {
  const { metrics } = broker;
  return (request) => {
    if (request.method !== "GET") return null;
    switch (new URL(request.url).pathname) {
      case "/metrics":
        return new Response(metrics.registry.render(), { headers: { "content-type": "text/plain; version=0.0.4" } });
      case "/health":
        return Response.json({ status: "ok" });
      case "/ready":
        // The Kafka listener is up and the log recovered before the HTTP listener starts; closing means not ready.
        return broker.closing ? Response.json({ status: "stopping" }, { status: 503 }) : Response.json({ status: "ready" });
    }
    return null;
  };
}
