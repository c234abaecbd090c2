// The central cluster as the uplink sees it: one connection per broker, opened on first use, the leaders of the
// partitions it writes, and the transaction coordinator. Any failure closes the whole session (the link reconnects
// with backoff and re-reads its position), so nothing here retries on its own beyond what Kafka calls retriable
// during start-up (coordinator loading, concurrent transactions).

import { KafkaConnection, KafkaConnectionError, type KafkaConnectionOptions } from "../client/kafka-connection.ts";
import { limits } from "../config.ts";
import { ErrorCode, errorName } from "../protocol/error-codes.ts";
import type { LinkConfig } from "./link-config.ts";

/** An error the link reports in its status; `retriable: false` errors still retry, at the backoff's cap. */
export class UplinkError extends Error {
  override name = "UplinkError";
  constructor(
    message: string,
    readonly kind: "connect" | "auth" | "fenced" | "config" | "remote" | "timeout" = "remote",
  ) {
    super(message);
  }
}

/** Any failure as the link reports it: a connection's failure keeps its kind (timeout, auth, connect, ...). */
export function asUplinkError(error: unknown): UplinkError {
  if (error instanceof UplinkError) return error;
  if (error instanceof KafkaConnectionError) {
    const kinds: Record<KafkaConnectionError["kind"], UplinkError["kind"]> = { connect: "connect", closed: "connect", timeout: "timeout", auth: "auth", unsupported: "config", protocol: "remote", busy: "remote" };
    return new UplinkError(error.message, kinds[error.kind]);
  }
  return new UplinkError((error as Error)?.message ?? String(error));
}

export interface RemotePartitions {
  /** Partition count, or an error code for the topic. */
  partitions: number;
  errorCode: number;
  /** Leader node per partition index (-1: none). */
  leaders: number[];
}

const API = { produce: 0, fetch: 1, listOffsets: 2, metadata: 3, findCoordinator: 10, apiVersions: 18, createTopics: 19, initProducerId: 22, addPartitionsToTxn: 24, endTxn: 26, describeConfigs: 32 } as const;
/** DescribeConfigs resource type of a topic. */
const RESOURCE_TYPE_TOPIC = 2;

export class CentralCluster {
  private readonly connections = new Map<number, Promise<KafkaConnection>>();
  private readonly coordinators = new Map<string, Promise<KafkaConnection>>();
  private readonly brokers = new Map<number, { host: string; port: number }>();
  private readonly topics = new Map<string, RemotePartitions>();
  private closed = false;
  /** Set when any connection closes: the session ends and the link starts over. */
  failure: Error | null = null;
  onFailure: ((error: Error) => void) | null = null;

  private constructor(
    private readonly link: LinkConfig,
    private readonly clientId: string,
    private readonly bootstrap: KafkaConnection,
  ) {
    this.watch(bootstrap);
  }

  /** Connects to the first bootstrap server that answers (in order, starting at a rotating index). */
  static async connect(link: LinkConfig, clientId: string, attempt: number): Promise<CentralCluster> {
    const errors: string[] = [];
    for (let i = 0; i < link.bootstrapServers.length; i++) {
      const server = link.bootstrapServers[(attempt + i) % link.bootstrapServers.length]!;
      try {
        const connection = await KafkaConnection.connect(connectionOptions(link, clientId, server.host, server.port));
        return new CentralCluster(link, clientId, connection);
      } catch (error) {
        if (error instanceof KafkaConnectionError && error.kind === "auth") throw new UplinkError(`${server.host}:${server.port}: ${error.message}`, "auth");
        errors.push(`${server.host}:${server.port}: ${(error as Error).message}${tlsHint(link, error as Error)}`);
      }
    }
    throw new UplinkError(`no bootstrap server reachable (${errors.join("; ")})`, "connect");
  }

  /** The central cluster speaks the transaction APIs (exactly-once needs them). */
  get transactionsSupported(): boolean {
    const versions = this.bootstrap.apiVersions;
    return [API.initProducerId, API.addPartitionsToTxn, API.endTxn, API.findCoordinator].every((key) => versions.has(key));
  }

