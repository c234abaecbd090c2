// The Kafka listeners: accept connections with Bun.listen (plain or TLS, one per --listeners entry) and hand each
// socket's bytes to its Connection.

import type { Socket, SocketHandler, TCPSocketListener } from "bun";
import { Broker } from "../broker.ts";
import type { PartitionLogFactory } from "../metadata/topic-store.ts";
import { limits as defaultLimits, serverLimits, type Config } from "../config.ts";
import { HeapValve } from "../util/heap-valve.ts";
import { log } from "../util/logger.ts";
import { attachRecordValidator } from "../registry/record-validation.ts";
import { startSchemaRegistry, type SchemaRegistry } from "../registry/registry.ts";
import { Connection } from "./connection.ts";
import { registerBrokerMetrics } from "../metrics/broker-metrics.ts";
import { RequestDispatcher } from "./dispatcher.ts";
import { closeIdleConnections, closeStalledWriters, ConnectionAdmission, createConnectionEnvironment, idleSweepIntervalMs } from "./limits.ts";
import type { ListenerConfig } from "../security/listeners.ts";
import { ConnectionSecurity } from "../security/sasl.ts";
import { setUpSecurity, type ServerSecurity } from "../security/security.ts";
import { onTlsHandshake } from "../security/tls-handshake.ts";
import { requireHttpBasic } from "../security/http-auth.ts";
import { Uplink } from "../uplink/uplink.ts";
import { WebConsole } from "../console/routes.ts";
import type { OperationsRoute } from "../registry/http.ts";

export interface KgateServer {
  readonly broker: Broker;
  readonly host: string;
  /** The bound port (the real one when the config asked for port 0) of the first listener. */
  readonly port: number;
  /** Every Kafka listener with its bound port and the address Metadata advertises on it. */
  readonly listeners: readonly { name: string; securityProtocol: string; host: string; port: number; advertisedHost: string; advertisedPort: number }[];
  readonly connectionCount: number;
  /** The schema registry (its REST port: registry.server.port), or null when --registry-listen is off. */
  readonly registry: SchemaRegistry | null;
  /** The links forwarding to central clusters (--uplink), or null when there are none. */
  readonly uplink: Uplink | null;
  /** Stops accepting, closes connections and releases the broker's state. */
  stop(): Promise<void>;
}

interface SocketState {
  connection: Connection | null;
  listener: ListenerConfig;
}

