"""confluent-kafka-python 1.7.0 (Debian, on librdkafka 2.0.2) scenarios."""

import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

from common import (BASIC_RECORDS, IDEMPOTENT_BATCH, IDEMPOTENT_RECORDS, PARTITIONS, SMALL_RECORDS, TRANSACTIONS,
                    TXN_ABORTED_OFFSET, TXN_COMMITTED_OFFSET, TXN_INPUT_RECORDS, TXN_PARTITIONS, TXN_RECORDS, UPLINK_RECORDS,
                    UPLINK_TIMEOUT_S, Failure,
                    ask_restart, basic_record, check_basic, check_contiguous, check_large, check_transactions,
                    large_value, main, step, topic_name, txn_value, wait_until)

QUIET = {"log_level": 3}


def produce_basic(bootstrap, topic, start, stop, extra=None):
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", **QUIET, **(extra or {})})
    errors = []

    def delivered(error, _message):
        if error is not None:
            errors.append(str(error))

    for i in range(start, stop):
        r = basic_record(i)
        producer.produce(topic, key=r["key"], value=r["value"], headers=list(r["headers"].items()), timestamp=r["timestamp"], on_delivery=delivered)
        producer.poll(0)
    left = producer.flush(20)
    if left or errors:
        raise Failure("%d undelivered, errors: %s" % (left, errors[:2]))


def consume_assigned(bootstrap, topic, count, partitions=PARTITIONS, timeout_s=20, extra=None):
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "interop-unused", "enable.auto.commit": False, **QUIET, **(extra or {})})
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
    received = []
    deadline = time.time() + timeout_s
    try:
        while len(received) < count:
            if time.time() > deadline:
                raise Failure("received %d of %d records within %d s" % (len(received), count, timeout_s))
            for message in consumer.consume(1000, 0.2):
                if message.error():
                    if message.error().code() == -191:  # _PARTITION_EOF
                        continue
                    raise KafkaException(message.error())
                received.append({
                    "partition": message.partition(),
                    "offset": message.offset(),
                    "key": message.key().decode() if message.key() is not None else None,
                    "value": message.value().decode(errors="replace") if message.value() is not None else None,
                    "value_bytes": message.value(),
                    "headers": {k: v.decode() for k, v in (message.headers() or [])},
                    "timestamp": message.timestamp()[1],
                })
    finally:
        consumer.close()
    return received


def create_topic(bootstrap, topic, partitions=PARTITIONS):
    admin = AdminClient({"bootstrap.servers": bootstrap, **QUIET})
    for future in admin.create_topics([NewTopic(topic, partitions, 1)]).values():
        future.result(15)


def basic(bootstrap):
    topic = topic_name("basic")
    with step("create_topics"):
        create_topic(bootstrap, topic)
    with step("produce"):
        produce_basic(bootstrap, topic, 0, BASIC_RECORDS)
    with step("consume (assign)"):
        received = consume_assigned(bootstrap, topic, BASIC_RECORDS)
    with step("check"):
        check_basic(received)


