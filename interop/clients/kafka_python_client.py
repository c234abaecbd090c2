"""kafka-python 2.0.2 (Debian) scenarios."""

import logging
import threading
import time

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, OffsetAndMetadata, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic

from common import (BASIC_RECORDS, PARTITIONS, SMALL_RECORDS, UPLINK_RECORDS, UPLINK_TIMEOUT_S, Failure, NotSupported, ask_restart, basic_record,
                    check_basic, check_large, large_value, main, step, topic_name, wait_until)

logging.disable(logging.CRITICAL)


def producer_for(bootstrap, **extra):
    return KafkaProducer(bootstrap_servers=bootstrap, acks="all", **extra)


def produce_basic(bootstrap, topic, start, stop, headers=True, **extra):
    producer = producer_for(bootstrap, **extra)
    futures = []
    for i in range(start, stop):
        r = basic_record(i)
        futures.append(producer.send(
            topic, key=r["key"].encode(), value=r["value"].encode(), timestamp_ms=r["timestamp"],
            headers=[(k, v.encode()) for k, v in r["headers"].items()] if headers else None,
        ))
    producer.flush(20)
    for future in futures:
        future.get(10)
    producer.close(5)


def to_dict(message):
    return {
        "partition": message.partition,
        "offset": message.offset,
        "key": message.key.decode() if message.key is not None else None,
        "value": message.value.decode(errors="replace") if message.value is not None else None,
        "value_bytes": message.value,
        "headers": {k: v.decode() for k, v in (message.headers or [])},
        "timestamp": message.timestamp,
    }


def is_control_record(message):
    """A transaction marker: kafka-python 2.0.2 never checks a batch's control bit (dpkp/kafka-python#1853, fixed in
    2.1 by #2499) and returns markers as records, keyed version 0 + type 0 (abort) or 1 (commit)."""
    return message.key in (b"\x00\x00\x00\x00", b"\x00\x00\x00\x01") and message.value is not None and len(message.value) == 6


def consume_assigned(bootstrap, topic, count, partitions=PARTITIONS, timeout_s=20, drop_markers=False, **extra):
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, **extra)
    assigned = [TopicPartition(topic, p) for p in range(partitions)]
    consumer.assign(assigned)
    consumer.seek_to_beginning(*assigned)
    received = []
    deadline = time.time() + timeout_s
    try:
        while len(received) < count:
            if time.time() > deadline:
                raise Failure("received %d of %d records within %d s" % (len(received), count, timeout_s))
            for messages in consumer.poll(200, max_records=5000).values():
                received.extend(to_dict(m) for m in messages if not (drop_markers and is_control_record(m)))
    finally:
        consumer.close(autocommit=False)
    return received


def create_topic(bootstrap, topic, partitions=PARTITIONS):
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])
    admin.close()


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
    topic = topic_name("admin")
    with step("KafkaAdminClient"):
        client = KafkaAdminClient(bootstrap_servers=bootstrap)
    with step("create_topics"):
        client.create_topics([NewTopic(topic, num_partitions=PARTITIONS, replication_factor=1)])
    with step("list_topics"):
        if topic not in client.list_topics():
            raise Failure("created topic not listed")
    with step("describe_cluster"):
        cluster = client.describe_cluster()
        if len(cluster["brokers"]) != 1 or cluster["controller_id"] < 0:
            raise Failure(str(cluster))
    with step("describe_topics"):
        described = client.describe_topics([topic])
        if len(described[0]["partitions"]) != PARTITIONS:
            raise Failure(str(described)[:200])
    with step("produce"):
        produce_basic(bootstrap, topic, 0, 30)
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    try:
        with step("beginning_offsets/end_offsets"):
            begin, end = consumer.beginning_offsets(partitions), consumer.end_offsets(partitions)
            if any(begin[tp] != 0 for tp in partitions) or sum(end.values()) != 30:
                raise Failure("begin %s end %s" % (list(begin.values()), list(end.values())))
        with step("offsets_for_times"):
            found = consumer.offsets_for_times({tp: basic_record(0)["timestamp"] for tp in partitions})
            if any(found[tp] is None or found[tp].offset != 0 for tp in partitions):
                raise Failure("the first timestamp should give offset 0 everywhere, got %s" % found)
    finally:
        consumer.close()
    with step("describe_configs"):
        client.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    group_id = topic_name("admin-group")
    with step("commit (a group with committed offsets only)"):
        committer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group_id, enable_auto_commit=False)
        committer.commit({TopicPartition(topic, 0): OffsetAndMetadata(5, ""), TopicPartition(topic, 1): OffsetAndMetadata(7, "")})
        committer.close(autocommit=False)
    with step("list_consumer_group_offsets"):
        offsets = client.list_consumer_group_offsets(group_id)
        got = {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == topic}
        if got != {0: 5, 1: 7}:
            raise Failure("committed offsets %s, want {0: 5, 1: 7}" % got)
    with step("list_consumer_groups"):
        if group_id not in [g for g, _ in client.list_consumer_groups()]:
            raise Failure("%s not listed" % group_id)
    with step("describe_consumer_groups"):
        described = client.describe_consumer_groups([group_id])[0]
        if described.state != "Empty" or described.members:
            raise Failure("state %s, %d members" % (described.state, len(described.members)))
    with step("delete_topics"):
        client.delete_topics([topic])
    with step("list_topics after delete"):
        if topic in client.list_topics():
            raise Failure("deleted topic still listed")
    client.close()


