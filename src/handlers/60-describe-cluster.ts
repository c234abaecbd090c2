// DescribeCluster: v0–2 (KIP-700; what Kafka 3.0+ admin clients and tools ask instead of Metadata for the brokers)
// Behaviour:
// - The one broker, this node, at the address advertised for the request's listener (as Metadata), never fenced;
//   controllerId is this node (on a broker Kafka names some alive broker); the configured cluster id.
// - v1+ endpointType: 1 (brokers) is answered; 2 (controllers) gets MISMATCHED_ENDPOINT_TYPE, since this is a broker
//   endpoint (KIP-919: clients ask the controller quorum's own endpoints); anything else UNSUPPORTED_ENDPOINT_TYPE.
// - Cluster authorized operations when asked: those the principal may do if it may DESCRIBE the cluster, else 0
//   (Kafka's rule); without an authorizer, all of them.

import { ErrorCode } from "../protocol/error-codes.ts";
import type { DescribeClusterRequest, DescribeClusterResponse } from "../protocol/messages/60-describe-cluster.ts";
import { AclOperation, AUTHORIZED_OPERATIONS_OMITTED, authorize, authorizedOperations, CLUSTER_NAME, CLUSTER_OPERATIONS, ResourceType } from "../security/authorize.ts";
import type { ApiHandler } from "./handler.ts";

const BROKER_ENDPOINTS = 1;
const CONTROLLER_ENDPOINTS = 2;

export const describeClusterHandler: ApiHandler<DescribeClusterRequest, DescribeClusterResponse> = {
  apiKey: 60,
  minVersion: 0,
  maxVersion: 2,
  handle(context, request) {
    const { config } = context.broker;
    const refused = (errorCode: number, errorMessage: string) => ({ throttleTimeMs: 0, errorCode, errorMessage, endpointType: request.endpointType, clusterId: config.clusterId, controllerId: -1, brokers: [] });
    if (request.endpointType === CONTROLLER_ENDPOINTS) {
      return refused(ErrorCode.MISMATCHED_ENDPOINT_TYPE, "The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER");
    }
    if (request.endpointType !== BROKER_ENDPOINTS) return refused(ErrorCode.UNSUPPORTED_ENDPOINT_TYPE, `Unsupported endpoint type ${request.endpointType}`);
    let clusterAuthorizedOperations = AUTHORIZED_OPERATIONS_OMITTED;
    if (request.includeClusterAuthorizedOperations) {
      clusterAuthorizedOperations = authorize(context, AclOperation.DESCRIBE, ResourceType.CLUSTER, CLUSTER_NAME, false)
        ? authorizedOperations(context, ResourceType.CLUSTER, CLUSTER_NAME, CLUSTER_OPERATIONS)
        : 0;
    }
    const { listener } = context.security;
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      endpointType: BROKER_ENDPOINTS,
      clusterId: config.clusterId,
      controllerId: config.nodeId,
      brokers: [{ brokerId: config.nodeId, host: listener.advertisedHost, port: listener.advertisedPort, rack: null, isFenced: false }],
      clusterAuthorizedOperations,
    };
  },
};
