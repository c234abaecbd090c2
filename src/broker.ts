// The state one kgate node serves: its configuration, its topics, fetch sessions and the long polls waiting.

import type { Config } from "./config.ts";
import { FetchSessionCache } from "./handlers/fetch-sessions.ts";
import { AppendWaiters } from "./log/append-waiters.ts";
import { MemoryPartitionLog } from "./log/memory-log.ts";
import { TopicStore, type PartitionLogFactory, type Topic } from "./metadata/topic-store.ts";
import { ErrorCode } from "./protocol/error-codes.ts";
import { createGatewayMetrics } from "./metrics/metrics.ts";

export class Broker {
  readonly topics: TopicStore;
  readonly appendWaiters = new AppendWaiters();
  readonly fetchSessions = new FetchSessionCache();
  readonly metrics = createGatewayMetrics();
  /** Set by close(): parked long polls answer with what they have. */
  closing = false;

  constructor(
    readonly config: Config,
    logFactory: PartitionLogFactory = () => new MemoryPartitionLog(),
  ) {
    this.topics = new TopicStore(logFactory);
  }

  /** The topic, created with the default partition count when unknown and auto-creation is on and allowed. */
  findOrCreateTopic(name: string, allowAutoCreate: boolean): { topic: Topic } | { errorCode: number } {
    const topic = this.topics.get(name);
    if (topic) return { topic };
    if (!allowAutoCreate || !this.config.autoCreateTopics) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
    const created = this.topics.create(name, this.config.defaultPartitions);
    if (created.topic) return { topic: created.topic };
    return { errorCode: created.errorCode };
  }

  close(): void {
    this.closing = true;
    this.appendWaiters.wakeAll();
    for (const topic of this.topics.list()) for (const log of topic.partitions) log.close();
  }
}
