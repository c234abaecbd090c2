// PRODUCER_FENCED (KIP-588) reaches only clients that know it; older request versions get INVALID_PRODUCER_EPOCH,
// as Kafka's KafkaApis maps it.

import { ErrorCode } from "../protocol/error-codes.ts";

export function fencedErrorFor(errorCode: number, apiVersion: number, producerFencedVersionMin: number): number {
  return errorCode === ErrorCode.PRODUCER_FENCED && apiVersion < producerFencedVersionMin ? ErrorCode.INVALID_PRODUCER_EPOCH : errorCode;
}
