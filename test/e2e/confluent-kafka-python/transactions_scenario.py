"""librdkafka (Debian's python3-confluent-kafka) idempotence and transactions against kgate: an idempotent
producer (enable.idempotence=true) writes 1000 records; a transactional producer commits, aborts and commits
again, with send_offsets_to_transaction for a consumer group; a read_committed consumer sees only committed data in
order, a read_uncommitted one sees everything; a second producer with the same transactional.id fences the first.
Prints one JSON line with what it saw; exits non-zero on a failed check."""

import json
import sys

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

BOOTSTRAP, PREFIX = sys.argv[1], sys.argv[2]
IDEMPOTENT_TOPIC = f"{PREFIX}-idempotent"
TXN_TOPIC = f"{PREFIX}-txn"
GROUP = f"{PREFIX}-group"


def check(condition, message):
    if not condition:
        print(json.dumps({"ok": False, "error": message}))
        sys.exit(1)


def consume(topic, isolation, expected, idle_polls=6):
    consumer = Consumer({
        "bootstrap.servers": BOOTSTRAP, "group.id": f"reader-{topic}-{isolation}", "auto.offset.reset": "earliest",
        "isolation.level": isolation, "enable.auto.commit": False,
    })
    consumer.subscribe([topic])
    seen, idle = [], 0
    for _ in range(expected + 400):
        message = consumer.poll(0.25)
        if message is None:
            idle += 1
            if len(seen) >= expected and idle >= idle_polls:
                break
            continue
        if message.error():
            continue
        idle = 0
        seen.append((message.partition(), message.offset(), message.value().decode()))
    consumer.close()
    return seen


admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
for future in admin.create_topics([NewTopic(IDEMPOTENT_TOPIC, 1, 1), NewTopic(TXN_TOPIC, 2, 1)]).values():
    future.result(10)

# Idempotent producer: librdkafka sends InitProducerId and sequence numbers; everything lands once, in order.
producer = Producer({"bootstrap.servers": BOOTSTRAP, "enable.idempotence": True, "linger.ms": 2})
for i in range(1000):
    producer.produce(IDEMPOTENT_TOPIC, value=f"i{i}".encode())
check(producer.flush(20) == 0, "idempotent flush timed out")
idempotent = consume(IDEMPOTENT_TOPIC, "read_committed", 1000)
check([value for _, _, value in idempotent] == [f"i{i}" for i in range(1000)], f"idempotent records wrong: {len(idempotent)}")
check([offset for _, offset, _ in idempotent] == list(range(1000)), "idempotent offsets not contiguous")

# Transactions: commit, abort, commit; offsets sent with the first commit.
txn = Producer({"bootstrap.servers": BOOTSTRAP, "transactional.id": f"{PREFIX}-tx", "transaction.timeout.ms": 30000})
txn.init_transactions(10)
group_metadata = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": GROUP}).consumer_group_metadata()
for name, commit in (("a", True), ("b", False), ("c", True)):
    txn.begin_transaction()
    for i in range(10):
        txn.produce(TXN_TOPIC, value=f"{name}{i}".encode(), partition=i % 2)
    if name == "a":
        txn.send_offsets_to_transaction([TopicPartition(IDEMPOTENT_TOPIC, 0, 500)], group_metadata, 10)
    if commit:
        txn.commit_transaction(10)
    else:
        txn.flush(10)  # abort_transaction purges what is still queued: send it first, so the abort has data to abort
        txn.abort_transaction(10)

committed = consume(TXN_TOPIC, "read_committed", 20)
committed_values = sorted(value for _, _, value in committed)
check(committed_values == sorted([f"a{i}" for i in range(10)] + [f"c{i}" for i in range(10)]), f"read_committed saw {committed_values}")
for partition in (0, 1):
    in_partition = [value for p, _, value in committed if p == partition]
    check(in_partition == sorted(in_partition), f"partition {partition} out of order: {in_partition}")
everything = consume(TXN_TOPIC, "read_uncommitted", 30)
check(len(everything) == 30, f"read_uncommitted saw {len(everything)} records")

offsets_reader = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": GROUP})
group_offset = offsets_reader.committed([TopicPartition(IDEMPOTENT_TOPIC, 0)], 10)[0].offset
offsets_reader.close()
check(group_offset == 500, f"transactional offset commit not visible: {group_offset}")

# Fencing: a new producer with the same transactional.id makes the old one fail.
txn.begin_transaction()
txn.produce(TXN_TOPIC, value=b"zombie", partition=0)
txn.flush(10)
successor = Producer({"bootstrap.servers": BOOTSTRAP, "transactional.id": f"{PREFIX}-tx"})
successor.init_transactions(10)
fenced = False
try:
    txn.commit_transaction(10)
except KafkaException as error:
    fenced = error.args[0].fatal() or "fenced" in str(error).lower() or error.args[0].txn_requires_abort()
check(fenced, "zombie producer was not fenced")
after = consume(TXN_TOPIC, "read_committed", 20)
check(all(value != "zombie" for _, _, value in after), "zombie record visible to read_committed")

print(json.dumps({"ok": True, "idempotent": len(idempotent), "committed": len(committed), "everything": len(everything), "groupOffset": group_offset}))