export function startServer(config: Config, logFactory?: PartitionLogFactory): KgateServer {
  const broker = new Broker(config, logFactory);
  let security: ServerSecurity;
  try {
    security = setUpSecurity(config, broker.metrics);
  } catch (error) {
    broker.close();
    throw error;
  }
  const dispatcher = new RequestDispatcher(broker, security.sasl);
  const connections = new Set<Connection>();
  const limits = serverLimits(config);
  const admission = new ConnectionAdmission(limits);
  const { metrics } = broker;
  const environment = createConnectionEnvironment(limits, metrics, broker.memory);
  metrics.connections.collect(() => connections.size);
  registerBrokerMetrics(broker);
  metrics.requestsInFlight.collect(() => sumOver(connections, (connection) => connection.inFlightRequests));
  metrics.pendingWriteBytes.collect(() => sumOver(connections, (connection) => connection.pendingWriteBytes));
  metrics.connectionsPerIpBusiest.collect(() => admission.busiestAddressCount);

  const heapValve = new HeapValve(defaultLimits.heapGrowthBytesMax);
  let receivedSinceHeapCheck = 0;
  metrics.forcedCollections.collect(() => heapValve.collections);
  metrics.forcedCollectionSeconds.collect(() => heapValve.collectionSeconds);

  // One set of socket handlers for every listener (in the shape Bun.listen takes); each socket carries its listener.
  const sharedOptions: { socket: SocketHandler<SocketState> } = {
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
        // Every socket of a listener starts with the listener's `data`: replace it with this connection's own.
        const listener = socket.data.listener;
        const connectionSecurity = new ConnectionSecurity(listener, security.sasl, clientAddress);
        const connection = new Connection(socket as Socket<unknown>, dispatcher, clientAddress, environment, connectionSecurity);
        socket.data = { connection, listener };
        connections.add(connection);
        metrics.listenerConnections.add(1, { listener: listener.name });
        log.debug("connection opened", { client: clientAddress, listener: listener.name });
      },
      handshake(socket, success, authorizationError) {
        onTlsHandshake(socket, success, authorizationError, metrics);
      },
      data(socket, chunk) {
        metrics.bytesIn.inc(undefined, chunk.length);
        receivedSinceHeapCheck += chunk.length;
        if (receivedSinceHeapCheck >= defaultLimits.heapCheckReceivedBytes) {
          receivedSinceHeapCheck = 0;
          heapValve.check();
        }
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
        metrics.listenerConnections.add(-1, { listener: socket.data.listener.name });
        admission.release(socket.remoteAddress);
        log.debug("connection closed", { client: connection.clientAddress });
      },
      error(socket, error) {
        log.warn("socket error", { client: socket.data.connection?.clientAddress ?? "?", error });
      },
    },
  };

  // Our own sweep, not socket.timeout(): uSockets counts timeouts in 4-second ticks, too coarse for short limits.
  const idleSweep = setInterval(() => {
    const now = performance.now();
    for (const connection of closeIdleConnections(connections, limits.connectionIdleMs, now)) {
      log.info("closing idle connection", { client: connection.clientAddress, idleMs: limits.connectionIdleMs });
      metrics.connectionsClosed.inc({ reason: "idle" });
    }
    for (const connection of closeStalledWriters(connections, broker.memory, limits.stalledWriterMs, now)) {
      log.warn("closing connection: its unsent answers stopped moving while the memory budget is exhausted", {
        client: connection.clientAddress,
        stalledMs: limits.stalledWriterMs,
      });
      metrics.connectionsClosed.inc({ reason: "stalled_writer" });
    }
  }, Math.min(idleSweepIntervalMs(limits.connectionIdleMs), idleSweepIntervalMs(limits.stalledWriterMs)));
  idleSweep.unref();
  const heapCheck = setInterval(() => heapValve.check(), defaultLimits.heapCheckIntervalMs);
  heapCheck.unref();

  const bound: TCPSocketListener<SocketState>[] = [];
  try {
    for (const { config: listener, tls } of security.listeners) {
      const server = Bun.listen<SocketState>({
        hostname: listener.host,
        port: listener.port,
        data: { connection: null, listener },
        ...sharedOptions,
        ...(tls ? { tls } : {}),
      });
      bound.push(server);
      if (listener.advertisedPort === 0) listener.advertisedPort = server.port;
      // `listen=` first: test/helpers/gateway-process.ts and scripts read the port from this line.
      log.info("kafka listener up", { listen: `${server.hostname}:${server.port}`, advertised: `${listener.advertisedHost}:${listener.advertisedPort}`, listener: listener.name });
    }
  } catch (error) {
    for (const server of bound) server.stop(true);
    broker.close();
    throw error;
  }
  const listener = bound[0]!;
  if (config.advertisedPort === 0) config.advertisedPort = listener.port;
  // Links start once the log is open and the listener up: local producers are served whatever the central cluster does.
  const uplink = config.uplink && config.uplink.links.length > 0 ? new Uplink(config.uplink, broker) : null;
  let registry: SchemaRegistry | null = null;
  let webConsole: WebConsole | null = null;
  if (config.registryListen) {
    try {
      webConsole = new WebConsole({ broker, uplink, registry: () => registry, listeners: () => security.listeners.map(({ config: listenerConfig }) => listenerConfig.name), startedAtMs: Date.now() });
      const routes = withConsole(operationsRoute(broker, uplink), webConsole);
      const route = security.httpAuth ? requireHttpBasic(routes, security.sasl.credentials, metrics, security.httpRoles) : routes;
      registry = startSchemaRegistry(broker.topics, config.registryListen.host, config.registryListen.port, route, security.httpTls ?? undefined);
      attachRecordValidator(broker, registry.recordValidator);
      if (uplink) uplink.schemaStore = registry.store;
    } catch (error) {
      for (const server of bound) server.stop(true);
      void uplink?.stop();
      broker.close();
      throw error;
    }
  }

  return {
    broker,
    host: listener.hostname,
    port: listener.port,
    listeners: security.listeners.map(({ config: listenerConfig }, index) => ({
      name: listenerConfig.name,
      securityProtocol: listenerConfig.securityProtocol,
      host: bound[index]!.hostname,
      port: bound[index]!.port,
      advertisedHost: listenerConfig.advertisedHost,
      advertisedPort: listenerConfig.advertisedPort,
    })),
    registry,
    uplink,
    get connectionCount() {
      return connections.size;
    },
    async stop() {
      // Stop accepting, let parked long polls answer and in-flight responses leave, then close.
      for (const server of bound) server.stop(false);
      clearInterval(idleSweep);
      clearInterval(heapCheck);
      await uplink?.stop();
      webConsole?.stop();
      registry?.stop();
      broker.close();
      await Bun.sleep(0);
      for (const connection of connections) connection.close();
      connections.clear();
      for (const server of bound) server.stop(true);
    },
  };
}

/** The operations paths first, then the web console's (/ui/, and / for a browser). */
function withConsole(operations: OperationsRoute, webConsole: WebConsole): OperationsRoute {
  return (request, clientAddress, caller) => operations(request, clientAddress, caller) ?? webConsole.route(request, clientAddress, caller);
}

function sumOver<T>(items: Iterable<T>, read: (item: T) => number): number {
  let sum = 0;
  for (const item of items) sum += read(item);
  return sum;
}

/**
 * /metrics (Prometheus), /health (the process serves), /ready (log recovered, listener up) and /uplinks (each link's
 * state, positions and lag, as JSON) on the HTTP listener.
 */
function operationsRoute(broker: Broker, uplink: Uplink | null): OperationsRoute {
  const { metrics } = broker;
  return (request) => {
    if (request.method !== "GET") return null;
    switch (new URL(request.url).pathname) {
      case "/metrics":
        return new Response(metrics.registry.render(), { headers: { "content-type": "text/plain; version=0.0.4" } });
      case "/health":
        return Response.json({ status: "ok" });
      case "/uplinks":
        return Response.json(uplink ? uplink.status() : { edgeId: null, links: [] });
      case "/ready":
        // The Kafka listener is up and the log recovered before the HTTP listener starts; closing means not ready.
        return broker.closing ? Response.json({ status: "stopping" }, { status: 503 }) : Response.json({ status: "ready" });
    }
    return null;
  };
}
