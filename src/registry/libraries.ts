// The schema libraries (avsc, ajv, protobufjs and its descriptor extension), loaded on first use: a broker that never
// sees a schema never needs them, and evaluating them at start cost ~20–30 ms of start-up and several MiB of idle RSS
// in the compiled binary (protobufjs/ext/descriptor alone ~10 ms). require() is synchronous, so callers stay so.

import type avroTypes from "avsc";
import type * as avscUtils from "avsc/lib/utils.js";
import type * as ajvTypes from "ajv";
import type * as ajv2020Types from "ajv/dist/2020.js";
import type addFormatsTypes from "ajv-formats";
import type * as protobufTypes from "protobufjs";
import type * as descriptorTypes from "protobufjs/ext/descriptor";

function lazy<T>(load: () => T): () => T {
  let loaded: { value: T } | null = null;
  return () => (loaded ??= { value: load() }).value;
}

export const avsc = lazy((): typeof avroTypes => require("avsc"));
export const avscTap = lazy((): typeof avscUtils.Tap => require("avsc/lib/utils.js").Tap);
export const ajv = lazy((): typeof ajvTypes.Ajv => require("ajv").Ajv);
export const ajv2020 = lazy((): typeof ajv2020Types.Ajv2020 => require("ajv/dist/2020.js").Ajv2020);
export const addFormats = lazy((): typeof addFormatsTypes => require("ajv-formats"));
export const protobuf = lazy((): typeof protobufTypes => require("protobufjs"));
export const protobufDescriptor = lazy((): typeof descriptorTypes => require("protobufjs/ext/descriptor"));
