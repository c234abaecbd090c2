// Partition sets of the KIP-848 coordinator: topic id (Kafka's base64url text, src/metadata/uuid.ts) → partitions.
// Members, target assignments and the owned partitions a member reports all use this shape, as Kafka's
// Map<Uuid, Set<Integer>>. Empty topics are never kept, so two equal sets have equal keys.

import { UUID_BYTES, uuidFromString, uuidToString } from "../../metadata/uuid.ts";

export type Assignment = ReadonlyMap<string, ReadonlySet<number>>;

export const EMPTY_ASSIGNMENT: Assignment = new Map();

export function addPartition(assignment: Map<string, Set<number>>, topicId: string, partition: number): void {
  let partitions = assignment.get(topicId);
  if (!partitions) assignment.set(topicId, (partitions = new Set()));
  partitions.add(partition);
}

export function removePartition(assignment: Map<string, Set<number>>, topicId: string, partition: number): void {
  const partitions = assignment.get(topicId);
  if (!partitions) return;
  partitions.delete(partition);
  if (partitions.size === 0) assignment.delete(topicId);
}

export function partitionCount(assignment: Assignment): number {
  let count = 0;
  for (const partitions of assignment.values()) count += partitions.size;
  return count;
}

export function assignmentsEqual(left: Assignment, right: Assignment): boolean {
  if (left.size !== right.size) return false;
  for (const [topicId, partitions] of left) {
    const other = right.get(topicId);
    if (!other || other.size !== partitions.size) return false;
    for (const partition of partitions) if (!other.has(partition)) return false;
  }
  return true;
}

/** Every partition of `subset` is in `superset`. */
export function isSubsetOf(subset: Assignment, superset: Assignment): boolean {
  for (const [topicId, partitions] of subset) {
    const other = superset.get(topicId);
    for (const partition of partitions) if (!other?.has(partition)) return false;
  }
  return true;
}

/** Any partition in both. */
export function intersects(left: Assignment, right: Assignment): boolean {
  for (const [topicId, partitions] of left) {
    const other = right.get(topicId);
    if (!other) continue;
    for (const partition of partitions) if (other.has(partition)) return true;
  }
  return false;
}

/** The owned partitions of a heartbeat (topic id bytes on the wire); ids of the wrong length are skipped. */
export function assignmentFromWire(topicPartitions: readonly { topicId: Uint8Array; partitions: readonly number[] }[]): Assignment {
  const assignment = new Map<string, Set<number>>();
  for (const { topicId, partitions } of topicPartitions) {
    if (topicId.length !== UUID_BYTES) continue;
    const id = uuidToString(topicId);
    for (const partition of partitions) addPartition(assignment, id, partition);
  }
  return assignment;
}

/** The wire form, partitions in ascending order (clients compare lists). */
export function assignmentToWire(assignment: Assignment): { topicId: Uint8Array; partitions: number[] }[] {
  return [...assignment].map(([topicId, partitions]) => ({ topicId: uuidFromString(topicId), partitions: [...partitions].sort((a, b) => a - b) }));
}
