"""librdkafka (Debian's python3-confluent-kafka) consumer groups against kgate, with the assignment strategy given
on the command line: three member processes share a 6-partition topic, one leaves cleanly, one dies silently
(SIGKILL: its session must expire), and every record is consumed with no loss; records are consumed twice only
when a member died before committing them. Prints one JSON line with what it saw; exits non-zero on a failed check."""

import json
import multiprocessing as mp
import os
import signal
import sys
import time

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

BOOTSTRAP, TOPIC, STRATEGY = sys.argv[1], sys.argv[2], sys.argv[3]
GROUP = f"{TOPIC}-group"
PARTITIONS = 6


def produce(start, count):
    producer = Producer({"bootstrap.servers": BOOTSTRAP, "acks": "all", "linger.ms": 5})
    for i in range(start, start + count):
        producer.produce(TOPIC, key=str(i).encode(), value=f"value-{i}".encode(), partition=i % PARTITIONS)
    assert producer.flush(10) == 0


def member(name, events, stop):
    consumer = Consumer({
        "bootstrap.servers": BOOTSTRAP, "group.id": GROUP, "client.id": name,
        "partition.assignment.strategy": STRATEGY, "auto.offset.reset": "earliest",
        "enable.auto.commit": False, "session.timeout.ms": 6000, "heartbeat.interval.ms": 500,
    })
    consumer.subscribe([TOPIC], on_assign=lambda c, ps: events.put(("assign", name, [p.partition for p in ps])),
                       on_revoke=lambda c, ps: events.put(("revoke", name, [p.partition for p in ps])))
    while not stop.is_set():
        message = consumer.poll(0.2)
        if message is None or message.error():
            continue
        events.put(("record", name, int(message.key()), message.partition(), message.offset()))
        consumer.commit(message=message, asynchronous=False)
    consumer.close()  # a clean LeaveGroup


def main():
    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    for future in admin.create_topics([NewTopic(TOPIC, num_partitions=PARTITIONS, replication_factor=1)]).values():
        future.result(10)
    # One queue per member: killing b while it writes to a shared queue can leave the queue's lock held forever and
    # silence the others (Python's multiprocessing warns of exactly this).
    stops = {name: mp.Event() for name in ("a", "b", "c")}
    queues = {name: mp.Queue() for name in stops}
    members = {name: mp.Process(target=member, args=(name, queues[name], stops[name])) for name in stops}
    for process in members.values():
        process.start()

    seen = {}  # key -> number of deliveries
    assigned = {}  # member -> partitions it holds now (cooperative: incremental)

    def drain_until(predicate, timeout_s):
        deadline = time.time() + timeout_s
        while time.time() < deadline:
            drained = []
            for queue in queues.values():
                try:
                    while True:
                        drained.append(queue.get_nowait())
                except Exception:
                    pass
            if not drained:
                time.sleep(0.05)
            for event in drained:
                kind, name = event[0], event[1]
                if kind == "record":
                    seen[event[2]] = seen.get(event[2], 0) + 1
                elif kind == "assign":
                    held = set(assigned.get(name, [])) if STRATEGY == "cooperative-sticky" else set()
                    assigned[name] = sorted(held | set(event[2]))
                elif kind == "revoke":
                    assigned[name] = sorted(set(assigned.get(name, [])) - set(event[2]))
            if predicate():
                return True
        return False

    def check(condition, what):
        if not condition:
            print(json.dumps({"ok": False, "failed": what, "assigned": assigned, "missing": [k for k in range(total) if k not in seen][:20]}))
            for process in members.values():
                process.kill()
            sys.exit(1)

    def disjoint_cover(names):
        held = [p for name in names for p in assigned.get(name, [])]
        return sorted(held) == list(range(PARTITIONS))

    total = 600
    # Produce once the group is stable with all three: a member whose process starts late (a loaded machine) would
    # otherwise join mid-consumption and move partitions, which is correct but not what this phase checks.
    check(drain_until(lambda: disjoint_cover("abc") and all(len(assigned.get(name, [])) == 2 for name in "abc"), 90),
          "three members join and split the six partitions before anything is produced")
    produce(0, total)
    check(drain_until(lambda: len(seen) == total and disjoint_cover("abc"), 90), "three members consume the first 600 records, partitions split among all three")
    check(all(count == 1 for count in seen.values()), "no record delivered twice while all members live")
    check(all(len(assigned[name]) == 2 for name in "abc"), "each of three members holds two of six partitions")

    stops["a"].set()  # a leaves cleanly
    members["a"].join(20)
    check(drain_until(lambda: disjoint_cover("bc"), 30), "after a clean leave, the other two hold every partition")
    produce(total, 300)
    total += 300
    check(drain_until(lambda: len(seen) == total, 60), "the remaining members consume what came after the leave")

    os.kill(members["b"].pid, signal.SIGKILL)  # b dies silently: no LeaveGroup, its session must expire
    produce(total, 300)
    total += 300
    check(drain_until(lambda: len(seen) == total and disjoint_cover("c"), 60), "after b's session expires, c holds every partition and consumes everything")
    stops["c"].set()
    members["c"].join(20)
    duplicates = sum(count - 1 for count in seen.values())
    print(json.dumps({"ok": True, "records": total, "duplicates": duplicates, "strategy": STRATEGY}))


if __name__ == "__main__":
    main()
