# kafka-python (Debian's python3-kafka 2.0.2) pinned to an old protocol: api_version 0.8.2 speaks Produce v0 / Fetch
# v0 (message format magic 0), 0.10.x Produce v2 / Fetch v2-3 (magic 1). Produces COUNT records, then consumes the
# partition from the beginning without a group and prints one JSON line per record.
# usage: client.py PORT API_VERSION CODEC(none|gzip) TOPIC COUNT [consume-only]
import json
import sys

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

port, api, codec, topic, count = sys.argv[1], tuple(int(x) for x in sys.argv[2].split(".")), sys.argv[3], sys.argv[4], int(sys.argv[5])
bootstrap = f"127.0.0.1:{port}"
if len(sys.argv) < 7:
    producer = KafkaProducer(bootstrap_servers=bootstrap, api_version=api, compression_type=None if codec == "none" else codec, linger_ms=20)
    futures = [producer.send(topic, key=b"k%d" % i, value=(f"{topic} value {i} " * 4).encode(), partition=0) for i in range(count)]
    producer.flush()
    for future in futures:
        future.get(timeout=10)
    producer.close()
# Up to 20 s of silence until COUNT records came (a 3 s limit could end the read before a slow start's first fetch),
# then 1 s more, for anything past COUNT.
consumer = KafkaConsumer(bootstrap_servers=bootstrap, api_version=api, group_id=None, enable_auto_commit=False, consumer_timeout_ms=20000)
partition = TopicPartition(topic, 0)
consumer.assign([partition])
consumer.seek_to_beginning(partition)
received = 0
for message in consumer:
    print(json.dumps({"offset": message.offset, "key": message.key.decode() if message.key else None, "value": message.value.decode(), "timestamp": message.timestamp}))
    received += 1
    if received == count:
        consumer.config["consumer_timeout_ms"] = 1000  # read at each next()
consumer.close()
