// The APIs this node serves and their version ranges: the one source for dispatch and for ApiVersions.

import type { ApiHandler } from "./handler.ts";
import { advertise } from "./supported-apis.ts";
import { produceHandler } from "./00-produce.ts";
import { fetchHandler } from "./01-fetch.ts";
import { listOffsetsHandler } from "./02-list-offsets.ts";
import { metadataHandler } from "./03-metadata.ts";
import { offsetCommitHandler } from "./08-offset-commit.ts";
import { offsetFetchHandler } from "./09-offset-fetch.ts";
import { findCoordinatorHandler } from "./10-find-coordinator.ts";
import { joinGroupHandler } from "./11-join-group.ts";
import { heartbeatHandler } from "./12-heartbeat.ts";
import { leaveGroupHandler } from "./13-leave-group.ts";
import { syncGroupHandler } from "./14-sync-group.ts";
import { describeGroupsHandler } from "./15-describe-groups.ts";
import { listGroupsHandler } from "./16-list-groups.ts";
import { saslHandshakeHandler } from "./17-sasl-handshake.ts";
import { apiVersionsHandler } from "./18-api-versions.ts";
import { createTopicsHandler } from "./19-create-topics.ts";
import { deleteTopicsHandler } from "./20-delete-topics.ts";
import { deleteRecordsHandler } from "./21-delete-records.ts";
import { initProducerIdHandler } from "./22-init-producer-id.ts";
import { offsetForLeaderEpochHandler } from "./23-offset-for-leader-epoch.ts";
import { addPartitionsToTxnHandler } from "./24-add-partitions-to-txn.ts";
import { addOffsetsToTxnHandler } from "./25-add-offsets-to-txn.ts";
import { endTxnHandler } from "./26-end-txn.ts";
import { txnOffsetCommitHandler } from "./28-txn-offset-commit.ts";
import { describeAclsHandler } from "./29-describe-acls.ts";
import { createAclsHandler } from "./30-create-acls.ts";
import { deleteAclsHandler } from "./31-delete-acls.ts";
import { describeConfigsHandler } from "./32-describe-configs.ts";
import { alterConfigsHandler } from "./33-alter-configs.ts";
import { describeLogDirsHandler } from "./35-describe-log-dirs.ts";
import { createPartitionsHandler } from "./37-create-partitions.ts";
import { incrementalAlterConfigsHandler } from "./44-incremental-alter-configs.ts";
import { deleteGroupsHandler } from "./42-delete-groups.ts";
import { offsetDeleteHandler } from "./47-offset-delete.ts";
import { describeClusterHandler } from "./60-describe-cluster.ts";
import { describeProducersHandler } from "./61-describe-producers.ts";
import { describeTopicPartitionsHandler } from "./75-describe-topic-partitions.ts";
import { describeTransactionsHandler } from "./65-describe-transactions.ts";
import { listTransactionsHandler } from "./66-list-transactions.ts";
import { consumerGroupHeartbeatHandler } from "./68-consumer-group-heartbeat.ts";
import { consumerGroupDescribeHandler } from "./69-consumer-group-describe.ts";
import { describeClientQuotasHandler } from "./48-describe-client-quotas.ts";
import { alterClientQuotasHandler } from "./49-alter-client-quotas.ts";
import { withByteRateQuota } from "../quotas/quota-manager.ts";
import { saslAuthenticateHandler } from "./36-sasl-authenticate.ts";
import { describeUserScramCredentialsHandler } from "./50-describe-user-scram-credentials.ts";
import { alterUserScramCredentialsHandler } from "./51-alter-user-scram-credentials.ts";

const handlers: ApiHandler[] = [
  withByteRateQuota(produceHandler, "produce"),
  withByteRateQuota(fetchHandler, "fetch"),
  listOffsetsHandler,
  metadataHandler,
  offsetCommitHandler,
  offsetFetchHandler,
  findCoordinatorHandler,
  joinGroupHandler,
  heartbeatHandler,
  leaveGroupHandler,
  syncGroupHandler,
  describeGroupsHandler,
  listGroupsHandler,
  saslHandshakeHandler,
  apiVersionsHandler,
  createTopicsHandler,
  deleteTopicsHandler,
  deleteRecordsHandler,
  initProducerIdHandler,
  offsetForLeaderEpochHandler,
  addPartitionsToTxnHandler,
  addOffsetsToTxnHandler,
  endTxnHandler,
  txnOffsetCommitHandler,
  describeAclsHandler,
  createAclsHandler,
  deleteAclsHandler,
  describeConfigsHandler,
  alterConfigsHandler,
  describeLogDirsHandler,
  createPartitionsHandler,
  incrementalAlterConfigsHandler,
  deleteGroupsHandler,
  offsetDeleteHandler,
  describeClusterHandler,
  describeProducersHandler,
  describeTopicPartitionsHandler,
  describeTransactionsHandler,
  listTransactionsHandler,
  consumerGroupHeartbeatHandler,
  consumerGroupDescribeHandler,
  describeClientQuotasHandler,
  alterClientQuotasHandler,
  saslAuthenticateHandler,
  describeUserScramCredentialsHandler,
  alterUserScramCredentialsHandler,
];

const handlersByKey: (ApiHandler | undefined)[] = [];
for (const handler of handlers) handlersByKey[handler.apiKey] = handler;
advertise(handlers);

export function handlerFor(apiKey: number): ApiHandler | undefined {
  return apiKey >= 0 ? handlersByKey[apiKey] : undefined;
}

export { supportedApiKeys, type SupportedApi } from "./supported-apis.ts";