class Member(threading.Thread):
    """One group member polling in its own thread: kafka-python joins inside poll(), and a JoinGroup waits for every
    member, so two members polled from one thread would wait on each other."""

    def __init__(self, bootstrap, group_id, topic, name, seen):
        super().__init__(daemon=True)
        self.consumer = KafkaConsumer(
            bootstrap_servers=bootstrap, group_id=group_id, auto_offset_reset="earliest", auto_commit_interval_ms=100,
            session_timeout_ms=6000, heartbeat_interval_ms=500, max_poll_interval_ms=10000,
        )
        self.consumer.subscribe([topic])
        self.name, self.seen, self.stopping, self.error = name, seen, False, None
        self.start()

    def run(self):
        try:
            while not self.stopping:
                for messages in self.consumer.poll(50).values():
                    for m in messages:
                        self.seen[m.key.decode()] = self.name
            self.consumer.close()
        except Exception as error:  # reported by stop()
            self.error = error

    def stop(self):
        self.stopping = True
        self.join(15)
        if self.error:
            raise self.error


def group(bootstrap):
    topic = topic_name("group")
    group_id = topic_name("group-id")
    with step("create_topics"):
        create_topic(bootstrap, topic)
    with step("produce"):
        produce_basic(bootstrap, topic, 0, 300)
    seen = {}
    a = Member(bootstrap, group_id, topic, "a", seen)
    b = Member(bootstrap, group_id, topic, "b", seen)
    with step("two members consume everything"):
        wait_until(lambda: len(seen) >= 300, 25, lambda: "300 records (got %d)" % len(seen))
    with step("members share the partitions"):
        if len(set(seen.values())) != 2:
            raise Failure("only member(s) %s received records" % sorted(set(seen.values())))
    with step("member b leaves"):
        b.stop()
    with step("produce after leave"):
        produce_basic(bootstrap, topic, 300, 400)
    with step("member a gets the rest"):
        wait_until(lambda: len(seen) >= 400, 20, lambda: "400 records (got %d)" % len(seen))
    a.stop()
    with step("produce while the group is empty"):
        produce_basic(bootstrap, topic, 400, 450)
    seen.clear()
    c = Member(bootstrap, group_id, topic, "c", seen)
    with step("a new member resumes from the committed offsets"):
        wait_until(lambda: len(seen) >= 50, 20, lambda: "50 records (got %d)" % len(seen))
        time.sleep(0.5)
    c.stop()
    old = [k for k in seen if int(k[4:]) < 400]
    if old:
        raise Failure("resumed member re-read %d committed records" % len(old))


def compression(bootstrap):
    # kafka-python offers gzip always, snappy/lz4/zstd when python3-snappy/-lz4/-zstandard are installed. It fetches
    # with Fetch v4 only, and Kafka sends zstd batches only to Fetch v10+ (KIP-110; the gateway answers
    # UNSUPPORTED_COMPRESSION_TYPE, as Kafka does): zstd is checked by producing and reading the end offsets.
    failures = []
    topic = topic_name("compression-zstd")
    try:
        with step("create_topics"):
            create_topic(bootstrap, topic)
        with step("produce zstd"):
            produce_basic(bootstrap, topic, 0, 300, compression_type="zstd")
        with step("end_offsets"):
            consumer = KafkaConsumer(bootstrap_servers=bootstrap)
            ends = consumer.end_offsets([TopicPartition(topic, p) for p in range(PARTITIONS)])
            consumer.close()
            if sum(ends.values()) != 300:
                raise Failure("end offsets %s after 300 records" % list(ends.values()))
    except Failure as error:
        failures.append("zstd: %s" % error)
    for codec in ["gzip", "snappy", "lz4"]:
        topic = topic_name("compression-" + codec)
        try:
            with step("create_topics"):
                create_topic(bootstrap, topic)
            with step("produce"):
                produce_basic(bootstrap, topic, 0, 300, compression_type=codec)
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
        producer = producer_for(bootstrap, max_request_size=2_000_000)
        producer.send(topic, value=large_value(), partition=0).get(10)
        for i in range(SMALL_RECORDS):
            producer.send(topic, value=b"small-%d" % i, partition=0)
        producer.flush(30)
        producer.close(5)
    for label, extra in [
        ("fetch_max_bytes=1024", {"fetch_max_bytes": 1024, "max_partition_fetch_bytes": 1024}),
        ("fetch_max_bytes=50 MB", {"fetch_max_bytes": 50_000_000, "max_partition_fetch_bytes": 10_000_000}),
    ]:
        with step("consume " + label):
            received = consume_assigned(bootstrap, topic, SMALL_RECORDS + 1, partitions=1, timeout_s=25, **extra)
        check_large(received, label)


