// What every JavaScript client program shares: the records each scenario sends, the checks on what came back, and
// the one-line verdict the runner reads (PASS / NS: reason / FAIL: reason). Plain JavaScript so that Bun and
// Node.js (node-rdkafka) both load it.

export const BASE_TIMESTAMP = 1_700_000_000_000;
export const BASIC_RECORDS = 1000;
export const PARTITIONS = 3;
export const LARGE_BYTES = 900 * 1024;
export const SMALL_RECORDS = 10_000;
/**
 * The uplink scenario: UPLINK_RECORDS basic records produced at an edge gateway whose uplink forwards topics named
 * `uplink-*` to a central gateway (the program's third argument), then read back from the central one.
 */
export const UPLINK_RECORDS = 300;
export const UPLINK_TIMEOUT_MS = 30_000;

export class NotSupported extends Error {}

/** A topic name unique to this run. */
export function topicName(prefix) {
  return `${prefix}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`;
}

export function basicRecord(i) {
  return { key: `key-${i}`, value: `value-${i}`, headers: { index: String(i), origin: "interop" }, timestamp: BASE_TIMESTAMP + i };
}

/** The 900 KB record: deterministic bytes whose every position can be checked. */
export function largeValue() {
  const bytes = Buffer.alloc(LARGE_BYTES);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + 7) & 0xff;
  return bytes;
}

/**
 * Checks records received back against basicRecord(0..count-1). Each received record is
 * { partition, offset (number), key, value, headers: {name: value}, timestamp (number) }.
 */
export function checkBasic(received, count = BASIC_RECORDS, { headers = true, timestamps = true, partitions = PARTITIONS } = {}) {
  const seen = new Map();
  for (const record of received) {
    const match = /^key-(\d+)$/.exec(record.key ?? "");
    if (!match) throw new Error(`unexpected key ${JSON.stringify(record.key)}`);
    const i = Number(match[1]);
    if (seen.has(i)) throw new Error(`key-${i} received twice`);
    seen.set(i, record);
    const want = basicRecord(i);
    if (record.value !== want.value) throw new Error(`key-${i}: value ${JSON.stringify(record.value)}, want ${want.value}`);
    if (headers && (record.headers?.index !== want.headers.index || record.headers?.origin !== "interop"))
      throw new Error(`key-${i}: headers ${JSON.stringify(record.headers)}, want ${JSON.stringify(want.headers)}`);
    if (timestamps && record.timestamp !== want.timestamp) throw new Error(`key-${i}: timestamp ${record.timestamp}, want ${want.timestamp}`);
  }
  if (seen.size !== count) throw new Error(`received ${seen.size} of ${count} records`);
  const byPartition = new Map();
  for (const record of received) byPartition.set(record.partition, [...(byPartition.get(record.partition) ?? []), record]);
  if (byPartition.size !== partitions) throw new Error(`records landed in ${byPartition.size} partitions, want ${partitions}`);
  for (const [partition, records] of byPartition) {
    records.sort((a, b) => a.offset - b.offset);
    for (let j = 1; j < records.length; j++) {
      const before = Number(records[j - 1].key.slice(4));
      const after = Number(records[j].key.slice(4));
      if (after < before) throw new Error(`partition ${partition}: key-${after} at offset ${records[j].offset} after key-${before}`);
    }
  }
}

/** Checks the large scenario's single partition: the 900 KB record at offset 0, then SMALL_RECORDS small ones in order. */
export function checkLarge(received, label) {
  received.sort((a, b) => a.offset - b.offset);
  if (received.length !== SMALL_RECORDS + 1) throw new Error(`${label}: received ${received.length} of ${SMALL_RECORDS + 1} records`);
  const big = received[0].valueBytes;
  const want = largeValue();
  if (!big || big.length !== want.length || !Buffer.from(big).equals(want)) throw new Error(`${label}: the 900 KB record came back as ${big?.length} different bytes`);
  for (let i = 0; i < SMALL_RECORDS; i++) {
    const record = received[i + 1];
    if (record.offset !== i + 1 || record.value !== `small-${i}`) throw new Error(`${label}: offset ${record.offset} holds ${String(record.value).slice(0, 40)}, want small-${i} at ${i + 1}`);
  }
}

/** The idempotent scenario: records sent by an idempotent producer in several sends of IDEMPOTENT_BATCH. */
export const IDEMPOTENT_RECORDS = 500;
export const IDEMPOTENT_BATCH = 100;

/**
 * Checks that each partition holds its records at offsets 0, 1, 2, ... with no gap and no repeat: with the
 * idempotent producer's retries no batch may be stored twice or skipped.
 */
