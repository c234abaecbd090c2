// AlterUserScramCredentials: v0
// Behaviour:
// - Upsertions carry salt, iterations and SaltedPassword (the client ran PBKDF2); the broker keeps StoredKey and
//   ServerKey only. Deletions remove one mechanism of one user. Persisted (fsynced) before the answer.
// - One result per user; a user's changes apply all or none. Errors as Kafka: empty name or iterations outside
//   4096..16384 or a wrong-length SaltedPassword UNACCEPTABLE_CREDENTIAL, unknown mechanism
//   UNSUPPORTED_SASL_MECHANISM, the same user and mechanism twice DUPLICATE_RESOURCE, deleting what does not exist
//   RESOURCE_NOT_FOUND.
// - With an authorizer: ALTER on the cluster, else CLUSTER_AUTHORIZATION_FAILED for every user, nothing changed.
// Version notes: v0 only, flexible.

import { ErrorCode } from "../protocol/error-codes.ts";
import type { AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse } from "../protocol/messages/51-alter-user-scram-credentials.ts";
import {
  credentialFromSaltedPassword,
  SCRAM_ITERATIONS_MAX,
  SCRAM_ITERATIONS_MIN,
  scramMechanismFromCode,
  type ScramCredential,
  type ScramMechanism,
} from "../security/scram.ts";
import { log } from "../util/logger.ts";
import { AclOperation, authorizeCluster } from "../security/authorize.ts";
import type { ApiHandler } from "./handler.ts";

interface UserChanges {
  error: { errorCode: number; errorMessage: string } | null;
  deletions: [string, ScramMechanism][];
  upsertions: [string, ScramMechanism, ScramCredential][];
  mechanisms: Set<ScramMechanism>;
}

export const alterUserScramCredentialsHandler: ApiHandler<AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse> = {
  apiKey: 51,
  minVersion: 0,
  maxVersion: 0,
  handle(context, request) {
    if (!authorizeCluster(context, AclOperation.ALTER)) {
      const names = new Set([...request.deletions, ...request.upsertions].map(({ name }) => name));
      return { throttleTimeMs: 0, results: [...names].map((user) => ({ user, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: null })) };
    }
    const store = context.security.sasl.credentials;
    const users = new Map<string, UserChanges>();
    const changesOf = (user: string) => {
      let changes = users.get(user);
      if (!changes) users.set(user, (changes = { error: null, deletions: [], upsertions: [], mechanisms: new Set() }));
      return changes;
    };
    const check = (changes: UserChanges, user: string, code: number): ScramMechanism | null => {
      if (changes.error) return null;
      const mechanism = scramMechanismFromCode(code);
      if (user === "") changes.error = { errorCode: ErrorCode.UNACCEPTABLE_CREDENTIAL, errorMessage: "Username must not be empty" };
      else if (!mechanism) changes.error = { errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, errorMessage: "Unknown SCRAM mechanism" };
      else if (changes.mechanisms.has(mechanism)) {
        changes.error = { errorCode: ErrorCode.DUPLICATE_RESOURCE, errorMessage: "A user credential cannot be altered twice in the same request" };
      }
      if (changes.error || !mechanism) return null;
      changes.mechanisms.add(mechanism);
      return mechanism;
    };

    for (const deletion of request.deletions) {
      const changes = changesOf(deletion.name);
      const mechanism = check(changes, deletion.name, deletion.mechanism);
      if (!mechanism) continue;
      if (!store.get(deletion.name, mechanism)) {
        changes.error = { errorCode: ErrorCode.RESOURCE_NOT_FOUND, errorMessage: "Attempt to delete a user credential that does not exist" };
        continue;
      }
      changes.deletions.push([deletion.name, mechanism]);
    }
    for (const upsertion of request.upsertions) {
      const changes = changesOf(upsertion.name);
      const mechanism = check(changes, upsertion.name, upsertion.mechanism);
      if (!mechanism) continue;
      if (upsertion.iterations < SCRAM_ITERATIONS_MIN) changes.error = { errorCode: ErrorCode.UNACCEPTABLE_CREDENTIAL, errorMessage: "Too few iterations" };
      else if (upsertion.iterations > SCRAM_ITERATIONS_MAX) changes.error = { errorCode: ErrorCode.UNACCEPTABLE_CREDENTIAL, errorMessage: "Too many iterations" };
      else if (upsertion.salt.length === 0 || upsertion.saltedPassword.length !== (mechanism === "SCRAM-SHA-256" ? 32 : 64)) {
        changes.error = { errorCode: ErrorCode.UNACCEPTABLE_CREDENTIAL, errorMessage: "Salt must not be empty and the salted password must be one hash long" };
      }
      if (changes.error) continue;
      const credential = credentialFromSaltedPassword(mechanism, upsertion.salt.slice(), upsertion.iterations, upsertion.saltedPassword);
      changes.upsertions.push([upsertion.name, mechanism, credential]);
    }

    const accepted = [...users.values()].filter((changes) => changes.error === null);
    if (accepted.length > 0) {
      store.apply({ delete: accepted.flatMap((changes) => changes.deletions), upsert: accepted.flatMap((changes) => changes.upsertions) });
    }
    const results = [...users].map(([user, changes]) => {
      const event = { client: context.clientAddress, principal: context.principal, user };
      if (changes.error) log.warn("SCRAM credential change refused", { ...event, error: changes.error.errorMessage });
      else log.info("SCRAM credentials changed", event);
      return { user, errorCode: changes.error?.errorCode ?? ErrorCode.NONE, errorMessage: changes.error?.errorMessage ?? null };
    });
    return { throttleTimeMs: 0, results };
  },
};
