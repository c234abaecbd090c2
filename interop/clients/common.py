"""What the Python client programs share: the records each scenario sends, the checks on what came back, and the
one-line verdict the runner reads (PASS / NS: reason / FAIL: reason). Mirrors common.mjs."""

import random
import sys
import time
import traceback

BASE_TIMESTAMP = 1_700_000_000_000
BASIC_RECORDS = 1000
PARTITIONS = 3
LARGE_BYTES = 900 * 1024
SMALL_RECORDS = 10_000
# The uplink scenario: UPLINK_RECORDS basic records produced at an edge gateway whose uplink forwards topics named
# uplink-* to a central gateway (the program's third argument), then read back from the central one.
UPLINK_RECORDS = 300
UPLINK_TIMEOUT_S = 30


class NotSupported(Exception):
    pass


class Failure(Exception):
    pass


def topic_name(prefix):
    return "%s-%x-%x" % (prefix, int(time.time() * 1000), random.randrange(1 << 30))


def basic_record(i):
    return {
        "key": "key-%d" % i,
        "value": "value-%d" % i,
        "headers": {"index": str(i), "origin": "interop"},
        "timestamp": BASE_TIMESTAMP + i,
    }


def large_value():
    return bytes(((i * 31 + 7) & 0xFF) for i in range(LARGE_BYTES))


def check_basic(received, count=BASIC_RECORDS, headers=True, timestamps=True, partitions=PARTITIONS):
    """received: dicts with partition, offset, key, value, headers (dict), timestamp."""
    seen = {}
    for r in received:
        key = r["key"] or ""
        if not key.startswith("key-"):
            raise Failure("unexpected key %r" % key)
        i = int(key[4:])
        if i in seen:
            raise Failure("key-%d received twice" % i)
        seen[i] = r
        want = basic_record(i)
        if r["value"] != want["value"]:
            raise Failure("key-%d: value %r, want %s" % (i, r["value"], want["value"]))
        if headers and (r["headers"].get("index") != want["headers"]["index"] or r["headers"].get("origin") != "interop"):
            raise Failure("key-%d: headers %r, want %r" % (i, r["headers"], want["headers"]))
        if timestamps and r["timestamp"] != want["timestamp"]:
            raise Failure("key-%d: timestamp %r, want %d" % (i, r["timestamp"], want["timestamp"]))
    if len(seen) != count:
        raise Failure("received %d of %d records" % (len(seen), count))
    by_partition = {}
    for r in received:
        by_partition.setdefault(r["partition"], []).append(r)
    if len(by_partition) != partitions:
        raise Failure("records landed in %d partitions, want %d" % (len(by_partition), partitions))
    for partition, records in by_partition.items():
        records.sort(key=lambda r: r["offset"])
        for before, after in zip(records, records[1:]):
            if int(after["key"][4:]) < int(before["key"][4:]):
                raise Failure("partition %d: %s at offset %d after %s" % (partition, after["key"], after["offset"], before["key"]))


def check_large(received, label):
    received = sorted(received, key=lambda r: r["offset"])
    if len(received) != SMALL_RECORDS + 1:
        raise Failure("%s: received %d of %d records" % (label, len(received), SMALL_RECORDS + 1))
    if received[0]["value_bytes"] != large_value():
        raise Failure("%s: the 900 KB record came back as %d different bytes" % (label, len(received[0]["value_bytes"] or b"")))
    for i in range(SMALL_RECORDS):
        r = received[i + 1]
        if r["offset"] != i + 1 or r["value"] != "small-%d" % i:
            raise Failure("%s: offset %d holds %r, want small-%d at %d" % (label, r["offset"], r["value"][:40], i, i + 1))


# The idempotent scenario: records sent by an idempotent producer in several sends of IDEMPOTENT_BATCH.
IDEMPOTENT_RECORDS = 500
IDEMPOTENT_BATCH = 100

