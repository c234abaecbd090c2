// The answer Kafka gives to a request it refuses with one error code, per API (Kafka's AbstractRequest
// .getErrorResponse): every partition, topic, group or transaction the request names gets the code, nothing is
// done. Fault injection (faults.ts) answers with these instead of calling the handler.
//
// For the APIs with partitions, `refused` picks which ones get the error; the others are returned in `rest` as a
// request of the same API, for the handler to answer, and `merge` joins both answers (one Produce can fail on one
// partition and succeed on another, as with a partition whose leader moved).

/** Which (topic, partition) pairs of the request the fault covers. */
export type PartitionFilter = (topic: string, partition: number) => boolean;

export interface ErrorAnswerPlan {
  /** The error answer for the refused part. */
  answer: object;
  /** The rest of the request for the handler, or null when nothing is left. */
  rest: object | null;
  /** Joins the handler's answer to the rest with the error answer. */
  merge(restAnswer: object, errorAnswer: object): object;
}

/** A topic's name in a request: its name, or (Produce and Fetch v13+) the name of its topicId. */
export type TopicNameOf = (topic: { name?: string; topic?: string; topicId?: Uint8Array }) => string;

type Builder = (request: any, errorCode: number, refused: PartitionFilter, nameOf: TopicNameOf) => ErrorAnswerPlan;

const whole = (answer: object): ErrorAnswerPlan => ({ answer, rest: null, merge: (_rest, error) => error });

/** Splits topics[].partitions[] of a request into the refused and the rest; the arrays' field names vary by API. */
function split<T extends object>(topics: T[], topicName: (topic: any) => string, partitionsKey: string, partitionIndex: (partition: any) => number, refused: PartitionFilter) {
  const failed: { topic: T; partitions: any[] }[] = [];
  const kept: T[] = [];
  for (const topic of topics) {
    const partitions = (topic as Record<string, any>)[partitionsKey] as any[];
    const fail = partitions.filter((partition) => refused(topicName(topic), partitionIndex(partition)));
    const keep = partitions.filter((partition) => !refused(topicName(topic), partitionIndex(partition)));
    if (fail.length > 0) failed.push({ topic, partitions: fail });
    if (keep.length > 0) kept.push({ ...topic, [partitionsKey]: keep });
  }
  return { failed, kept };
}

const produce: Builder = (request, errorCode, refused, nameOf) => {
  const { failed, kept } = split(request.topicData, nameOf, "partitionData", (p) => p.index, refused);
  return {
    answer: {
      throttleTimeMs: 0,
      responses: failed.map(({ topic, partitions }: any) => ({
        name: topic.name,
        topicId: topic.topicId,
        partitionResponses: partitions.map((p: any) => ({ index: p.index, errorCode, baseOffset: -1n, logAppendTimeMs: -1n, logStartOffset: -1n, recordErrors: [], errorMessage: null })),
      })),
    },
    rest: kept.length > 0 ? { ...request, topicData: kept } : null,
    merge: (rest: any, error: any) => ({ ...rest, responses: [...rest.responses, ...error.responses] }),
  };
};

const fetch: Builder = (request, errorCode, refused, nameOf) => {
  const { failed, kept } = split(request.topics, nameOf, "partitions", (p) => p.partition, refused);
  return {
    answer: {
      throttleTimeMs: 0,
      errorCode: 0,
      sessionId: request.sessionId,
      responses: failed.map(({ topic, partitions }: any) => ({
        topic: topic.topic,
        topicId: topic.topicId,
        partitions: partitions.map((p: any) => ({ partitionIndex: p.partition, errorCode, highWatermark: -1n, lastStableOffset: -1n, logStartOffset: -1n, abortedTransactions: null, preferredReadReplica: -1, records: null })),
      })),
    },
    rest: kept.length > 0 ? { ...request, topics: kept } : null,
    merge: (rest: any, error: any) => ({ ...rest, responses: [...rest.responses, ...error.responses] }),
  };
};

