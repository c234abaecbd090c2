// Produce and fetch byte-rate quotas per user and client id, as Kafka's ClientQuotaManager applies them: the most
// specific configured quota wins (user+client-id, user+default client, user, default user+client-id, default user+
// default client, default user, client-id, default client-id), the bytes are recorded in a windowed rate shared by
// everyone the matched entry covers, and a client over its quota gets throttle_time_ms in the response while the
// connection is muted for that time (Connection.mute, as Kafka ≥ 2.0 does; KIP-219 clients also back off).
// Not emulated: request_percentage and controller_mutation_rate are stored and described but not enforced; acks=0
// produce bytes are recorded but, having no response, do not mute the connection; clients older than KIP-219
// (Produce < v6, Fetch < v8), whose response Kafka itself delays, get it at once and the same mute afterwards.

import type { Broker } from "../broker.ts";
import { limits } from "../config.ts";
import { CLOSE_WITHOUT_RESPONSE, NO_RESPONSE, type ApiHandler } from "../handlers/handler.ts";
import { RateSensor, type RateWindow } from "./rate.ts";
import { QuotaStore, type QuotaEntity, type QuotaKey } from "./quota-store.ts";

export type QuotaKind = "produce" | "fetch";
const KEY_OF_KIND: Record<QuotaKind, QuotaKey> = { produce: "producer_byte_rate", fetch: "consumer_byte_rate" };

/** Sensors kept before stale ones are swept (each is ~11 samples). */
const SENSORS_SWEEP_AT = 10_000;

export class QuotaManager {
  private readonly sensors = new Map<string, RateSensor>();

  constructor(
    readonly store: QuotaStore,
    private readonly window: RateWindow = { windowMs: limits.quotaWindowMs, windowCount: limits.quotaWindowCount },
  ) {}

  /**
   * The quota for the user and client id and the entity it was configured on, in Kafka's order of precedence; the
   * sensor is shared by all connections that entry covers (a default applies to each user / client id separately).
   */
  resolve(kind: QuotaKind, user: string, clientId: string): { quota: number; sensorKey: string } | null {
    const key = KEY_OF_KIND[kind];
    const candidates: [QuotaEntity, string, string][] = [
      [{ user, "client-id": clientId }, user, clientId],
      [{ user, "client-id": null }, user, clientId],
      [{ user }, user, ""],
      [{ user: null, "client-id": clientId }, user, clientId],
      [{ user: null, "client-id": null }, user, clientId],
      [{ user: null }, user, ""],
      [{ "client-id": clientId }, "", clientId],
      [{ "client-id": null }, "", clientId],
    ];
    for (const [entity, userTag, clientTag] of candidates) {
      const quota = this.store.get(entity)?.values.get(key);
      if (quota !== undefined) return { quota, sensorKey: `${kind}\u0000${userTag}\u0000${clientTag}` };
    }
    return null;
  }

  /** Records bytes against the matching quota and returns the throttle time in ms (0: within quota or none set). */
  record(kind: QuotaKind, principal: string, clientId: string | null, bytes: number, nowMs = performance.now()): number {
    if (this.store.size === 0) return 0;
    const resolved = this.resolve(kind, userOf(principal), clientId ?? "");
    if (resolved === null) return 0;
    let sensor = this.sensors.get(resolved.sensorKey);
    if (!sensor) {
      if (this.sensors.size >= SENSORS_SWEEP_AT) this.sweep(nowMs);
      this.sensors.set(resolved.sensorKey, (sensor = new RateSensor(this.window)));
    }
    sensor.record(bytes, nowMs);
    return sensor.throttleTimeMs(resolved.quota, nowMs);
  }

  private sweep(nowMs: number): void {
    for (const [key, sensor] of this.sensors) if (sensor.isStale(nowMs)) this.sensors.delete(key);
  }
}

/** The `user` entity name of a principal: `User:alice` → `alice`. */
export function userOf(principal: string): string {
  return principal.startsWith("User:") ? principal.slice(5) : principal;
}

const managers = new WeakMap<Broker, QuotaManager>();

/** The broker's quota manager, loading the data folder's quotas on first use. */
export function quotasFor(broker: Broker): QuotaManager {
  let manager = managers.get(broker);
  if (!manager) {
    const window = broker.config.quotaWindow ?? { windowMs: limits.quotaWindowMs, windowCount: limits.quotaWindowCount };
    managers.set(broker, (manager = new QuotaManager(new QuotaStore(broker.config.dataDir), window)));
  }
  return manager;
}

function produceBytes(request: unknown): number {
  let bytes = 0;
  for (const topic of (request as { topicData: { partitionData: { records: Uint8Array | null }[] }[] }).topicData) {
    for (const partition of topic.partitionData) bytes += partition.records?.length ?? 0;
  }
  return bytes;
}

function fetchBytes(response: unknown): number {
  let bytes = 0;
  for (const topic of (response as { responses?: { partitions?: { records?: Uint8Array | null }[] }[] }).responses ?? []) {
    for (const partition of topic.partitions ?? []) bytes += partition.records?.length ?? 0;
  }
  return bytes;
}

/**
 * Wraps the Produce or Fetch handler: records its bytes (produce: the record batches received; fetch: those sent)
 * and puts the throttle time into the response, which the connection then honours by muting itself.
 */
export function withByteRateQuota<Request, Response>(handler: ApiHandler<Request, Response>, kind: QuotaKind): ApiHandler<Request, Response> {
  return {
    apiKey: handler.apiKey,
    minVersion: handler.minVersion,
    maxVersion: handler.maxVersion,
    handle(context, request) {
      const quotas = quotasFor(context.broker);
      // No quota configured (record() would return 0 without recording): the handler's own result, no wrapper promise.
      if (quotas.store.size === 0) return handler.handle(context, request);
      // Counted before handling, so that the closure below does not keep the request (and the frame its record views
      // point into) alive until an acks=-1 Produce's fsync: that retention alone tripled the page faults of a produce.
      const producedBytes = kind === "produce" ? produceBytes(request) : 0;
      const apply = <Result>(response: Result): Result => {
        const bytes = kind === "produce" ? producedBytes : response === NO_RESPONSE || response === CLOSE_WITHOUT_RESPONSE ? 0 : fetchBytes(response);
        const throttleTimeMs = quotas.record(kind, context.principal, context.clientId, bytes);
        if (throttleTimeMs > 0 && response !== NO_RESPONSE && response !== CLOSE_WITHOUT_RESPONSE) {
          // The handler's own throttle (a refused Produce, src/log/produce-admission.ts) stays when it is longer.
          const throttled = response as { throttleTimeMs: number };
          throttled.throttleTimeMs = Math.max(throttled.throttleTimeMs, throttleTimeMs);
          context.broker.metrics.quotaThrottles.inc({ kind });
          context.broker.metrics.quotaThrottleTime.inc({ kind }, throttleTimeMs / 1000);
        }
        return response;
      };
      const result = handler.handle(context, request);
      return result instanceof Promise ? result.then(apply) : apply(result);
    },
  };
}