def admin(bootstrap):
    client = AdminClient({"bootstrap.servers": bootstrap, **QUIET})
    topic = topic_name("admin")
    with step("create_topics"):
        for future in client.create_topics([NewTopic(topic, PARTITIONS, 1)]).values():
            future.result(15)
    with step("list_topics"):
        metadata = client.list_topics(timeout=10)
        if topic not in metadata.topics or len(metadata.topics[topic].partitions) != PARTITIONS or len(metadata.brokers) != 1:
            raise Failure("created topic missing or wrong partition/broker count")
        if metadata.controller_id < 0 or not metadata.cluster_id:
            raise Failure("controller %s, cluster id %r" % (metadata.controller_id, metadata.cluster_id))
    with step("produce"):
        produce_basic(bootstrap, topic, 0, 30)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "interop-unused", **QUIET})
    try:
        with step("get_watermark_offsets"):
            marks = [consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10) for p in range(PARTITIONS)]
            if sum(high for _, high in marks) != 30 or any(low != 0 for low, _ in marks):
                raise Failure(str(marks))
        with step("offsets_for_times"):
            found = consumer.offsets_for_times([TopicPartition(topic, p, basic_record(0)["timestamp"]) for p in range(PARTITIONS)], timeout=10)
            if any(tp.offset != 0 for tp in found):
                raise Failure("the first timestamp should give offset 0 everywhere, got %s" % [tp.offset for tp in found])
            late = consumer.offsets_for_times([TopicPartition(topic, p, basic_record(10_000_000)["timestamp"]) for p in range(PARTITIONS)], timeout=10)
            if any(tp.offset != -1 for tp in late):
                raise Failure("a timestamp after every record should give -1, got %s" % [tp.offset for tp in late])
    finally:
        consumer.close()
    with step("describe_configs"):
        for future in client.describe_configs([ConfigResource("topic", topic)]).values():
            configs = future.result(10)
            if "cleanup.policy" not in configs:
                raise Failure("no cleanup.policy in %s" % sorted(configs)[:5])
    group_id = topic_name("admin-group")
    with step("commit (a group with committed offsets only)"):
        committer = Consumer({"bootstrap.servers": bootstrap, "group.id": group_id, **QUIET})
        committer.commit(offsets=[TopicPartition(topic, 0, 5), TopicPartition(topic, 1, 7)], asynchronous=False)
        got = committer.committed([TopicPartition(topic, p) for p in range(PARTITIONS)], timeout=10)
        committer.close()
        if [tp.offset for tp in got] != [5, 7, -1001]:
            raise Failure("committed offsets %s, want [5, 7, -1001 (none)]" % [tp.offset for tp in got])
    with step("list_groups"):
        groups = client.list_groups(timeout=10)
        if group_id not in [g.id for g in groups]:
            raise Failure("%s not listed" % group_id)
        mine = client.list_groups(group_id, timeout=10)
        if len(mine) != 1 or mine[0].state != "Empty" or mine[0].members:
            raise Failure("described as %s" % [(g.id, g.state, len(g.members)) for g in mine])
    with step("delete_topics"):
        for future in client.delete_topics([topic]).values():
            future.result(15)
    with step("list_topics after delete"):
        if topic in client.list_topics(timeout=10).topics:
            raise Failure("deleted topic still listed")


def group(bootstrap):
    topic = topic_name("group")
    group_id = topic_name("group-id")
    with step("create_topics"):
        create_topic(bootstrap, topic)
    with step("produce"):
        produce_basic(bootstrap, topic, 0, 300)
    seen = {}

    def member():
        consumer = Consumer({
            "bootstrap.servers": bootstrap, "group.id": group_id, "auto.offset.reset": "earliest",
            "auto.commit.interval.ms": 100, "session.timeout.ms": 6000, "heartbeat.interval.ms": 500, **QUIET,
        })
        consumer.subscribe([topic])
        return consumer

    def poll(members, names):
        for consumer, name in zip(members, names):
            for message in consumer.consume(500, 0.05):
                if not message.error():
                    seen[message.key().decode()] = name

    a, b = member(), member()
    with step("two members consume everything"):
        wait_until(lambda: poll([a, b], "ab") or len(seen) >= 300, 25, lambda: "300 records (got %d)" % len(seen))
    with step("members share the partitions"):
        if len(set(seen.values())) != 2:
            raise Failure("only member(s) %s received records" % sorted(set(seen.values())))
    with step("member b leaves"):
        b.close()
    with step("produce after leave"):
        produce_basic(bootstrap, topic, 300, 400)
    with step("member a gets the rest"):
        wait_until(lambda: poll([a], "a") or len(seen) >= 400, 20, lambda: "400 records (got %d)" % len(seen))
    a.close()
    with step("produce while the group is empty"):
        produce_basic(bootstrap, topic, 400, 450)
    seen.clear()
    c = member()
    with step("a new member resumes from the committed offsets"):
        wait_until(lambda: poll([c], "c") or len(seen) >= 50, 20, lambda: "50 records (got %d)" % len(seen))
        end = time.time() + 0.5
        while time.time() < end:
            poll([c], "c")
    c.close()
    old = [k for k in seen if int(k[4:]) < 400]
    if old:
        raise Failure("resumed member re-read %d committed records" % len(old))


