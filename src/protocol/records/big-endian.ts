// Big-endian integers at a position of a Uint8Array, for record batches and message sets: plain byte arithmetic, no
// DataView (one would be allocated per batch on hot paths). int64 values are numbers, exact below 2^53.

const TWO_TO_32 = 2 ** 32;

export function readInt16(bytes: Uint8Array, at: number): number {
  return (((bytes[at]! << 8) | bytes[at + 1]!) << 16) >> 16;
}
export function readInt32(bytes: Uint8Array, at: number): number {
  return (bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!;
}
export function readUint32(bytes: Uint8Array, at: number): number {
  return readInt32(bytes, at) >>> 0;
}
/** Exact when |value| < 2^53; larger values round (validation rejects them where it matters). */
export function readInt64(bytes: Uint8Array, at: number): number {
  return readInt32(bytes, at) * TWO_TO_32 + readUint32(bytes, at + 4);
}
export function writeInt16(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value >> 8;
  bytes[at + 1] = value;
}
export function writeInt32(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value >>> 24;
  bytes[at + 1] = value >>> 16;
  bytes[at + 2] = value >>> 8;
  bytes[at + 3] = value;
}
export function writeInt64(bytes: Uint8Array, at: number, value: number): void {
  const high = Math.floor(value / TWO_TO_32);
  writeInt32(bytes, at, high);
  writeInt32(bytes, at + 4, value - high * TWO_TO_32);
}