def versions(bootstrap):
    # Default: kafka-python probes the broker version with ApiVersions and picks its protocol from that. An explicit
    # api_version skips the probe: (0, 10, 1) = message format v1 (Produce v2, Fetch v3), (0, 9) = v0 (Produce v1).
    variants = [("default", {}), ("api_version=(2, 0, 0)", {"api_version": (2, 0, 0)}), ("api_version=(0, 10, 1)", {"api_version": (0, 10, 1)}), ("api_version=(0, 9)", {"api_version": (0, 9)})]
    failures = []
    for label, extra in variants:
        topic = topic_name("versions")
        legacy = "(0," in label
        try:
            with step("produce"):
                produce_basic(bootstrap, topic, 0, 30, headers=not legacy, **extra)
            with step("consume"):
                received = consume_assigned(bootstrap, topic, 30, **extra)
            check_basic(received, 30, headers=not legacy, timestamps=label != "api_version=(0, 9)")
        except Failure as error:
            failures.append("%s: %s" % (label, error))
    if failures:
        raise Failure("; ".join(failures))


def restart(bootstrap):
    topic = topic_name("restart")
    with step("create_topics"):
        create_topic(bootstrap, topic)
    producer = producer_for(bootstrap, retries=10, retry_backoff_ms=300, request_timeout_ms=10000)
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, reconnect_backoff_max_ms=1000)
    assigned = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    consumer.assign(assigned)
    consumer.seek_to_beginning(*assigned)
    received = []

    def send(start, stop):
        futures = []
        for i in range(start, stop):
            r = basic_record(i)
            futures.append(producer.send(topic, key=r["key"].encode(), value=r["value"].encode(), timestamp_ms=r["timestamp"],
                                         headers=[(k, v.encode()) for k, v in r["headers"].items()]))
        producer.flush(25)
        for future in futures:
            future.get(10)

    def poll():
        for messages in consumer.poll(100).values():
            received.extend(to_dict(m) for m in messages)

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
    producer.close(5)
    with step("check"):
        check_basic(received, 1000)


def refuses(make, setting):
    """True when kafka-python's constructor rejects `setting` as unknown (it checks its configs against its own list
    before connecting)."""
    try:
        client = make()
    except AssertionError as error:
        return "Unrecognized configs" in str(error) and setting in str(error)
    client.close()
    return False


def idempotent(bootstrap):
    if refuses(lambda: KafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True), "enable_idempotence"):
        raise NotSupported("kafka-python 2.0.2 has no idempotent producer: KafkaProducer rejects enable_idempotence, "
                           "never sends InitProducerId and writes batches with producer id -1")
    raise Failure("this kafka-python accepts enable_idempotence: the scenario is still to be written for it")


def transactions(bootstrap):
    if refuses(lambda: KafkaProducer(bootstrap_servers=bootstrap, transactional_id="interop"), "transactional_id"):
        raise NotSupported("kafka-python 2.0.2 has no transactional producer (KafkaProducer rejects transactional_id; "
                           "no AddPartitionsToTxn/EndTxn) and its consumer always fetches read_uncommitted")
    raise Failure("this kafka-python accepts transactional_id: the scenario is still to be written for it")


def uplink(bootstrap, central):
    topic = topic_name("uplink")
    with step("create_topics (edge)"):
        create_topic(bootstrap, topic)
    with step("produce (edge)"):
        produce_basic(bootstrap, topic, 0, UPLINK_RECORDS)
    with step("topic on the central cluster"):
        # assign() takes partitions that must exist: wait for the uplink to create the topic there.
        consumer = KafkaConsumer(bootstrap_servers=central)
        try:
            wait_until(lambda: len(consumer.partitions_for_topic(topic) or ()) == PARTITIONS, UPLINK_TIMEOUT_S, lambda: "%s on the central cluster" % topic)
        finally:
            consumer.close()
    with step("consume (assign, central)"):
        # The central topic is written in transactions: its commit markers come back as records (is_control_record).
        received = consume_assigned(central, topic, UPLINK_RECORDS, timeout_s=UPLINK_TIMEOUT_S, drop_markers=True)
    with step("check"):
        check_basic(received, UPLINK_RECORDS)


if __name__ == "__main__":
    main({"basic": basic, "admin": admin, "group": group, "compression": compression, "large": large, "versions": versions, "restart": restart,
          "idempotent": idempotent, "transactions": transactions, "uplink": uplink})