def compression(bootstrap):
    failures = []
    for codec in ["gzip", "snappy", "lz4", "zstd"]:
        topic = topic_name("compression-" + codec)
        try:
            with step("create_topics"):
                create_topic(bootstrap, topic)
            with step("produce"):
                produce_basic(bootstrap, topic, 0, 300, {"compression.type": codec})
            with step("consume"):
                received = consume_assigned(bootstrap, topic, 300)
            check_basic(received, 300)
        except Failure as error:
            failures.append("%s: %s" % (codec, error))
    if failures:
        raise Failure("; ".join(failures))


def large(bootstrap):
    topic = topic_name("large")
    with step("create_topics"):
        create_topic(bootstrap, topic, 1)
    with step("produce"):
        producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", **QUIET})
        producer.produce(topic, value=large_value(), partition=0)
        producer.flush(20)
        for i in range(SMALL_RECORDS):
            producer.produce(topic, value=b"small-%d" % i, partition=0)
            if i % 1000 == 0:
                producer.poll(0)
        if producer.flush(20):
            raise Failure("records left undelivered")
    for label, extra in [
        ("fetch.message.max.bytes=1024", {"fetch.message.max.bytes": 1024, "fetch.max.bytes": 1024, "message.max.bytes": 1000}),
        ("fetch.max.bytes=50 MB", {"fetch.message.max.bytes": 10_000_000, "fetch.max.bytes": 50_000_000, "receive.message.max.bytes": 60_000_000}),
    ]:
        with step("consume " + label):
            received = consume_assigned(bootstrap, topic, SMALL_RECORDS + 1, partitions=1, extra=extra)
        check_large(received, label)


def versions(bootstrap):
    # Default: ApiVersions, then librdkafka 2.0.2's newest versions. Without ApiVersions the feature set comes from
    # broker.version.fallback: 0.11.0 = record batches, 0.10.0 = message format v1, 0.9.0 = v0.
    variants = [
        ("default", {}),
        ("broker.version.fallback=0.11.0", {"api.version.request": False, "broker.version.fallback": "0.11.0"}),
        ("broker.version.fallback=0.10.0", {"api.version.request": False, "broker.version.fallback": "0.10.0"}),
        ("broker.version.fallback=0.9.0", {"api.version.request": False, "broker.version.fallback": "0.9.0"}),
    ]
    failures = []
    for label, extra in variants:
        topic = topic_name("versions")
        legacy = "0.9" in label or "0.10" in label
        try:
            with step("produce"):
                produce_basic(bootstrap, topic, 0, 30, extra)
            with step("consume"):
                received = consume_assigned(bootstrap, topic, 30, extra=extra)
            check_basic(received, 30, headers=not legacy, timestamps="0.9" not in label)
        except Failure as error:
            failures.append("%s: %s" % (label, error))
    if failures:
        raise Failure("; ".join(failures))


def restart(bootstrap):
    topic = topic_name("restart")
    with step("create_topics"):
        create_topic(bootstrap, topic)
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "message.timeout.ms": 20000, **QUIET})
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "interop-unused", "enable.auto.commit": False, **QUIET})
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(PARTITIONS)])
    received = []

    def send(start, stop):
        for i in range(start, stop):
            r = basic_record(i)
            producer.produce(topic, key=r["key"], value=r["value"], headers=list(r["headers"].items()), timestamp=r["timestamp"])
        if producer.flush(25):
            raise Failure("records left undelivered")

    def poll():
        for message in consumer.consume(1000, 0.1):
            if not message.error():
                received.append({
                    "partition": message.partition(), "offset": message.offset(), "key": message.key().decode(),
                    "value": message.value().decode(), "headers": {k: v.decode() for k, v in message.headers() or []},
                    "timestamp": message.timestamp()[1],
                })

    with step("produce before restart"):
        send(0, 500)
    with step("consume before restart"):
        wait_until(lambda: poll() or len(received) >= 500, 15, lambda: "500 records (got %d)" % len(received))
    ask_restart()
    with step("the same producer after restart"):
        send(500, 1000)
    with step("the same consumer after restart"):
        wait_until(lambda: poll() or len(received) >= 1000, 20, lambda: "1000 records (got %d)" % len(received))
    consumer.close()
    with step("check"):
        check_basic(received, 1000)


