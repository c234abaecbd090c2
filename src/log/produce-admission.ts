// Produce admission: a hook the broker consults for each partition of a Produce before it validates and appends, so
// that the uplink can refuse appends to a forwarded topic whose unforwarded bytes reached their cap (`reject` policy)
// instead of letting retention or the disk lose them. A refusal is a per-partition error plus a throttle time.

import { ErrorCode } from "../protocol/error-codes.ts";
import type { PartitionLog } from "./partition-log.ts";

export interface ProduceRefusal {
  errorCode: number;
  /** The response's throttleTimeMs becomes at least this (clients that honour it wait before the next request). */
  throttleTimeMs: number;
  /** Produce v8+ errorMessage. */
  message: string;
}

/** Null: admitted. Called after authorization and the topic lookup, never for Kafka's internal topics. */
export type ProduceAdmission = (topic: string, partition: number, log: PartitionLog) => ProduceRefusal | null;

/**
 * The error for "this forwarded topic's unforwarded bytes are at their cap": NOT_ENOUGH_REPLICAS (19), the one code
 * all six clients of the interop matrix retry for Produce, and one that says the records were not written:
 * - kafkajs 2.2.4: retriable (src/protocol/error.js:124-126), retried by src/producer/sendMessages.js:157.
 * - @platformatic/kafka 2.12: canRetry (dist/protocol/errors.js:254-257), retried by dist/clients/base/base.js:276-278.
 * - librdkafka 2.0.2 (Debian; kcat, confluent-kafka-python): RETRY | MSG_NOT_PERSISTED in
 *   rd_kafka_handle_Produce_error (src/rdkafka_request.c:2964-2965).
 * - Sarama 1.22.1: in the producer's retriable list (async_producer.go:864-865).
 * - kafka-go 0.2.1: Writer.WriteMessages retries any failed write (writer.go:269-330, 664-670).
 * - kafka-python 2.0.2: NotEnoughReplicasError.retriable (kafka/errors.py:265-271), retried by sender.py:264-270 when
 *   retries > 0 (its default is 0: no error is retried then).
 * Rejected: KAFKA_STORAGE_ERROR (56) is not retried by Sarama 1.22 (default case) nor kafka-python 2.0.2 (unknown
 * code); THROTTLING_QUOTA_EXCEEDED (89) is permanent in librdkafka 2.0.2 (rdkafka_request.c:171-173) and unknown to
 * kafkajs (retriable: false); REQUEST_TIMED_OUT (7) and NOT_ENOUGH_REPLICAS_AFTER_APPEND (20) are retried but mean
 * "possibly written" (librdkafka MSG_POSSIBLY_PERSISTED, rdkafka_request.c:138-141, 2967-2969).
 */
export const UNFORWARDED_BYTES_FULL_ERROR = ErrorCode.NOT_ENOUGH_REPLICAS;
