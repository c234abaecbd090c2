// Record fields read without allocation (varints, varlongs, length-prefixed bytes) through one cursor that every
// record walker shares: validation, the time lookup and the log cleaner each run to completion synchronously, so
// nothing interleaves. A read past `limit` or a varint that is too long sets `overrun` and returns 0; walkers check
// the flag once per record.

export const recordCursor = { at: 0, overrun: false };

export function readVarintAt(bytes: Uint8Array, limit: number): number {
  let raw = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    if (recordCursor.at >= limit) break;
    const byte = bytes[recordCursor.at++]!;
    raw |= (byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return (raw >>> 1) ^ -(raw & 1);
  }
  recordCursor.overrun = true;
  return 0;
}

export function readVarlongAt(bytes: Uint8Array, limit: number): number {
  let raw = 0;
  for (let shift = 0; shift < 70; shift += 7) {
    if (recordCursor.at >= limit) break;
    const byte = bytes[recordCursor.at++]!;
    // 28 bits fit an int; beyond, floating point stays exact up to 2^53.
    if (shift < 28) raw |= (byte & 0x7f) << shift;
    else raw += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
  }
  recordCursor.overrun = true;
  return 0;
}

/** Skips a varint-length byte field; -1 (null) only where `nullable`. */
export function skipBytesAt(bytes: Uint8Array, limit: number, nullable: boolean): boolean {
  const length = readVarintAt(bytes, limit);
  if (length < 0) return nullable && length === -1;
  recordCursor.at += length;
  if (recordCursor.at > limit) recordCursor.overrun = true;
  return true;
}
