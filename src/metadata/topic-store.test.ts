import { describe, expect, test } from "bun:test";
import { MemoryPartitionLog } from "../log/memory-log.ts";
import type { PartitionLog } from "../log/partition-log.ts";
import { limits } from "../config.ts";
import { ErrorCode } from "../protocol/error-codes.ts";
import { TOPIC_NAME_LENGTH_MAX, TopicStore, topicNameError } from "./topic-store.ts";
import { ZERO_UUID, isZeroUuid, randomUuid, uuidEquals, uuidFromString, uuidToString } from "./uuid.ts";

/** A store whose factory records what it built and which logs were closed. */
function makeStore() {
  const created: string[] = [];
  const closed: string[] = [];
  const store = new TopicStore((topic, partition): PartitionLog => {
    const label = `${topic}-${partition}`;
    created.push(label);
    const log = new MemoryPartitionLog();
    const close = log.close.bind(log);
    log.close = () => {
      closed.push(label);
      close();
    };
    return log;
  });
  return { store, created, closed };
}

describe("topic names", () => {
  test("accepts what Kafka accepts", () => {
    for (const name of ["a", "orders", "Orders.v2", "with_under-score", "...", "-", "x".repeat(TOPIC_NAME_LENGTH_MAX)]) {
      expect(topicNameError(name)).toBeNull();
    }
  });

  test("rejects empty, '.', '..', too long and foreign characters with INVALID_TOPIC_EXCEPTION", () => {
    const { store, created } = makeStore();
    for (const name of ["", ".", "..", "x".repeat(TOPIC_NAME_LENGTH_MAX + 1), "a b", "a/b", "é", "a:b", "a\n"]) {
      const result = store.create(name, 1);
      expect(result.errorCode).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
      expect(result.errorMessage).toBeString();
      expect(result.topic).toBeNull();
    }
    expect(created).toEqual([]);
    expect(store.list()).toEqual([]);
  });

  test("an existing name gives TOPIC_ALREADY_EXISTS; a '.'/'_' twin gives INVALID_TOPIC_EXCEPTION", () => {
    const { store } = makeStore();
    expect(store.create("metrics.cpu_load", 1).errorCode).toBe(0);

    const again = store.create("metrics.cpu_load", 3);
    expect(again.errorCode).toBe(ErrorCode.TOPIC_ALREADY_EXISTS);
    expect(again.errorMessage).toBe("Topic 'metrics.cpu_load' already exists.");

    for (const twin of ["metrics_cpu_load", "metrics.cpu.load", "metrics_cpu.load"]) {
      const collision = store.create(twin, 1);
      expect(collision.errorCode).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
      expect(collision.errorMessage).toBe(`Topic '${twin}' collides with existing topic: metrics.cpu_load`);
    }
    // '-' is not a collision character.
    expect(store.create("metrics-cpu-load", 1).errorCode).toBe(0);

    // Deleting frees the unified name.
    store.delete("metrics.cpu_load");
    expect(store.create("metrics_cpu_load", 1).errorCode).toBe(0);
  });

  test("marks Kafka's internal topics", () => {
    const { store } = makeStore();
    expect(store.create("__consumer_offsets", 1).topic!.isInternal).toBe(true);
    expect(store.create("__transaction_state", 1).topic!.isInternal).toBe(true);
    expect(store.create("__my_topic", 1).topic!.isInternal).toBe(false);
  });
});

describe("create", () => {
  test("builds one log per partition with the factory, and copies configs", () => {
    const { store, created } = makeStore();
    const configs = new Map([["cleanup.policy", "compact"]]);
    const result = store.create("orders", 3, configs);
    expect(result.errorCode).toBe(0);
    expect(result.errorMessage).toBeNull();
    const topic = result.topic!;
    expect(topic.name).toBe("orders");
    expect(topic.partitions.length).toBe(3);
    expect(created).toEqual(["orders-0", "orders-1", "orders-2"]);
    expect(topic.configs).toEqual(configs);
    configs.set("retention.ms", "1");
    expect(topic.configs.has("retention.ms")).toBe(false);
    expect(topic.isInternal).toBe(false);
    expect(store.get("orders")).toBe(topic);
  });

  test("rejects partition counts below 1 or above the limit with INVALID_PARTITIONS", () => {
    const { store, created } = makeStore();
    for (const count of [0, -1, -5, 1.5, Number.NaN, limits.partitionsPerTopicMax + 1]) {
      expect(store.create("t", count).errorCode).toBe(ErrorCode.INVALID_PARTITIONS);
    }
    expect(created).toEqual([]);
    expect(store.get("t")).toBeUndefined();
  });

  test("checks the name before existence, and existence before the partition count, as Kafka does", () => {
    const { store } = makeStore();
    store.create("t", 1);
    expect(store.create("..", 0).errorCode).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
    expect(store.create("t", 0).errorCode).toBe(ErrorCode.TOPIC_ALREADY_EXISTS);
  });
});