export function checkContiguous(received) {
  const byPartition = new Map();
  for (const record of received) byPartition.set(record.partition, [...(byPartition.get(record.partition) ?? []), record.offset]);
  for (const [partition, offsets] of byPartition) {
    offsets.sort((a, b) => a - b);
    const gap = offsets.findIndex((offset, i) => offset !== i);
    if (gap >= 0) throw new Error(`partition ${partition}: offset ${offsets[gap]} at position ${gap}, want contiguous offsets from 0`);
  }
}

/**
 * The transactions scenario: one transactional producer runs these in order. Each writes TXN_RECORDS records with
 * values txnValue(name, i), spread over 2 partitions. "a" also sends offset TXN_COMMITTED_OFFSET of the input topic
 * for the group, "b" sends TXN_ABORTED_OFFSET and is aborted, so the group must end at TXN_COMMITTED_OFFSET.
 */
export const TRANSACTIONS = [["a", true], ["b", false], ["c", true]];
export const TXN_PARTITIONS = 2;
export const TXN_RECORDS = 10;
export const TXN_INPUT_RECORDS = 10;
export const TXN_COMMITTED_OFFSET = 5;
export const TXN_ABORTED_OFFSET = 7;

export function txnValue(name, i) {
  return `${name}-${i}`;
}

/**
 * Checks what a consumer read from the transactions topic ({ partition, offset, value }): exactly the records of
 * the committed transactions (or of all of them), each once, in the order sent within each partition, and each
 * transaction spanning at least 2 partitions.
 */
export function checkTransactions(received, { committedOnly }) {
  const order = [];
  for (const [name, commit] of TRANSACTIONS) if (commit || !committedOnly) for (let i = 0; i < TXN_RECORDS; i++) order.push(txnValue(name, i));
  const rank = new Map(order.map((value, index) => [value, index]));
  const seen = new Set();
  for (const record of received) {
    if (!rank.has(record.value)) throw new Error(`unexpected record ${JSON.stringify(record.value)} at ${record.partition}/${record.offset}${committedOnly && /^b-/.test(record.value) ? " (from the aborted transaction)" : ""}`);
    if (seen.has(record.value)) throw new Error(`${record.value} received twice`);
    seen.add(record.value);
  }
  if (seen.size !== order.length) throw new Error(`received ${seen.size} of ${order.length} records (missing ${order.filter((v) => !seen.has(v)).slice(0, 3).join(", ")})`);
  const byPartition = new Map();
  for (const record of received) byPartition.set(record.partition, [...(byPartition.get(record.partition) ?? []), record]);
  for (const [partition, records] of byPartition) {
    records.sort((a, b) => a.offset - b.offset);
    for (let j = 1; j < records.length; j++)
      if (rank.get(records[j].value) < rank.get(records[j - 1].value)) throw new Error(`partition ${partition}: ${records[j].value} after ${records[j - 1].value}`);
  }
  for (const [name] of TRANSACTIONS) {
    const spread = new Set(received.filter((r) => r.value.startsWith(`${name}-`)).map((r) => r.partition));
    if (spread.size > 0 && spread.size < 2) throw new Error(`transaction ${name} landed in ${spread.size} partition, want at least 2`);
  }
}

export async function waitUntil(condition, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Runs one step; an error becomes "step: message". */
export async function step(name, body) {
  try {
    return await body();
  } catch (error) {
    if (error instanceof NotSupported) throw error;
    const message = String(error?.message ?? error).split("\n")[0];
    const wrapped = new Error(`${name}: ${error?.name && error.name !== "Error" ? `${error.name}: ` : ""}${message}`);
    throw wrapped;
  }
}

/** Prints the restart marker and waits for the runner to say the gateway is back. */
export async function askRestart() {
  process.stdout.write("RESTART\n");
  let buffered = "";
  for await (const chunk of process.stdin) {
    buffered += chunk.toString();
    if (buffered.includes("RESTARTED")) return;
  }
  throw new Error("runner closed stdin before the gateway restarted");
}

/** Runs a scenario table entry and prints the verdict; exits the process. */
export async function main(scenarios) {
  // The uplink scenario also gets the central cluster's bootstrap.
  const [scenario, bootstrap, ...more] = process.argv.slice(2);
  const run = scenarios[scenario];
  let code = 0;
  if (!run) {
    process.stdout.write(`FAIL: no scenario ${scenario}\n`);
    code = 1;
  } else {
    try {
      await run(bootstrap, ...more);
      process.stdout.write("PASS\n");
    } catch (error) {
      if (error instanceof NotSupported) process.stdout.write(`NS: ${error.message}\n`);
      else {
        process.stdout.write(`FAIL: ${String(error?.message ?? error).split("\n")[0]}\n`);
        code = 1;
      }
    }
  }
  process.exit(code);
}
