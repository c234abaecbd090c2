// The cluster and partition APIs newer clients and admin tools send, through @platformatic/kafka's own protocol
// functions: DescribeCluster v0–1 (KIP-700, KIP-919 endpoint types) and OffsetForLeaderEpoch v2–4 (KIP-320
// position validation after a leader change).

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Connection, describeClusterV0, describeClusterV1, offsetForLeaderEpochV2, offsetForLeaderEpochV3, offsetForLeaderEpochV4, Producer, stringSerializers } from "@platformatic/kafka";
import { ErrorCode } from "../../../src/protocol/error-codes.ts";
import { startTestServer, type TestServer } from "../../helpers/server.ts";

let server: TestServer;
let connection: Connection;
beforeAll(async () => {
  server = await startTestServer({ clusterId: "edge-cluster", nodeId: 7 });
  connection = new Connection("pk-cluster-apis");
  await connection.connect("127.0.0.1", server.port);
});
afterAll(async () => {
  await connection.close();
  await server[Symbol.asyncDispose]();
});

/** The error codes of the ResponseError the request fails with. */
async function errorCodesOf(request: Promise<unknown>): Promise<number[]> {
  const error = await request.then(
    () => null,
    (failure: { errors?: { apiCode?: number }[] }) => failure,
  );
  if (error === null) throw new Error("the request succeeded");
  return (error.errors ?? []).map((e) => e.apiCode ?? -1);
}

describe("@platformatic/kafka: DescribeCluster and OffsetForLeaderEpoch", () => {
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
});
