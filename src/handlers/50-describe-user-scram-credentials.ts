// DescribeUserScramCredentials: v0
// Behaviour:
// - Lists each user's SCRAM mechanisms and iterations (never salts or keys); a null or empty user list means all.
// - An unknown user gets RESOURCE_NOT_FOUND, a user named twice DUPLICATE_RESOURCE (Kafka's messages).
// With an authorizer: DESCRIBE on the cluster (CLUSTER_AUTHORIZATION_FAILED).
// Version notes: v0 only, flexible.

import { ErrorCode } from "../protocol/error-codes.ts";
import type { DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse } from "../protocol/messages/50-describe-user-scram-credentials.ts";
import { scramMechanismCodes } from "../security/scram.ts";
import { AclOperation, authorizeCluster } from "../security/authorize.ts";
import type { ApiHandler } from "./handler.ts";

export const describeUserScramCredentialsHandler: ApiHandler<DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse> = {
  apiKey: 50,
  minVersion: 0,
  maxVersion: 0,
  handle(context, request) {
    // Kafka: DESCRIBE on the cluster.
    if (!authorizeCluster(context, AclOperation.DESCRIBE)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: null, results: [] };
    }
    const all = context.security.sasl.credentials.list();
    const describe = (entry: (typeof all)[number]) => ({
      user: entry.user,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      credentialInfos: entry.credentials.map(({ mechanism, iterations }) => ({ mechanism: scramMechanismCodes[mechanism], iterations })),
    });
    if (request.users === null || request.users.length === 0) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, results: all.map(describe) };
    }
    const counts = new Map<string, number>();
    for (const { name } of request.users) counts.set(name, (counts.get(name) ?? 0) + 1);
    const results = [...counts].map(([user, count]) => {
      if (count > 1) {
        return { user, errorCode: ErrorCode.DUPLICATE_RESOURCE, errorMessage: `Cannot describe SCRAM credentials for the same user twice in a single request: ${user}` };
      }
      const entry = all.find((candidate) => candidate.user === user);
      if (!entry) return { user, errorCode: ErrorCode.RESOURCE_NOT_FOUND, errorMessage: `Attempt to describe a user credential that does not exist: ${user}` };
      return describe(entry);
    });
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, results };
  },
};
