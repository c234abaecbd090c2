import { describe, expect, test } from "bun:test";
import { ErrorCode } from "../protocol/error-codes.ts";
import { incrementSequence, PartitionProducerState, PRODUCER_BATCHES_KEPT, type ProducerBatch } from "./producer-state.ts";

function batch(producerId: number, producerEpoch: number, baseSequence: number, records = 1, transactional = false): ProducerBatch {
  return { producerId, producerEpoch, baseSequence, lastOffsetDelta: records - 1, transactional, maxTimestamp: 1 };
}

/** Appends like Produce: check, then record at the log end. */
function append(state: PartitionProducerState, next: { offset: number }, b: ProducerBatch) {
  const check = state.checkAppend(b);
  if (check.kind === "append") {
    state.onAppend(b, next.offset, 0);
    next.offset += b.lastOffsetDelta + 1;
  }
  return check;
}

describe("producer state: idempotence", () => {
  test("in-order batches append; a retried batch is a duplicate with its original offsets", () => {
    const state = new PartitionProducerState();
    const end = { offset: 0 };
    expect(append(state, end, batch(7, 0, 0, 3))).toEqual({ kind: "append" });
    expect(append(state, end, batch(7, 0, 3, 2))).toEqual({ kind: "append" });
    expect(append(state, end, batch(7, 0, 0, 3))).toEqual({ kind: "duplicate", firstOffset: 0, lastOffset: 2 });
    expect(append(state, end, batch(7, 0, 3, 2))).toEqual({ kind: "duplicate", firstOffset: 3, lastOffset: 4 });
    expect(end.offset).toBe(5);
  });

  test("only the last five batches are remembered: an older retry is out of order", () => {
    const state = new PartitionProducerState();
    const end = { offset: 0 };
    for (let sequence = 0; sequence <= PRODUCER_BATCHES_KEPT; sequence++) append(state, end, batch(1, 0, sequence));
    expect(append(state, end, batch(1, 0, 1)).kind).toBe("duplicate");
    const old = append(state, end, batch(1, 0, 0));
    expect(old.kind === "error" && old.errorCode).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  });

  test("a gap is OUT_OF_ORDER_SEQUENCE_NUMBER and nothing is recorded", () => {
    const state = new PartitionProducerState();
    const end = { offset: 0 };
    append(state, end, batch(1, 0, 0, 5));
    const gap = append(state, end, batch(1, 0, 6));
    expect(gap.kind === "error" && gap.errorCode).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(append(state, end, batch(1, 0, 5)).kind).toBe("append");
  });

  test("an older epoch is INVALID_PRODUCER_EPOCH; a newer one must start at 0", () => {
    const state = new PartitionProducerState();
    const end = { offset: 0 };
    append(state, end, batch(1, 3, 0));
    const old = append(state, end, batch(1, 2, 1));
    expect(old.kind === "error" && old.errorCode).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
    const badStart = append(state, end, batch(1, 4, 5));
    expect(badStart.kind === "error" && badStart.errorCode).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(append(state, end, batch(1, 4, 0)).kind).toBe("append");
  });

  test("an unknown producer (new or expired) is accepted at any sequence, as Kafka since KIP-360", () => {
    const state = new PartitionProducerState();
    const end = { offset: 0 };
    expect(append(state, end, batch(9, 0, 42)).kind).toBe("append");
    expect(state.expire(10_000_000, 1_000)).toBe(1);
    expect(append(state, end, batch(9, 0, 77)).kind).toBe("append");
  });

  test("sequences wrap after 2^31-1", () => {
    expect(incrementSequence(2 ** 31 - 1, 1)).toBe(0);
    expect(incrementSequence(2 ** 31 - 2, 3)).toBe(1);
    const state = new PartitionProducerState();
    const end = { offset: 0 };
    append(state, end, batch(1, 0, 2 ** 31 - 2, 2));
    expect(append(state, end, batch(1, 0, 0)).kind).toBe("append");
  });
});

describe("producer state: transactions", () => {
  test("open transactions bound the last stable offset; aborts are listed for the ranges they cover", () => {
    const state = new PartitionProducerState();
    const end = { offset: 0 };
    append(state, end, batch(1, 0, 0, 2)); // offsets 0-1, plain idempotent
    append(state, end, batch(2, 0, 0, 3, true)); // 2-4, transaction of producer 2
    append(state, end, batch(3, 0, 0, 1, true)); // 5, transaction of producer 3
    expect(state.lastStableOffset(6)).toBe(2);
    state.onMarker(2, 0, false, 6, 0, 0); // abort marker at 6
    end.offset = 7;
    expect(state.lastStableOffset(7)).toBe(5);
    state.onMarker(3, 0, true, 7, 0, 0); // commit marker at 7
    expect(state.lastStableOffset(8)).toBe(8);
    expect(state.abortedTransactions(0, 8)).toEqual([{ producerId: 2, firstOffset: 2, lastOffset: 6 }]);
    expect(state.abortedTransactions(7, 8)).toEqual([]);
    expect(state.abortedTransactions(0, 2)).toEqual([]);
  });

  test("a non-transactional batch inside an open transaction is INVALID_TXN_STATE; a marker from an old epoch is fenced", () => {
    const state = new PartitionProducerState();
    const end = { offset: 0 };
    append(state, end, batch(4, 1, 0, 1, true));
    const plain = append(state, end, batch(4, 1, 1, 1, false));
    expect(plain.kind === "error" && plain.errorCode).toBe(ErrorCode.INVALID_TXN_STATE);
    expect(state.checkMarker(4, 0)).toBe(ErrorCode.PRODUCER_FENCED);
    expect(state.checkMarker(4, 1)).toBe(ErrorCode.NONE);
  });

  test("a marker with a bumped epoch fences the old epoch and lets the new one start at sequence 0", () => {
    const state = new PartitionProducerState();
    const end = { offset: 0 };
    append(state, end, batch(5, 0, 0, 4, true));
    state.onMarker(5, 1, false, 4, 0, 0);
    const zombie = append(state, end, batch(5, 0, 4, 1, true));
    expect(zombie.kind === "error" && zombie.errorCode).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
    expect(append(state, end, batch(5, 1, 0, 1, true)).kind).toBe("append");
  });
});

describe("producer states per log", () => {
  test("expiry forgets idle producers of loaded logs and aborted transactions below the log start", async () => {
    const { MemoryPartitionLog } = await import("../log/memory-log.ts");
    const { ProducerStates } = await import("./producer-states.ts");
    const log = new MemoryPartitionLog();
    const states = new ProducerStates();
    const state = states.of(log);
    state.onAppend(batch(1, 0, 0), 0, 1_000);
    state.onAppend(batch(2, 0, 0, 1, true), 1, 1_000);
    state.onMarker(2, 0, false, 2, 0, 1_000);
    expect(states.expireIdle([log], 1_000 + 10, 5)).toBe(2);
    expect(state.producers.size).toBe(0);
    expect(state.abortedTransactions(0, 10)).toHaveLength(1);
  });
});
