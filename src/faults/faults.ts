// Fault injection for users' tests, as franz-go's kfake control functions offer Go tests: refuse the next requests of
// an API with an error code (for one topic or partition if asked), delay answers, close a connection after a request,
// move the group coordinator away for a while, take a partition's leader away, refuse authentication. Each returns a
// handle that undoes it; stop() undoes everything. The dispatcher asks the injector only when one was created for the
// broker (Broker.faults), so a gateway without faults pays one null check per request.
//
// A refused request does nothing: the handler is not called for the refused part (error-answers.ts), exactly as a
// Kafka broker that answers NOT_LEADER_OR_FOLLOWER has not appended. A delayed or closed request is handled normally.

import type { Broker } from "../broker.ts";
import { CLOSE_AFTER_RESPONSE, CLOSE_WITHOUT_RESPONSE, NO_RESPONSE, type RequestContext } from "../handlers/handler.ts";
import { ErrorCode } from "../protocol/error-codes.ts";
import { apiDescriptors } from "../protocol/messages/index.ts";
import { ERROR_ANSWER_API_KEYS, planErrorAnswer, requestPartitions, type TopicNameOf } from "./error-answers.ts";

/** An API by its Kafka name ("Produce", "JoinGroup") or key (0, 11). */
export type ApiRef = string | number;

export interface FaultScope {
  /** How many matching requests it affects; Infinity until undone or forMs passes. Default 1. */
  count?: number;
  /** It ends this long after it was set, whatever count says. */
  forMs?: number;
}

export interface FailOptions extends FaultScope {
  /** Kafka's error code (ErrorCode.NOT_LEADER_OR_FOLLOWER...). */
  errorCode: number;
  /** Only requests naming this topic; for APIs with partitions, only its partitions get the error. */
  topic?: string;
  /** With topic: only this partition. */
  partition?: number;
}

export interface CloseOptions extends FaultScope {
  /** false: close without answering (the request was handled: a Produce was appended, its answer lost). Default true. */
  answer?: boolean;
}

export interface FaultHandle {
  /** Requests it affected so far. */
  readonly hits: number;
  /** False once undone, used up or expired. */
  readonly active: boolean;
  undo(): void;
}

type FaultAction =
  | { kind: "fail"; errorCode: number; topic?: string; partition?: number }
  | { kind: "delay"; ms: number }
  | { kind: "close"; answer: boolean }
  | { kind: "leaderless"; topic: string; partition: number };

interface Fault {
  apiKeys: ReadonlySet<number>;
  action: FaultAction;
  remaining: number;
  /** performance.now() after which it no longer applies. */
  until: number;
  hits: number;
  undone: boolean;
  /** Ends with this one (the Metadata side of a lost leader ends with its refusals). */
  partner?: Fault;
}

function isActive(fault: Fault, now: number): boolean {
  return !fault.undone && fault.remaining > 0 && now <= fault.until && (fault.partner === undefined || isActive(fault.partner, now));
}

const API_KEYS_BY_NAME = new Map(apiDescriptors.map((descriptor) => [descriptor.name.toLowerCase(), descriptor.apiKey]));
/** APIs whose requests name topics: the ones a topic filter applies to. */
const TOPIC_API_KEYS = new Set([0, 1, 2, 3, 8, 19, 20, 21, 24, 28, 37]);
/** The group coordinator's APIs and the transaction coordinator's (one node plays both). */
const COORDINATOR_API_KEYS = [8, 9, 11, 12, 13, 14, 15, 22, 24, 25, 26, 28, 42, 47];
const PARTITION_LEADER_API_KEYS = [0, 1, 2];
const METADATA = 3;
const SASL_AUTHENTICATE = 36;

export class FaultInjector {
  private faults: Fault[] = [];

  constructor(private readonly broker: Broker) {
    broker.faults = this;
  }

  /** The next `count` requests of the API get errorCode (each refused partition, topic or group; nothing done). */
  failNext(api: ApiRef, options: FailOptions): FaultHandle {
    const apiKey = apiKeyOf(api);
    if (!ERROR_ANSWER_API_KEYS.includes(apiKey)) {
      throw new Error(`failNext: ${apiName(apiKey)} is not supported (supported: ${ERROR_ANSWER_API_KEYS.map(apiName).join(", ")})`);
    }
    if (options.topic !== undefined && !TOPIC_API_KEYS.has(apiKey)) throw new Error(`failNext: ${apiName(apiKey)} requests name no topics; drop the topic option`);
    if (options.partition !== undefined && options.topic === undefined) throw new Error("failNext: partition needs topic");
    return this.add([apiKey], { kind: "fail", errorCode: options.errorCode, topic: options.topic, partition: options.partition }, options);
  }