def idempotent(bootstrap):
    topic = topic_name("idempotent")
    with step("create_topics"):
        create_topic(bootstrap, topic)
    with step("produce (enable.idempotence)"):
        producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, **QUIET})
        errors = []
        for start in range(0, IDEMPOTENT_RECORDS, IDEMPOTENT_BATCH):
            for i in range(start, start + IDEMPOTENT_BATCH):
                r = basic_record(i)
                producer.produce(topic, key=r["key"], value=r["value"], headers=list(r["headers"].items()), timestamp=r["timestamp"],
                                 on_delivery=lambda error, _m: error is not None and errors.append(str(error)))
            if producer.flush(20) or errors:
                raise Failure("records left undelivered, errors: %s" % errors[:2])
    with step("consume (assign, read_committed)"):
        received = consume_assigned(bootstrap, topic, IDEMPOTENT_RECORDS, extra={"isolation.level": "read_committed"})
    with step("check"):
        check_basic(received, IDEMPOTENT_RECORDS)
        check_contiguous(received)


def transactions(bootstrap):
    topic = topic_name("txn")
    input_topic = topic_name("txn-input")
    group_id = topic_name("txn-group")
    with step("create_topics"):
        create_topic(bootstrap, topic, TXN_PARTITIONS)
        create_topic(bootstrap, input_topic, 1)
    with step("produce the input"):
        produce_basic(bootstrap, input_topic, 0, TXN_INPUT_RECORDS)
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": topic_name("txn-id"), "transaction.timeout.ms": 30000, **QUIET})
    # send_offsets_to_transaction takes the group from a consumer's group metadata (group.id; no membership needed).
    group_consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group_id, "enable.auto.commit": False, **QUIET})
    try:
        with step("init_transactions"):
            producer.init_transactions(10)
        for name, commit in TRANSACTIONS:
            with step("transaction %s (%s)" % (name, "commit" if commit else "abort")):
                producer.begin_transaction()
                for i in range(TXN_RECORDS):
                    producer.produce(topic, value=txn_value(name, i), partition=i % TXN_PARTITIONS)
                offset = {"a": TXN_COMMITTED_OFFSET, "b": TXN_ABORTED_OFFSET}.get(name)
                if offset is not None:
                    producer.send_offsets_to_transaction([TopicPartition(input_topic, 0, offset)], group_consumer.consumer_group_metadata(), 10)
                if commit:
                    producer.commit_transaction(10)
                else:
                    # abort_transaction purges what is still queued: send it first, so that the abort has data to abort.
                    if producer.flush(10):
                        raise Failure("records left unsent before the abort")
                    producer.abort_transaction(10)
        with step("group offset committed in the transaction"):
            offset = group_consumer.committed([TopicPartition(input_topic, 0)], timeout=10)[0].offset
            if offset != TXN_COMMITTED_OFFSET:
                raise Failure("the group's offset is %s, want %d (sent in transaction a; b's %d was aborted)" % (offset, TXN_COMMITTED_OFFSET, TXN_ABORTED_OFFSET))
    finally:
        group_consumer.close()
    committed_count = sum(1 for _, commit in TRANSACTIONS if commit) * TXN_RECORDS
    with step("consume read_committed"):
        committed = consume_assigned(bootstrap, topic, committed_count, partitions=TXN_PARTITIONS, extra={"isolation.level": "read_committed"})
    with step("check read_committed"):
        check_transactions(committed, committed_only=True)
    with step("consume read_uncommitted"):
        everything = consume_assigned(bootstrap, topic, len(TRANSACTIONS) * TXN_RECORDS, partitions=TXN_PARTITIONS, extra={"isolation.level": "read_uncommitted"})
    with step("check read_uncommitted"):
        check_transactions(everything, committed_only=False)


def uplink(bootstrap, central):
    topic = topic_name("uplink")
    with step("create_topics (edge)"):
        create_topic(bootstrap, topic)
    with step("produce (edge)"):
        produce_basic(bootstrap, topic, 0, UPLINK_RECORDS)
    with step("consume (assign, central)"):
        received = consume_assigned(central, topic, UPLINK_RECORDS, timeout_s=UPLINK_TIMEOUT_S)
    with step("check"):
        check_basic(received, UPLINK_RECORDS)


if __name__ == "__main__":
    main({"basic": basic, "admin": admin, "group": group, "compression": compression, "large": large, "versions": versions, "restart": restart,
          "idempotent": idempotent, "transactions": transactions, "uplink": uplink})
