// Counters, gauges and histograms with labels, rendered in Prometheus' text format. Small on purpose: the hot path
// does one Map lookup and one addition per observation.

export type Labels = Record<string, string | number>;

function labelKey(labels: Labels | undefined): string {
  if (!labels) return "";
  let key = "";
  for (const name in labels) key += `${key ? "," : ""}${name}="${String(labels[name]).replace(/["\\\n]/g, "\\$&")}"`;
  return key;
}

abstract class Metric {
  constructor(readonly name: string, readonly help: string, readonly type: string) {}
  abstract render(lines: string[]): void;
}

export class Counter extends Metric {
  private readonly values = new Map<string, number>();
  constructor(name: string, help: string) {
    super(name, help, "counter");
  }
  inc(labels?: Labels, amount = 1): void {
    const key = labelKey(labels);
    this.values.set(key, (this.values.get(key) ?? 0) + amount);
  }
  get(labels?: Labels): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }
  render(lines: string[]): void {
    for (const [key, value] of this.values) lines.push(`${this.name}${key ? `{${key}}` : ""} ${value}`);
  }
}

export class Gauge extends Metric {
  private readonly values = new Map<string, number | (() => number)>();
  constructor(name: string, help: string) {
    super(name, help, "gauge");
  }
  set(value: number, labels?: Labels): void {
    this.values.set(labelKey(labels), value);
  }
  add(amount: number, labels?: Labels): void {
    const key = labelKey(labels);
    const current = this.values.get(key);
    this.values.set(key, (typeof current === "number" ? current : 0) + amount);
  }
  /** A value read at scrape time. */
  collect(read: () => number, labels?: Labels): void {
    this.values.set(labelKey(labels), read);
  }
  /** The current value (0 when never set). */
  get(labels?: Labels): number {
    const value = this.values.get(labelKey(labels));
    return typeof value === "function" ? value() : (value ?? 0);
  }
  render(lines: string[]): void {
    for (const [key, value] of this.values) lines.push(`${this.name}${key ? `{${key}}` : ""} ${typeof value === "function" ? value() : value}`);
  }
}

/** Series read at scrape time, label sets included (partitions and groups come and go). */
export class CollectedGauge extends Metric {
  constructor(name: string, help: string, private readonly read: () => Iterable<[Labels, number]>) {
    super(name, help, "gauge");
  }
  render(lines: string[]): void {
    for (const [labels, value] of this.read()) {
      const key = labelKey(labels);
      lines.push(`${this.name}${key ? `{${key}}` : ""} ${value}`);
    }
  }
}

export class Histogram extends Metric {
  private readonly series = new Map<string, { counts: number[]; sum: number; count: number }>();
  constructor(name: string, help: string, readonly buckets: readonly number[]) {
    super(name, help, "histogram");
  }
  /** Sum and count of the observations, over the label sets `include` accepts (every one when omitted). */
  totals(include: (labelKey: string) => boolean = () => true): { sum: number; count: number } {
    let sum = 0;
    let count = 0;
    for (const [key, series] of this.series) {
      if (!include(key)) continue;
      sum += series.sum;
      count += series.count;
    }
    return { sum, count };
  }
  observe(value: number, labels?: Labels): void {
    const key = labelKey(labels);
    let series = this.series.get(key);
    if (!series) this.series.set(key, (series = { counts: new Array(this.buckets.length).fill(0), sum: 0, count: 0 }));
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) series.counts[i]!++;
    series.sum += value;
    series.count++;
  }
  render(lines: string[]): void {
    for (const [key, series] of this.series) {
      const prefix = key ? `${key},` : "";
      this.buckets.forEach((bound, i) => lines.push(`${this.name}_bucket{${prefix}le="${bound}"} ${series.counts[i]}`));
      lines.push(`${this.name}_bucket{${prefix}le="+Inf"} ${series.count}`);
      lines.push(`${this.name}_sum${key ? `{${key}}` : ""} ${series.sum}`);
      lines.push(`${this.name}_count${key ? `{${key}}` : ""} ${series.count}`);
    }
  }
}

export class MetricsRegistry {
  private readonly metrics: Metric[] = [];

  counter(name: string, help: string): Counter {
    return this.add(new Counter(name, help));
  }
  gauge(name: string, help: string): Gauge {
    return this.add(new Gauge(name, help));
  }
  histogram(name: string, help: string, buckets: readonly number[]): Histogram {
    return this.add(new Histogram(name, help, buckets));
  }
  collected(name: string, help: string, read: () => Iterable<[Labels, number]>): CollectedGauge {
    return this.add(new CollectedGauge(name, help, read));
  }
  private add<T extends Metric>(metric: T): T {
    this.metrics.push(metric);
    return metric;
  }

  /** Prometheus text exposition format 0.0.4. */
  render(): string {
    const lines: string[] = [];
    for (const metric of this.metrics) {
      lines.push(`# HELP ${metric.name} ${metric.help}`, `# TYPE ${metric.name} ${metric.type}`);
      metric.render(lines);
    }
    return lines.join("\n") + "\n";
  }
}

