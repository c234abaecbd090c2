// Kafka's murmur2 (`org.apache.kafka.common.utils.Utils.murmur2`) and the Java client's partition choice for a keyed
// record (`BuiltInPartitioner.partitionForKey`: `toPositive(murmur2(keyBytes)) % numPartitions`), so the uplink
// places a keyed record where a Java producer would.
//
// Java's int arithmetic wraps at 32 bits: Math.imul for `*`, `^`/`|` coerce to int32, `>>>` is Java's `>>>`. The
// seed 0x9747b28c is above 2^31 as a JS number; `^` turns it into the same int32 Java has.

const SEED = 0x9747b28c;
const M = 0x5bd1e995;
const R = 24;

/** murmur2 of data[start, end), a signed 32-bit int as Java returns it; no subarray needed. */
export function murmur2Range(data: Uint8Array, start: number, end: number): number {
  const length = end - start;
  let h = SEED ^ length;
  let at = start;
  for (const last = start + (length & ~3); at < last; at += 4) {
    let k = data[at]! | (data[at + 1]! << 8) | (data[at + 2]! << 16) | (data[at + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> R;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  // Java's switch on length % 4 falls through 3 → 2 → 1.
  const rest = length & 3;
  if (rest === 3) h ^= data[at + 2]! << 16;
  if (rest >= 2) h ^= data[at + 1]! << 8;
  if (rest >= 1) h = Math.imul(h ^ data[at]!, M);
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** Kafka's `Utils.murmur2(data)`: a signed 32-bit int. */
export function murmur2(data: Uint8Array): number {
  return murmur2Range(data, 0, data.length);
}

/** The partition Java's default partitioner gives a record with this (non-null) key: `toPositive(murmur2) % partitions`. */
export function keyPartition(key: Uint8Array, partitions: number): number {
  if (!Number.isInteger(partitions) || partitions < 1) throw new RangeError(`partition count ${partitions} is not a positive integer`);
  return (murmur2(key) & 0x7fffffff) % partitions;
}
