// DescribeConfigs: v0–4
// Behaviour:
// - Topics: every topic config Kafka defines (or only the keys asked for; unknown keys are left out, as in Kafka),
//   with its value, source (DYNAMIC_TOPIC_CONFIG when set on the topic, STATIC_BROKER_CONFIG when the config file
//   set its broker-wide default, e.g. log.retention.hours, else DEFAULT_CONFIG), type (v3+) and, when asked (v1+),
//   its synonyms in that order. Unknown topics get UNKNOWN_TOPIC_OR_PARTITION.
// - Brokers and broker loggers: an empty list (this node has no dynamic broker configs). Other resource types get
//   INVALID_REQUEST.
// - With an authorizer: DESCRIBE_CONFIGS on the topic (TOPIC_AUTHORIZATION_FAILED) or, for broker configs, the
//   cluster (CLUSTER_AUTHORIZATION_FAILED), as Kafka.
// Not emulated: documentation strings (null), sensitive configs (none exist here).
// Version notes: v1 synonyms and configSource (v0 isDefault), v3 configType and documentation, v4 flexible.

import type { Broker } from "../broker.ts";
import { ErrorCode } from "../protocol/error-codes.ts";
import type { DescribeConfigsRequest, DescribeConfigsResponse } from "../protocol/messages/32-describe-configs.ts";
import { brokerSynonyms } from "../config-file.ts";
import { ConfigResourceType, ConfigSource, topicConfigDefinitions, topicConfigType } from "../metadata/topic-configs.ts";
import { AclOperation, configResourceDenied } from "../security/authorize.ts";
import type { ApiHandler } from "./handler.ts";

type Resource = DescribeConfigsRequest["resources"][number];

export const describeConfigsHandler: ApiHandler<DescribeConfigsRequest, DescribeConfigsResponse> = {
  apiKey: 32,
  minVersion: 0,
  maxVersion: 4,
  handle(context, request) {
    const results = request.resources.map((resource) => {
      const denied = configResourceDenied(context, AclOperation.DESCRIBE_CONFIGS, resource.resourceType, resource.resourceName);
      if (denied !== null) return { errorCode: denied, errorMessage: null, resourceType: resource.resourceType, resourceName: resource.resourceName, configs: [] };
      return describe(context.broker, resource, request.includeSynonyms);
    });
    return { throttleTimeMs: 0, results };
  },
};

function describe(broker: Broker, resource: Resource, includeSynonyms: boolean) {
  const { resourceType, resourceName } = resource;
  const result = (errorCode: number, errorMessage: string | null, configs: ReturnType<typeof describeTopicConfig>[] = []) => ({
    errorCode,
    errorMessage,
    resourceType,
    resourceName,
    configs,
  });
  if (resourceType === ConfigResourceType.broker || resourceType === ConfigResourceType.brokerLogger) {
    return result(ErrorCode.NONE, null);
  }
  if (resourceType !== ConfigResourceType.topic) return result(ErrorCode.INVALID_REQUEST, `Unsupported resource type ${resourceType}`);
  const topic = broker.topics.get(resourceName);
  if (!topic) return result(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic ${resourceName} does not exist.`);
  const names = resource.configurationKeys ?? [...topicConfigDefinitions.keys()];
  const configs = names
    .filter((name) => topicConfigDefinitions.has(name))
    .map((name) => describeTopicConfig(name, topic.configs.get(name), broker.topics.topicConfigDefaults.get(name), includeSynonyms));
  return result(ErrorCode.NONE, null, configs);
}

function describeTopicConfig(name: string, topicValue: string | undefined, brokerValue: string | undefined, includeSynonyms: boolean) {
  const defaultValue = topicConfigDefinitions.get(name)!.defaultValue;
  const synonyms = [];
  if (includeSynonyms) {
    if (topicValue !== undefined) synonyms.push({ name, value: topicValue, source: ConfigSource.dynamicTopic });
    // Kafka names the broker config as written in server.properties; its value here is already in the topic's unit.
    if (brokerValue !== undefined) synonyms.push({ name: brokerSynonyms.get(name)![0]!.key, value: brokerValue, source: ConfigSource.staticBroker });
    synonyms.push({ name, value: defaultValue, source: ConfigSource.default });
  }
  const [value, configSource] =
    topicValue !== undefined ? [topicValue, ConfigSource.dynamicTopic] : brokerValue !== undefined ? [brokerValue, ConfigSource.staticBroker] : [defaultValue, ConfigSource.default];
  return {
    name,
    value,
    readOnly: false,
    isDefault: configSource === ConfigSource.default,
    configSource,
    isSensitive: false,
    synonyms,
    configType: topicConfigType(name),
    documentation: null,
  };
}
