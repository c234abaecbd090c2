// What the generated encoders accept, and the shared default values the generated decoders fill in.

/**
 * A message to encode: every field optional, all the way down. A missing field (or null where the version cannot
 * carry null) is written as the field's default, so a handler sets only what it knows.
 */
export type Encodable<T> = T extends Uint8Array
  ? T
  : T extends string | number | bigint | boolean | null | undefined
    ? T
    : T extends readonly (infer Element)[]
      ? Encodable<Element>[]
      : { [K in keyof T]?: Encodable<T[K]> };

/** The all-zero UUID Kafka uses for "no UUID". Shared by every decoded message: never write into it. */
export const ZERO_UUID: Uint8Array = new Uint8Array(16);

/** Default for bytes fields; zero-length, so sharing it is safe. */
export const EMPTY_BYTES: Uint8Array = new Uint8Array(0);

export function isZeroUuid(uuid: Uint8Array): boolean {
  for (let i = 0; i < uuid.length; i++) if (uuid[i] !== 0) return false;
  return true;
}