  /** Refreshes brokers and the given topics' partitions and leaders. */
  async refreshMetadata(topicNames: string[]): Promise<void> {
    const version = this.bootstrap.version(API.metadata, 12);
    const answer = await this.bootstrap.call(API.metadata, version, {
      topics: topicNames.map((name) => ({ name, topicId: new Uint8Array(16) })),
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    for (const broker of answer.brokers) this.brokers.set(broker.nodeId, { host: broker.host, port: broker.port });
    for (const topic of answer.topics) {
      if (topic.name === null) continue;
      const leaders: number[] = [];
      for (const partition of topic.partitions) leaders[partition.partitionIndex] = partition.leaderId;
      this.topics.set(topic.name, { partitions: topic.partitions.length, errorCode: topic.errorCode, leaders: Array.from(leaders, (leader) => leader ?? -1) });
    }
  }

  remoteTopic(name: string): RemotePartitions | undefined {
    return this.topics.get(name);
  }

  /** Creates topics (CreateTopics to any broker); TOPIC_ALREADY_EXISTS counts as success. Returns errors by topic. */
  async createTopics(specs: { name: string; partitions: number; configs?: Record<string, string> }[]): Promise<Map<string, string>> {
    const version = this.bootstrap.version(API.createTopics, 7);
    const answer = await this.bootstrap.call(API.createTopics, version, {
      topics: specs.map((spec) => ({
        name: spec.name,
        numPartitions: spec.partitions,
        replicationFactor: this.link.remoteReplicationFactor,
        assignments: [],
        configs: Object.entries(spec.configs ?? {}).map(([name, value]) => ({ name, value })),
      })),
      timeoutMs: this.link.requestTimeoutMs,
      validateOnly: false,
    });
    const errors = new Map<string, string>();
    for (const topic of answer.topics) {
      if (topic.errorCode !== ErrorCode.NONE && topic.errorCode !== ErrorCode.TOPIC_ALREADY_EXISTS) errors.set(topic.name, `${errorName(topic.errorCode)}${topic.errorMessage ? `: ${topic.errorMessage}` : ""}`);
    }
    return errors;
  }

  /**
   * Each topic's max.message.bytes (DescribeConfigs to any broker). A topic the answer refuses (no DescribeConfigs
   * permission) or leaves out is missing from the map, as is every topic when the cluster has no DescribeConfigs.
   */
  async maxMessageBytes(topicNames: string[]): Promise<Map<string, number>> {
    const found = new Map<string, number>();
    if (topicNames.length === 0 || !this.bootstrap.apiVersions.has(API.describeConfigs)) return found;
    const version = this.bootstrap.version(API.describeConfigs, 4);
    const answer = await this.bootstrap.call(API.describeConfigs, version, {
      resources: topicNames.map((name) => ({ resourceType: RESOURCE_TYPE_TOPIC, resourceName: name, configurationKeys: ["max.message.bytes"] })),
      includeSynonyms: false,
      includeDocumentation: false,
    });
    for (const result of answer.results) {
      if (result.errorCode !== ErrorCode.NONE) continue;
      const value = Number(result.configs.find((config: { name: string }) => config.name === "max.message.bytes")?.value);
      if (Number.isSafeInteger(value) && value > 0) found.set(result.resourceName, value);
    }
    return found;
  }

  /** The connection to a broker by node id (opened on first use). */
  node(nodeId: number): Promise<KafkaConnection> {
    let connection = this.connections.get(nodeId);
    if (connection) return connection;
    const address = this.brokers.get(nodeId);
    if (!address) return Promise.reject(new UplinkError(`central broker ${nodeId} is not in the metadata`));
    connection = KafkaConnection.connect(connectionOptions(this.link, this.clientId, address.host, address.port)).then((opened) => {
      if (this.closed) opened.close();
      this.watch(opened);
      return opened;
    });
    connection.catch((error) => this.fail(error));
    this.connections.set(nodeId, connection);
    return connection;
  }

  /** The leader's connection for a remote partition. */
  leader(topic: string, partition: number): Promise<KafkaConnection> {
    const leaderId = this.topics.get(topic)?.leaders[partition] ?? -1;
    if (leaderId < 0) return Promise.reject(new UplinkError(`no leader for ${topic}-${partition} on the central cluster`));
    return this.node(leaderId);
  }

  /**
   * The transaction coordinator's connection, found once per session: a coordinator that moves answers
   * NOT_COORDINATOR, which ends the session, and the next one looks again.
   */
  transactionCoordinator(transactionalId: string): Promise<KafkaConnection> {
    let found = this.coordinators.get(transactionalId);
    if (!found) {
      found = this.findTransactionCoordinator(transactionalId);
      this.coordinators.set(transactionalId, found);
      found.catch(() => this.coordinators.delete(transactionalId));
    }
    return found;
  }

  /** FindCoordinator for a transactional id (retried while the coordinator loads). */
  private async findTransactionCoordinator(transactionalId: string): Promise<KafkaConnection> {
    const version = this.bootstrap.version(API.findCoordinator, 6);
    for (let attempt = 0; ; attempt++) {
      const answer = await this.bootstrap.call(API.findCoordinator, version, { key: transactionalId, keyType: 1, coordinatorKeys: [transactionalId] });
      const coordinator = version >= 4 ? answer.coordinators[0] : answer;
      const errorCode = coordinator?.errorCode ?? ErrorCode.COORDINATOR_NOT_AVAILABLE;
      if (errorCode === ErrorCode.NONE) {
        this.brokers.set(coordinator.nodeId, { host: coordinator.host, port: coordinator.port });
        return this.node(coordinator.nodeId);
      }
      if (!isCoordinatorLoading(errorCode) || attempt >= 20) throw new UplinkError(`FindCoordinator(transaction ${transactionalId}): ${errorName(errorCode)}`);
      await Bun.sleep(100 * Math.min(attempt + 1, 10));
    }
  }

  /** The connection used for cluster-wide requests (Metadata, CreateTopics, positions reads on a one-node cluster). */
  get any(): KafkaConnection {
    return this.bootstrap;
  }

  close(): void {
    this.closed = true;
    this.bootstrap.close();
    for (const connection of this.connections.values()) connection.then((opened) => opened.close(), () => {});
    this.connections.clear();
  }

  private watch(connection: KafkaConnection): void {
    connection.onClose = (error) => {
      if (!this.closed) this.fail(error ?? new UplinkError("the central broker closed the connection", "connect"));
    };
  }

  private fail(error: Error): void {
    if (this.failure !== null || this.closed) return;
    this.failure = error;
    this.onFailure?.(error);
  }
}

/** TLS certificate codes (OpenSSL's, as Node names them) that mean the chain does not lead to a CA we trust. */
const UNTRUSTED_CHAIN_CODES = new Set(["SELF_SIGNED_CERT_IN_CHAIN", "DEPTH_ZERO_SELF_SIGNED_CERT", "UNABLE_TO_VERIFY_LEAF_SIGNATURE", "UNABLE_TO_GET_ISSUER_CERT", "UNABLE_TO_GET_ISSUER_CERT_LOCALLY"]);

/** What to check when a TLS connection fails: the link's setting that most likely causes it, or "". */
function tlsHint(link: LinkConfig, error: Error): string {
  if (!link.tls || !(error instanceof KafkaConnectionError) || error.kind !== "connect") return "";
  const code = (error.cause as { code?: unknown } | undefined)?.code;
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID") return " (the broker's certificate does not name this host: use a name it has, or ssl.endpoint.identification.algorithm=none)";
  if (typeof code === "string" && UNTRUSTED_CHAIN_CODES.has(code)) return ` (${code}: is ssl.ca.location the CA that signed the central broker's certificate?)`;
  if (link.tls.cert === undefined && error.message.includes("CERTIFICATE_REQUIRED")) return " (the broker requires a client certificate: set ssl.certificate.location and ssl.key.location)";
  // TLS 1.3 checks the client certificate after the client's handshake ended: a refusal shows as a bare close.
  if (error.cause == null && link.tls.cert !== undefined && /closed the connection$/.test(error.message)) {
    return " (right after the TLS handshake: a broker requiring client certificates closes like this when it refuses ours; is ssl.certificate.location signed by a CA it trusts?)";
  }
  return "";
}

export function isCoordinatorLoading(errorCode: number): boolean {
  return errorCode === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS || errorCode === ErrorCode.COORDINATOR_NOT_AVAILABLE || errorCode === ErrorCode.NOT_COORDINATOR;
}

function connectionOptions(link: LinkConfig, clientId: string, host: string, port: number): KafkaConnectionOptions {
  return {
    host,
    port,
    clientId,
    tls: link.tls ? { ca: link.tls.ca, cert: link.tls.cert, key: link.tls.key, checkHostname: link.tls.checkHostname } : null,
    sasl: link.sasl,
    connectTimeoutMs: Math.min(limits.uplinkConnectTimeoutMs, link.requestTimeoutMs),
    requestTimeoutMs: link.requestTimeoutMs,
  };
}