  /** The next `count` answers of the API leave `ms` later (the request itself is handled at once). */
  delay(api: ApiRef, ms: number, scope: FaultScope = {}): FaultHandle {
    if (!(ms >= 0)) throw new Error(`delay: ms must be ≥ 0, got ${ms}`);
    return this.add([apiKeyOf(api)], { kind: "delay", ms }, scope);
  }

  /** The connection closes after the next `count` requests of the API (after their answer unless answer is false). */
  closeAfter(api: ApiRef, options: CloseOptions = {}): FaultHandle {
    return this.add([apiKeyOf(api)], { kind: "close", answer: options.answer ?? true }, options);
  }

  /**
   * The coordinator moves away: the group and transaction coordinators' APIs answer NOT_COORDINATOR and FindCoordinator
   * COORDINATOR_NOT_AVAILABLE, for forMs (default 1 s) or count requests, then it is back.
   */
  moveCoordinator(scope: FaultScope = {}): FaultHandle {
    const limited = { count: scope.count ?? Infinity, forMs: scope.forMs ?? (scope.count === undefined ? 1_000 : undefined) };
    const moved = this.add(COORDINATOR_API_KEYS, { kind: "fail", errorCode: ErrorCode.NOT_COORDINATOR }, limited);
    const finding = this.add([10], { kind: "fail", errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE }, limited);
    return combine(moved, finding);
  }

  /**
   * The partition has no leader for forMs (default 1 s): Produce, Fetch and ListOffsets for it answer
   * NOT_LEADER_OR_FOLLOWER, and Metadata shows it without a leader (LEADER_NOT_AVAILABLE, leader -1).
   */
  loseLeader(topic: string, partition: number, scope: FaultScope = {}): FaultHandle {
    const limited = { count: scope.count ?? Infinity, forMs: scope.forMs ?? (scope.count === undefined ? 1_000 : undefined) };
    const refused = this.addFault(PARTITION_LEADER_API_KEYS, { kind: "fail", errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, topic, partition }, limited);
    const hidden = this.addFault([METADATA], { kind: "leaderless", topic, partition }, { count: Infinity });
    hidden.partner = refused;
    return combine(this.handleOf(refused), this.handleOf(hidden), () => isActive(refused, performance.now()));
  }

  /** The next `count` SaslAuthenticate requests fail (SASL_AUTHENTICATION_FAILED) and their connections close, as Kafka. */
  rejectAuthentication(scope: FaultScope = {}): FaultHandle {
    const failed = this.add([SASL_AUTHENTICATE], { kind: "fail", errorCode: ErrorCode.SASL_AUTHENTICATION_FAILED }, scope);
    const closed = this.add([SASL_AUTHENTICATE], { kind: "close", answer: true }, scope);
    return combine(failed, closed, () => failed.active);
  }

  /** Undoes every fault. */
  clear(): void {
    for (const fault of this.faults) fault.undone = true;
    this.faults = [];
  }

  /** Called by the dispatcher for every request: the handler's answer, or the injected one. */
  answer(context: RequestContext, request: unknown, handle: (request: unknown) => unknown): unknown {
    const { apiKey } = context;
    const now = performance.now();
    if (this.faults.length > 0) this.faults = this.faults.filter((fault) => isActive(fault, now));
    let result: unknown;
    const nameOf: TopicNameOf = (topic) => topic.name || topic.topic || (topic.topicId ? (this.broker.topics.getById(topic.topicId)?.name ?? "") : "");
    const failing = this.faults.find((fault) => fault.action.kind === "fail" && fault.apiKeys.has(apiKey) && this.touches(fault.action, apiKey, request, nameOf));
    if (failing && failing.action.kind === "fail") {
      const { errorCode, topic, partition } = failing.action;
      const refused = (name: string, index: number) => topic === undefined || (name === topic && (partition === undefined || index === partition));
      const plan = planErrorAnswer(apiKey, request, errorCode, refused, nameOf)!;
      this.hit(failing);
      if (plan.rest === null) result = plan.answer;
      else {
        const restAnswer = handle(plan.rest);
        result = restAnswer instanceof Promise ? restAnswer.then((answer) => plan.merge(answer as object, plan.answer)) : plan.merge(restAnswer as object, plan.answer);
      }
    } else {
      result = handle(request);
    }
    for (const fault of this.faults) {
      if (!fault.apiKeys.has(apiKey) || fault.undone || fault.remaining <= 0) continue;
      const { action } = fault;
      if (action.kind === "leaderless") {
        result = then(result, (answer) => withoutLeader(answer, action.topic, action.partition));
        fault.hits++;
      } else if (action.kind === "delay") {
        this.hit(fault);
        result = Promise.resolve(result).then(async (answer) => {
          await Bun.sleep(action.ms);
          return answer;
        });
      } else if (action.kind === "close") {
        this.hit(fault);
        result = then(result, (answer) => (!action.answer || answer === NO_RESPONSE ? CLOSE_WITHOUT_RESPONSE : typeof answer === "object" && answer !== null ? { ...answer, [CLOSE_AFTER_RESPONSE]: true } : answer));
      }
    }
    return result;
  }