const LATENCY_BUCKETS_SECONDS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** The gateway's own metrics. */
export function createGatewayMetrics(registry = new MetricsRegistry()) {
  return {
    registry,
    requests: registry.counter("kgate_requests_total", "Requests decoded, by API and version."),
    requestErrors: registry.counter("kgate_request_errors_total", "Requests whose response carried a top-level error, by API and error code."),
    requestLatency: registry.histogram("kgate_request_duration_seconds", "Time from decoding a request to encoding its response.", LATENCY_BUCKETS_SECONDS),
    bytesIn: registry.counter("kgate_network_bytes_received_total", "Bytes received on Kafka connections."),
    producedRecords: registry.counter("kgate_produced_records_total", "Records appended by Produce requests."),
    producedBytes: registry.counter("kgate_produced_bytes_total", "Bytes of record batches appended by Produce requests."),
    fetchedRecords: registry.counter("kgate_fetched_records_total", "Records returned by Fetch requests (a batch counts its offset span)."),
    fetchedBytes: registry.counter("kgate_fetched_bytes_total", "Bytes of record batches returned by Fetch requests."),
    bytesOut: registry.counter("kgate_network_bytes_sent_total", "Bytes of responses encoded on Kafka connections."),
    connections: registry.gauge("kgate_connections", "Open Kafka connections."),
    connectionsPerIpBusiest: registry.gauge("kgate_connections_busiest_address", "Open Kafka connections from the address with the most (against connectionsPerIpMax)."),
    connectionsRefused: registry.counter("kgate_connections_refused_total", "Connections closed at once because a limit was reached, by limit."),
    connectionsClosed: registry.counter("kgate_connections_closed_by_broker_total", "Connections the gateway closed, by reason."),
    authorizationDenials: registry.counter("kgate_authorization_denials_total", "Operations the ACL authorizer refused, by API, operation and resource type."),
    authenticationFailures: registry.counter("kgate_authentication_failures_total", "Failed SASL authentications and refused HTTP Basic credentials, by listener and mechanism."),
    memory: registry.gauge("kgate_process_memory_bytes", "Process memory, by kind."),
    forcedCollections: registry.gauge("kgate_heap_forced_collections", "Full garbage collections kgate asked for because the heap grew by heapGrowthBytesMax (src/util/heap-valve.ts)."),
    forcedCollectionSeconds: registry.gauge("kgate_heap_forced_collection_seconds", "Time spent in the full collections kgate asked for."),
    listenerConnections: registry.gauge("kgate_listener_connections", "Open Kafka connections, by listener."),
    fsyncLatency: registry.histogram("kgate_log_fsync_duration_seconds", "Time one fdatasync of a partition's active segment took (file log).", LATENCY_BUCKETS_SECONDS),
    quotaThrottles: registry.counter("kgate_quota_throttled_responses_total", "Responses that carried a throttle time because a byte-rate quota was exceeded, by kind (produce, fetch)."),
    quotaThrottleTime: registry.counter("kgate_quota_throttle_seconds_total", "Throttle time given to clients over their byte-rate quota, by kind."),
    limits: registry.gauge("kgate_limit", "Configured value of each connection limit (bytes, counts or milliseconds, by name)."),
    pooledFrameBytes: registry.gauge("kgate_pooled_frame_bytes", "Bytes of idle request-frame buffers kept for reuse."),
    bufferMemoryBytes: registry.gauge("kgate_buffer_memory_bytes", "Bytes held against the memory budget over all connections: partly received frames, requests in use, Fetch reads and unsent answers (limit: bufferMemoryMax)."),
    requestsInFlight: registry.gauge("kgate_requests_in_flight", "Requests being handled or waiting for their turn, over all connections (limit: inFlightRequestsPerConnectionMax each)."),
    pendingWriteBytes: registry.gauge("kgate_pending_write_bytes", "Response bytes the sockets have not taken yet, over all connections (limit: pendingWriteBytesMax each)."),
    connectionsPaused: registry.gauge("kgate_connections_paused", "Connections not being read at the moment."),
    uplinkForwardedRecords: registry.counter("kgate_uplink_forwarded_records_total", "Records the uplink forwarded and the central cluster acknowledged (committed, in exactly-once mode), by link, topic and partition."),
    uplinkForwardedBytes: registry.counter("kgate_uplink_forwarded_bytes_total", "Bytes of record batches the uplink forwarded, by link, topic and partition."),
    uplinkDroppedRecords: registry.counter("kgate_uplink_dropped_records_total", "Records deleted before a link forwarded them, by link, topic, partition and reason (drop-oldest, deleted)."),
    uplinkPossibleDuplicates: registry.counter("kgate_uplink_possible_duplicates_total", "At-least-once links: records sent again after their delivery became unknown (crash, lost answer), by link, topic and partition."),
    uplinkPulledRecords: registry.counter("kgate_uplink_pulled_records_total", "Records a link copied from a central topic into a local one (pull.topics), by link, remote topic and partition."),
    uplinkRejectedProduces: registry.counter("kgate_uplink_rejected_produces_total", "Produce partitions refused because a forwarded topic held max.unforwarded.bytes (full.policy=reject), by link and topic."),
    readPauses: registry.counter("kgate_connection_read_pauses_total", "Times a connection stopped being read, by reason (pending_writes, in_flight_requests, memory_budget, throttle)."),
  };
}

export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>;
