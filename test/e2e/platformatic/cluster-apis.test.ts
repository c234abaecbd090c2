// The cluster and partition APIs newer clients and admin tools send, through @platformatic/kafka's own protocol
// functions: DescribeCluster v0–1 (KIP-700, KIP-919 endpoint types), OffsetForLeaderEpoch v2–4 (KIP-320 position
// validation after a leader change) and DescribeTopicPartitions v0 (KIP-966, paged with its cursor).

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Connection, describeClusterV0, describeTopicPartitionsV0, describeClusterV1, offsetForLeaderEpochV2, offsetForLeaderEpochV3, offsetForLeaderEpochV4, Producer, stringSerializers } from "@platformatic/kafka";
import { ErrorCode } from "../../../src/protocol/error-codes.ts";
import { errorCodesOf, startProtocolSession, type ProtocolSession } from "../../helpers/platformatic-protocol.ts";
import type { TestServer } from "../../helpers/server.ts";

let session: ProtocolSession;
let server: TestServer;
let connection: Connection;
beforeAll(async () => {
  session = await startProtocolSession("pk-cluster-apis", { clusterId: "edge-cluster", nodeId: 7 });
  ({ server, connection } = session);
});
afterAll(() => session[Symbol.asyncDispose]());

describe("@platformatic/kafka: DescribeCluster, OffsetForLeaderEpoch, DescribeTopicPartitions", () => {
  test("DescribeCluster: this node at its advertised address; controller endpoints refused", async () => {
    for (const api of [describeClusterV0.api, describeClusterV1.api]) {
      const answer = await api.async(connection, true, 1);
      expect(answer).toMatchObject({ errorCode: 0, clusterId: "edge-cluster", controllerId: 7 });
      expect(answer.brokers).toEqual([expect.objectContaining({ brokerId: 7, host: "127.0.0.1", port: server.port, rack: null })]);
      // No authorizer: every cluster operation (CREATE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE).
      expect(answer.clusterAuthorizedOperations).toBe([5, 7, 8, 9, 10, 11, 12].reduce((bits, operation) => bits | (1 << operation), 0));
    }
    expect((await describeClusterV1.api.async(connection, false, 1)).clusterAuthorizedOperations).toBe(-2147483648);
    expect(await errorCodesOf(describeClusterV1.api.async(connection, false, 2))).toEqual([ErrorCode.MISMATCHED_ENDPOINT_TYPE]);
    expect(await errorCodesOf(describeClusterV1.api.async(connection, false, 9 as never))).toEqual([ErrorCode.UNSUPPORTED_ENDPOINT_TYPE]);
  });

  test("OffsetForLeaderEpoch v2–4: epoch 0 ends at the log end; newer epochs, unknown partitions and future leaders refused", async () => {
    server.broker.topics.create("pk-epochs", 1);
    const producer = new Producer({ clientId: "pk-epochs", bootstrapBrokers: [server.bootstrap], serializers: stringSerializers });
    try {
      await producer.send({ messages: Array.from({ length: 4 }, (_, i) => ({ topic: "pk-epochs", partition: 0, value: `v${i}` })) });
    } finally {
      await producer.close();
    }
    const partitions = (currentLeaderEpoch: number, leaderEpoch: number) => [{ name: "pk-epochs", partitions: [{ partitionIndex: 0, currentLeaderEpoch, leaderEpoch }] }];
    for (const api of [offsetForLeaderEpochV2.api, offsetForLeaderEpochV3.api, offsetForLeaderEpochV4.api]) {
      const answer = await api.async(connection, -1, partitions(0, 0));
      expect(answer.topics[0]!.partitions[0]).toMatchObject({ errorCode: 0, partition: 0, leaderEpoch: 0, endOffset: 4n });
      const unchecked = await api.async(connection, -1, partitions(-1, 0));
      expect(unchecked.topics[0]!.partitions[0]).toMatchObject({ errorCode: 0, leaderEpoch: 0, endOffset: 4n });
      const later = await api.async(connection, -1, partitions(-1, 3));
      expect(later.topics[0]!.partitions[0]).toMatchObject({ errorCode: 0, leaderEpoch: -1, endOffset: -1n });
    }
    expect(await errorCodesOf(offsetForLeaderEpochV4.api.async(connection, -1, partitions(5, 0)))).toEqual([ErrorCode.UNKNOWN_LEADER_EPOCH]);
    expect(await errorCodesOf(offsetForLeaderEpochV4.api.async(connection, -1, [{ name: "pk-epochs", partitions: [{ partitionIndex: 9, currentLeaderEpoch: -1, leaderEpoch: 0 }] }]))).toEqual([
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    ]);
  });

  test("DescribeTopicPartitions pages through topics and partitions with its cursor", async () => {
    server.broker.topics.create("dtp-a", 3);
    server.broker.topics.create("dtp-b", 2);
    server.broker.topics.create("dtp-c", 1);
    const named = [{ name: "dtp-c" }, { name: "dtp-a" }, { name: "dtp-b" }];
    const pages: string[][] = [];
    let cursor: { topicName: string; partitionIndex: number } | undefined;
    for (let page = 0; page < 10; page++) {
      const answer = await describeTopicPartitionsV0.api.async(connection, named, 2, cursor);
      pages.push(answer.topics.flatMap((topic) => topic.partitions.map((p) => `${topic.name}/${p.partitionIndex}`)));
      for (const topic of answer.topics) {
        expect(topic.errorCode).toBe(0);
        expect(topic.topicId).not.toBe("00000000-0000-0000-0000-000000000000");
        for (const partition of topic.partitions) expect(partition).toMatchObject({ leaderId: 7, leaderEpoch: 0, replicaNodes: [7], isrNodes: [7] });
      }
      if (!answer.nextCursor) break;
      cursor = { topicName: answer.nextCursor.topicName, partitionIndex: answer.nextCursor.partitionIndex };
    }
    expect(pages).toEqual([["dtp-a/0", "dtp-a/1"], ["dtp-a/2", "dtp-b/0"], ["dtp-b/1", "dtp-c/0"]]);

    // Every topic when none is named; an unknown named topic gets its error.
    const all = await describeTopicPartitionsV0.api.async(connection, [], 100);
    expect(all.topics.map((topic) => topic.name)).toEqual(expect.arrayContaining(["dtp-a", "dtp-b", "dtp-c", "pk-epochs"]));
    expect(await errorCodesOf(describeTopicPartitionsV0.api.async(connection, [{ name: "dtp-missing" }], 10))).toEqual([ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
    expect(await errorCodesOf(describeTopicPartitionsV0.api.async(connection, [{ name: "dtp-a" }], 10, { topicName: "dtp-z", partitionIndex: 0 }))).toEqual([ErrorCode.INVALID_REQUEST]);
  });
});
