// Kafka UUIDs (topic ids): 16 bytes on the wire, printed as base64url without padding (Kafka's Uuid.toString).

export const UUID_BYTES = 16;
/** Kafka's Uuid.ZERO_UUID: "no id" on the wire. Shared: never write into it. */
export const ZERO_UUID: Uint8Array = new Uint8Array(UUID_BYTES);

const UUID_TEXT_PATTERN = /^[A-Za-z0-9_-]{22}$/;

/**
 * A random UUID v4. Like Kafka's Uuid.randomUuid, rejects ids whose text starts with '-' (command-line tools
 * would take them for flags); v4 bits already rule out the reserved ZERO and METADATA_TOPIC_ID (…0001).
 */
export function randomUuid(): Uint8Array {
  const uuid = new Uint8Array(UUID_BYTES);
  do {
    crypto.getRandomValues(uuid);
    uuid[6] = (uuid[6]! & 0x0f) | 0x40; // version 4
    uuid[8] = (uuid[8]! & 0x3f) | 0x80; // IETF variant
  } while (uuid[0]! >= 0xf8 && uuid[0]! <= 0xfb); // base64url's first character would be '-'
  return uuid;
}

/** Kafka's text form: 22 base64url characters, no padding. */
export function uuidToString(uuid: Uint8Array): string {
  if (uuid.length !== UUID_BYTES) throw new RangeError(`a UUID has ${UUID_BYTES} bytes, got ${uuid.length}`);
  return Buffer.from(uuid.buffer, uuid.byteOffset, uuid.length).toString("base64url");
}

/** Parses Kafka's text form; throws on anything else. */
export function uuidFromString(text: string): Uint8Array {
  const uuid = UUID_TEXT_PATTERN.test(text) ? new Uint8Array(Buffer.from(text, "base64url")) : null;
  // The round trip rejects texts whose last character carries non-zero padding bits.
  if (uuid === null || uuid.length !== UUID_BYTES || uuidToString(uuid) !== text) {
    throw new RangeError(`not a Kafka UUID: ${JSON.stringify(text)}`);
  }
  return uuid;
}

export function uuidEquals(left: Uint8Array, right: Uint8Array): boolean {
  if (left.length !== right.length) return false;
  for (let index = 0; index < left.length; index++) if (left[index] !== right[index]) return false;
  return true;
}

export function isZeroUuid(uuid: Uint8Array): boolean {
  return uuidEquals(uuid, ZERO_UUID);
}