const listOffsets: Builder = (request, errorCode, refused) => {
  const { failed, kept } = split(request.topics, (topic: any) => topic.name, "partitions", (p) => p.partitionIndex, refused);
  return {
    answer: {
      throttleTimeMs: 0,
      topics: failed.map(({ topic, partitions }: any) => ({
        name: topic.name,
        partitions: partitions.map((p: any) => ({ partitionIndex: p.partitionIndex, errorCode, oldStyleOffsets: [], timestamp: -1n, offset: -1n, leaderEpoch: -1 })),
      })),
    },
    rest: kept.length > 0 ? { ...request, topics: kept } : null,
    merge: (rest: any, error: any) => ({ ...rest, topics: [...rest.topics, ...error.topics] }),
  };
};

/** APIs answered per topic and partition, with partitions as numbers or objects. */
function perPartition(topicsKey: string, partitionsKey: string, index: (p: any) => number, answerTopics: string, answerPartitions: string, errorKey = "errorCode", extra: object = {}): Builder {
  return (request, errorCode) =>
    whole({
      throttleTimeMs: 0,
      [answerTopics]: (request[topicsKey] ?? []).map((topic: any) => ({
        name: topic.name,
        [answerPartitions]: topic[partitionsKey].map((p: any) => ({ partitionIndex: index(p), [errorKey]: errorCode, ...extra })),
      })),
    });
}

const metadata: Builder = (request, errorCode) =>
  whole({
    throttleTimeMs: 0,
    brokers: [],
    clusterId: null,
    controllerId: -1,
    errorCode,
    topics: (request.topics ?? []).map((topic: any) => ({ errorCode, name: topic.name, topicId: topic.topicId, isInternal: false, partitions: [] })),
  });

const findCoordinator: Builder = (request, errorCode) =>
  whole({
    throttleTimeMs: 0,
    errorCode,
    errorMessage: null,
    nodeId: -1,
    host: "",
    port: -1,
    coordinators: (request.coordinatorKeys ?? []).map((key: string) => ({ key, nodeId: -1, host: "", port: -1, errorCode, errorMessage: null })),
  });

const offsetFetch: Builder = (request, errorCode) =>
  whole({
    throttleTimeMs: 0,
    errorCode,
    topics: [],
    groups: (request.groups ?? []).map((group: any) => ({ groupId: group.groupId, topics: [], errorCode })),
  });

const addPartitionsToTxn: Builder = (request, errorCode) => {
  const topicResults = (topics: any[]) => topics.map((topic) => ({ name: topic.name, resultsByPartition: topic.partitions.map((partition: number) => ({ partitionIndex: partition, partitionErrorCode: errorCode })) }));
  return whole({
    throttleTimeMs: 0,
    errorCode: 0,
    resultsByTransaction: (request.transactions ?? []).map((transaction: any) => ({ transactionalId: transaction.transactionalId, topicResults: topicResults(transaction.topics) })),
    resultsByTopicV3AndBelow: topicResults(request.v3AndBelowTopics ?? []),
  });
};

const topLevel: Builder = (_request, errorCode) => whole({ throttleTimeMs: 0, errorCode });

