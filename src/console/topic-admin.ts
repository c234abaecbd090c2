// Topic changes from the console: CreateTopics, DeleteTopics, CreatePartitions and IncrementalAlterConfigs, sent to
// the gateway's own handlers as the caller's principal (src/console/in-process-client.ts), so the validation, the
// ACLs and the catalog are the Kafka APIs'. A refusal becomes a 4xx with the error's name and message.

import { ErrorCode, errorName } from "../protocol/error-codes.ts";
import type { InProcessClient } from "./in-process-client.ts";
import { badRequest, ConsoleError, nonNegativeInteger } from "./responses.ts";

const TOPIC_RESOURCE = 2;
const ADMIN_TIMEOUT_MS = 10_000;
const CONFIG_SET = 0;
const CONFIG_DELETE = 1;

const API = { createTopics: 19, deleteTopics: 20, describeConfigs: 32, createPartitions: 37, incrementalAlterConfigs: 44 } as const;

function refused(errorCode: number, errorMessage: string | null | undefined): ConsoleError | null {
  if (errorCode === ErrorCode.NONE) return null;
  const status = errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION ? 404 : errorCode === ErrorCode.TOPIC_AUTHORIZATION_FAILED || errorCode === ErrorCode.CLUSTER_AUTHORIZATION_FAILED ? 403 : 400;
  return new ConsoleError(status, `${errorName(errorCode)}${errorMessage ? `: ${errorMessage}` : ""}`);
}

function stringMap(value: unknown, name: string): Map<string, string> {
  if (value === undefined || value === null) return new Map();
  if (typeof value !== "object" || Array.isArray(value)) throw badRequest(`${name} must be an object of config names to values`);
  const entries = Object.entries(value as Record<string, unknown>);
  for (const [key, item] of entries) if (typeof item !== "string") throw badRequest(`${name}.${key} must be a string`);
  return new Map(entries as [string, string][]);
}

export async function createTopic(client: InProcessClient, body: Record<string, unknown>): Promise<{ name: string; partitions: number }> {
  if (typeof body.name !== "string") throw badRequest("name must be a string");
  const partitions = body.partitions === undefined ? 1 : nonNegativeInteger(body.partitions, "partitions");
  const configs = stringMap(body.configs, "configs");
  const version = client.version(API.createTopics);
  const answer = await client.call(API.createTopics, version, {
    topics: [{ name: body.name, numPartitions: partitions, replicationFactor: version >= 4 ? -1 : 1, assignments: [], configs: [...configs].map(([name, value]) => ({ name, value })) }],
    timeoutMs: ADMIN_TIMEOUT_MS,
    validateOnly: false,
  });
  const result = answer.topics[0];
  const error = refused(result.errorCode, result.errorMessage);
  if (error) throw error;
  return { name: body.name, partitions };
}

export async function deleteTopic(client: InProcessClient, name: string): Promise<void> {
  const version = client.version(API.deleteTopics);
  const answer = await client.call(API.deleteTopics, version, { topicNames: [name], topics: [{ name }], timeoutMs: ADMIN_TIMEOUT_MS });
  const result = answer.responses[0];
  const error = refused(result.errorCode, result.errorMessage);
  if (error) throw error;
}

export async function addPartitions(client: InProcessClient, name: string, body: Record<string, unknown>): Promise<{ count: number }> {
  const count = nonNegativeInteger(body.count, "count");
  const answer = await client.call(API.createPartitions, client.version(API.createPartitions), { topics: [{ name, count, assignments: null }], timeoutMs: ADMIN_TIMEOUT_MS, validateOnly: false });
  const result = answer.results[0];
  const error = refused(result.errorCode, result.errorMessage);
  if (error) throw error;
  return { count };
}

/** body: { set: {name: value}, delete: [name] }. */
export async function alterTopicConfigs(client: InProcessClient, name: string, body: Record<string, unknown>): Promise<{ set: string[]; deleted: string[] }> {
  const set = stringMap(body.set, "set");
  const deleted = body.delete === undefined ? [] : body.delete;
  if (!Array.isArray(deleted) || deleted.some((item) => typeof item !== "string")) throw badRequest("delete must be an array of config names");
  if (set.size === 0 && deleted.length === 0) throw badRequest("nothing to change: give set or delete");
  const configs = [
    ...[...set].map(([config, value]) => ({ name: config, configOperation: CONFIG_SET, value })),
    ...(deleted as string[]).map((config) => ({ name: config, configOperation: CONFIG_DELETE, value: null })),
  ];
  const answer = await client.call(API.incrementalAlterConfigs, client.version(API.incrementalAlterConfigs), {
    resources: [{ resourceType: TOPIC_RESOURCE, resourceName: name, configs }],
    validateOnly: false,
  });
  const result = answer.responses[0];
  const error = refused(result.errorCode, result.errorMessage);
  if (error) throw error;
  return { set: [...set.keys()], deleted: deleted as string[] };
}

export interface TopicConfig {
  name: string;
  value: string | null;
  /** Set on the topic (not a default). */
  isSet: boolean;
  readOnly: boolean;
}

/** The topic's configs as DescribeConfigs answers them (404 for a topic that does not exist). */
export async function describeTopicConfigs(client: InProcessClient, name: string): Promise<TopicConfig[]> {
  const version = client.version(API.describeConfigs);
  const answer = await client.call(API.describeConfigs, version, {
    resources: [{ resourceType: TOPIC_RESOURCE, resourceName: name, configurationKeys: null }],
    includeSynonyms: false,
    includeDocumentation: false,
  });
  const result = answer.results[0];
  const error = refused(result.errorCode, result.errorMessage);
  if (error) throw error;
  const TOPIC_CONFIG_SOURCE = 1;
  return result.configs
    .map((config: any) => ({ name: config.name, value: config.isSensitive ? null : config.value, isSet: version >= 1 ? config.configSource === TOPIC_CONFIG_SOURCE : !config.isDefault, readOnly: config.readOnly }))
    .sort((a: TopicConfig, b: TopicConfig) => (a.name < b.name ? -1 : 1));
}