  private touches(action: Extract<FaultAction, { kind: "fail" }>, apiKey: number, request: unknown, nameOf: TopicNameOf): boolean {
    if (action.topic === undefined) return true;
    return requestPartitions(apiKey, request, nameOf).some(({ topic, partition }) => topic === action.topic && (action.partition === undefined || partition === null || partition === action.partition));
  }

  private hit(fault: Fault): void {
    fault.hits++;
    fault.remaining--;
  }

  private add(apiKeys: number[], action: FaultAction, scope: FaultScope): FaultHandle {
    return this.handleOf(this.addFault(apiKeys, action, scope));
  }

  private addFault(apiKeys: number[], action: FaultAction, scope: FaultScope): Fault {
    const count = scope.count ?? 1;
    if (!(count > 0)) throw new Error(`count must be > 0, got ${count}`);
    const fault: Fault = {
      apiKeys: new Set(apiKeys),
      action,
      remaining: count,
      until: scope.forMs === undefined ? Infinity : performance.now() + scope.forMs,
      hits: 0,
      undone: false,
    };
    this.faults.push(fault);
    return fault;
  }

  private handleOf(fault: Fault): FaultHandle {
    return {
      get hits() {
        return fault.hits;
      },
      get active() {
        return isActive(fault, performance.now());
      },
      undo: () => {
        fault.undone = true;
        this.faults = this.faults.filter((other) => other !== fault);
      },
    };
  }
}

function combine(first: FaultHandle, second: FaultHandle, active: () => boolean = () => first.active || second.active): FaultHandle {
  return {
    get hits() {
      return first.hits + second.hits;
    },
    get active() {
      return active();
    },
    undo() {
      first.undo();
      second.undo();
    },
  };
}

function then(result: unknown, change: (answer: unknown) => unknown): unknown {
  return result instanceof Promise ? result.then(change) : change(result);
}

/** A Metadata answer in which the partition has no leader, as Kafka shows one during an election. */
function withoutLeader(answer: unknown, topic: string, partition: number): unknown {
  const metadata = answer as { topics?: { name: string | null; partitions: { partitionIndex: number; errorCode: number; leaderId: number; isrNodes: number[] }[] }[] };
  if (!metadata || !Array.isArray(metadata.topics)) return answer;
  return {
    ...metadata,
    topics: metadata.topics.map((entry) =>
      entry.name !== topic
        ? entry
        : {
            ...entry,
            partitions: entry.partitions.map((p) => (p.partitionIndex === partition ? { ...p, errorCode: ErrorCode.LEADER_NOT_AVAILABLE, leaderId: -1, isrNodes: [] } : p)),
          },
    ),
  };
}

function apiKeyOf(api: ApiRef): number {
  if (typeof api === "number") {
    if (!apiDescriptors.some((descriptor) => descriptor.apiKey === api)) throw new Error(`unknown API key ${api}`);
    return api;
  }
  const key = API_KEYS_BY_NAME.get(api.toLowerCase());
  if (key === undefined) throw new Error(`unknown API ${JSON.stringify(api)} (Kafka's names: Produce, Fetch, JoinGroup...)`);
  return key;
}

function apiName(apiKey: number): string {
  return apiDescriptors.find((descriptor) => descriptor.apiKey === apiKey)?.name ?? String(apiKey);
}