const BUILDERS: Record<number, Builder> = {
  0: produce,
  1: fetch,
  2: listOffsets,
  3: metadata,
  8: perPartition("topics", "partitions", (p) => p.partitionIndex, "topics", "partitions"),
  9: offsetFetch,
  10: findCoordinator,
  11: (_request, errorCode) => whole({ throttleTimeMs: 0, errorCode, generationId: -1, protocolType: null, protocolName: null, leader: "", memberId: "", members: [] }),
  12: topLevel,
  13: (_request, errorCode) => whole({ throttleTimeMs: 0, errorCode, members: [] }),
  14: (_request, errorCode) => whole({ throttleTimeMs: 0, errorCode, protocolType: null, protocolName: null, assignment: new Uint8Array(0) }),
  15: (request, errorCode) => whole({ throttleTimeMs: 0, groups: request.groups.map((groupId: string) => ({ errorCode, errorMessage: null, groupId, groupState: "", protocolType: "", protocolData: "", members: [] })) }),
  16: (_request, errorCode) => whole({ throttleTimeMs: 0, errorCode, groups: [] }),
  17: (_request, errorCode) => whole({ errorCode, mechanisms: [] }),
  19: (request, errorCode) => whole({ throttleTimeMs: 0, topics: request.topics.map((topic: any) => ({ name: topic.name, errorCode, errorMessage: null, numPartitions: -1, replicationFactor: -1, configs: null })) }),
  20: (request, errorCode) =>
    whole({
      throttleTimeMs: 0,
      responses: [...(request.topicNames ?? []).map((name: string) => ({ name, errorCode, errorMessage: null })), ...(request.topics ?? []).map((topic: any) => ({ name: topic.name, topicId: topic.topicId, errorCode, errorMessage: null }))],
    }),
  21: perPartition("topics", "partitions", (p) => p.partitionIndex, "topics", "partitions", "errorCode", { lowWatermark: -1n }),
  22: (_request, errorCode) => whole({ throttleTimeMs: 0, errorCode, producerId: -1n, producerEpoch: -1 }),
  24: addPartitionsToTxn,
  25: topLevel,
  26: topLevel,
  28: perPartition("topics", "partitions", (p) => p.partitionIndex, "topics", "partitions"),
  36: (_request, errorCode) => whole({ errorCode, errorMessage: null, authBytes: new Uint8Array(0), sessionLifetimeMs: 0n }),
  37: (request, errorCode) => whole({ throttleTimeMs: 0, results: request.topics.map((topic: any) => ({ name: topic.name, errorCode, errorMessage: null })) }),
  42: (request, errorCode) => whole({ throttleTimeMs: 0, results: request.groupsNames.map((groupId: string) => ({ groupId, errorCode })) }),
  47: (_request, errorCode) => whole({ throttleTimeMs: 0, errorCode, topics: [] }),
};

/** The APIs an error can be injected into (the others are admin APIs whose refusal clients do not retry). */
export const ERROR_ANSWER_API_KEYS: readonly number[] = Object.keys(BUILDERS).map(Number);

/** The plan to refuse the request (or its partitions that `refused` picks) with errorCode; null when the API has no builder. */
export function planErrorAnswer(apiKey: number, request: unknown, errorCode: number, refused: PartitionFilter, nameOf: TopicNameOf): ErrorAnswerPlan | null {
  const builder = BUILDERS[apiKey];
  return builder ? builder(request, errorCode, refused, nameOf) : null;
}

/** The topics and partitions a request names, for the APIs with them (fault filters by topic or partition). */
export function requestPartitions(apiKey: number, request: any, nameOf: TopicNameOf): { topic: string; partition: number | null }[] {
  const pairs = (topics: any[] | null | undefined, name: (t: any) => string, partitions: (t: any) => any[], index: (p: any) => number) =>
    (topics ?? []).flatMap((topic) => partitions(topic).map((p) => ({ topic: name(topic), partition: index(p) })));
  switch (apiKey) {
    case 0:
      return pairs(request.topicData, nameOf, (t) => t.partitionData, (p) => p.index);
    case 1:
      return pairs(request.topics, nameOf, (t) => t.partitions, (p) => p.partition);
    case 2:
    case 8:
    case 21:
    case 28:
      return pairs(request.topics, (t) => t.name, (t) => t.partitions, (p) => p.partitionIndex);
    case 3:
    case 19:
    case 37:
      return (request.topics ?? []).map((t: any) => ({ topic: t.name, partition: null }));
    case 20:
      return [...(request.topicNames ?? []), ...(request.topics ?? []).map((t: any) => t.name)].map((topic: string) => ({ topic, partition: null }));
    case 24:
      return [...(request.v3AndBelowTopics ?? []), ...(request.transactions ?? []).flatMap((t: any) => t.topics)].flatMap((t: any) => t.partitions.map((partition: number) => ({ topic: t.name, partition })));
  }
  return [];
}