# The transactions scenario (see common.mjs): commit a, abort b, commit c, each TXN_RECORDS records over 2
# partitions; a sends the input topic's offset TXN_COMMITTED_OFFSET for the group, b (aborted) TXN_ABORTED_OFFSET.
TRANSACTIONS = [("a", True), ("b", False), ("c", True)]
TXN_PARTITIONS = 2
TXN_RECORDS = 10
TXN_INPUT_RECORDS = 10
TXN_COMMITTED_OFFSET = 5
TXN_ABORTED_OFFSET = 7


def txn_value(name, i):
    return "%s-%d" % (name, i)


def check_contiguous(received):
    """Each partition holds its records at offsets 0, 1, 2, ...: no batch stored twice or skipped."""
    by_partition = {}
    for r in received:
        by_partition.setdefault(r["partition"], []).append(r["offset"])
    for partition, offsets in by_partition.items():
        offsets.sort()
        for i, offset in enumerate(offsets):
            if offset != i:
                raise Failure("partition %d: offset %d at position %d, want contiguous offsets from 0" % (partition, offset, i))


def check_transactions(received, committed_only):
    """received: dicts with partition, offset, value. Exactly the committed (or all) transactions' records, each
    once, in the order sent within each partition, each transaction over at least 2 partitions."""
    order = [txn_value(name, i) for name, commit in TRANSACTIONS if commit or not committed_only for i in range(TXN_RECORDS)]
    rank = {value: index for index, value in enumerate(order)}
    seen = set()
    for r in received:
        if r["value"] not in rank:
            aborted = " (from the aborted transaction)" if committed_only and r["value"].startswith("b-") else ""
            raise Failure("unexpected record %r at %d/%d%s" % (r["value"], r["partition"], r["offset"], aborted))
        if r["value"] in seen:
            raise Failure("%s received twice" % r["value"])
        seen.add(r["value"])
    if len(seen) != len(order):
        raise Failure("received %d of %d records (missing %s)" % (len(seen), len(order), [v for v in order if v not in seen][:3]))
    by_partition = {}
    for r in received:
        by_partition.setdefault(r["partition"], []).append(r)
    for partition, records in by_partition.items():
        records.sort(key=lambda r: r["offset"])
        for before, after in zip(records, records[1:]):
            if rank[after["value"]] < rank[before["value"]]:
                raise Failure("partition %d: %s after %s" % (partition, after["value"], before["value"]))
    for name, _ in TRANSACTIONS:
        spread = {r["partition"] for r in received if r["value"].startswith(name + "-")}
        if 0 < len(spread) < 2:
            raise Failure("transaction %s landed in %d partition, want at least 2" % (name, len(spread)))


def wait_until(condition, timeout_s, what):
    deadline = time.time() + timeout_s
    while not condition():
        if time.time() > deadline:
            raise Failure("timed out after %d s waiting for %s" % (timeout_s, what()))
        time.sleep(0.05)


class step:
    """`with step("name"):` turns an error into "name: message"."""

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        return self

    def __exit__(self, kind, error, tb):
        if error is None or isinstance(error, NotSupported):
            return False
        message = str(error).split("\n")[0] or kind.__name__
        if isinstance(error, Failure):
            raise Failure("%s: %s" % (self.name, message))
        raise Failure("%s: %s: %s" % (self.name, kind.__name__, message))


def ask_restart():
    sys.stdout.write("RESTART\n")
    sys.stdout.flush()
    for line in sys.stdin:
        if "RESTARTED" in line:
            return
    raise Failure("runner closed stdin before the gateway restarted")


def main(scenarios):
    scenario, bootstrap, more = sys.argv[1], sys.argv[2], sys.argv[3:]  # uplink: the central cluster too
    run = scenarios.get(scenario)
    if run is None:
        print("FAIL: no scenario %s" % scenario, flush=True)
        sys.exit(1)
    try:
        run(bootstrap, *more)
    except NotSupported as error:
        print("NS: %s" % error, flush=True)
        sys.exit(0)
    except Exception as error:  # the verdict line names whatever went wrong
        if not isinstance(error, Failure):
            traceback.print_exc()
        print("FAIL: %s" % str(error).split("\n")[0], flush=True)
        sys.exit(1)
    print("PASS", flush=True)
    sys.exit(0)