describe("topic ids", () => {
  test("are 16-byte UUID v4s, unique, never zero, and find their topic", () => {
    const { store } = makeStore();
    const topics = Array.from({ length: 50 }, (_, index) => store.create(`topic-${index}`, 1).topic!);
    const ids = new Set(topics.map((topic) => uuidToString(topic.topicId)));
    expect(ids.size).toBe(50);
    for (const topic of topics) {
      expect(topic.topicId.length).toBe(16);
      expect(isZeroUuid(topic.topicId)).toBe(false);
      expect(topic.topicId[6]! >> 4).toBe(4);
      expect(topic.topicId[8]! >> 6).toBe(2);
      // Lookup by an equal id in another buffer (as decoded from a request).
      expect(store.getById(topic.topicId.slice())).toBe(topic);
    }
    expect(store.getById(ZERO_UUID)).toBeUndefined();
    expect(store.getById(randomUuid())).toBeUndefined();
    expect(store.getById(new Uint8Array(3))).toBeUndefined();
  });

  test("a topic created again under the same name gets a new id; the old id is forgotten", () => {
    const { store } = makeStore();
    const first = store.create("t", 1).topic!;
    store.delete("t");
    expect(store.getById(first.topicId)).toBeUndefined();
    const second = store.create("t", 1).topic!;
    expect(uuidEquals(first.topicId, second.topicId)).toBe(false);
    expect(store.getById(second.topicId)).toBe(second);
  });
});

describe("delete, list, createPartitions", () => {
  test("delete closes the topic's logs and returns the topic", () => {
    const { store, closed } = makeStore();
    const topic = store.create("t", 2).topic!;
    store.create("u", 1);
    expect(store.delete("t")).toBe(topic);
    expect(closed).toEqual(["t-0", "t-1"]);
    expect(store.get("t")).toBeUndefined();
    expect(store.delete("t")).toBeUndefined();
    expect(store.list().map((each) => each.name)).toEqual(["u"]);
  });

  test("list returns topics in creation order", () => {
    const { store } = makeStore();
    for (const name of ["c", "a", "b"]) store.create(name, 1);
    expect(store.list().map((topic) => topic.name)).toEqual(["c", "a", "b"]);
  });

  test("createPartitions only grows", () => {
    const { store, created } = makeStore();
    const topic = store.create("t", 2).topic!;
    const [partition0] = topic.partitions;

    expect(store.createPartitions("t", 4)).toEqual({ errorCode: 0, errorMessage: null });
    expect(topic.partitions.length).toBe(4);
    expect(topic.partitions[0]).toBe(partition0!);
    expect(created).toEqual(["t-0", "t-1", "t-2", "t-3"]);

    const same = store.createPartitions("t", 4);
    expect(same.errorCode).toBe(ErrorCode.INVALID_PARTITIONS);
    expect(same.errorMessage).toBe("Topic already has 4 partition(s).");
    expect(store.createPartitions("t", 3).errorCode).toBe(ErrorCode.INVALID_PARTITIONS);
    expect(store.createPartitions("t", limits.partitionsPerTopicMax + 1).errorCode).toBe(
      ErrorCode.INVALID_PARTITIONS,
    );
    expect(store.createPartitions("missing", 5).errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect(topic.partitions.length).toBe(4);
  });
});

describe("uuid text form", () => {
  test("is Kafka's base64url without padding, and parses back", () => {
    // Kafka: new Uuid(0x0123456789abcdefL, 0xfedcba9876543210L).toString() == "ASNFZ4mrze_-3LqYdlQyEA"
    const bytes = Uint8Array.from([
      0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10,
    ]);
    expect(uuidToString(bytes)).toBe("ASNFZ4mrze_-3LqYdlQyEA");
    expect(uuidFromString("ASNFZ4mrze_-3LqYdlQyEA")).toEqual(bytes);
    expect(uuidToString(ZERO_UUID)).toBe("AAAAAAAAAAAAAAAAAAAAAA");
    for (const bad of ["", "ASNFZ4mrze_-3LqYdlQyEA==", "ASNFZ4mrze+/3LqYdlQyEA", "ASNFZ4mrze_-3LqYdlQyEB", "short"]) {
      expect(() => uuidFromString(bad)).toThrow();
    }
  });

  test("random ids never print with a leading '-'", () => {
    for (let count = 0; count < 2000; count++) expect(uuidToString(randomUuid()).startsWith("-")).toBe(false);
  });
});
