# confluent_kafka (librdkafka) or kafka-python against a SASL/TLS listener: produce COUNT records, consume them back
# without a group, print one JSON line per record; on failure print {"error": ...} and exit 1.
# usage: sasl_client.py confluent|kafka-python BOOTSTRAP PROTOCOL MECHANISM USER PASSWORD CA_FILE TOPIC COUNT
import json
import sys
import time

client, bootstrap, protocol, mechanism, user, password, ca_file, topic, count = sys.argv[1:10]
count = int(count)

if client == "confluent":
    from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

    common = {"bootstrap.servers": bootstrap, "security.protocol": protocol, "sasl.mechanisms": mechanism, "sasl.username": user, "sasl.password": password}
    if ca_file != "-":
        common["ssl.ca.location"] = ca_file
    errors = []
    refused = []
    def on_error(error):
        errors.append(str(error))
        if error.code() == KafkaError._AUTHENTICATION:
            refused.append(error)
    # A slow machine gets 20 s to deliver; refused credentials end the wait at once (librdkafka would otherwise fail
    # the queued records only at message.timeout.ms).
    producer = Producer({**common, "error_cb": on_error, "message.timeout.ms": 20000})
    delivered = []
    for i in range(count):
        producer.produce(topic, key=b"k%d" % i, value=b"value %d" % i, partition=0, on_delivery=lambda err, msg: delivered.append(err))
    deadline = time.time() + 25
    while len(delivered) < count and not refused and time.time() < deadline:
        producer.poll(0.1)
    if len(delivered) != count or any(delivered):
        print(json.dumps({"error": str(errors[:1] or delivered[:1])}))
        sys.exit(1)
    consumer = Consumer({**common, "group.id": "unused", "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, 0, 0)])
    got = 0
    while got < count:
        message = consumer.poll(10)
        if message is None:
            break
        if message.error():
            raise KafkaException(message.error())
        print(json.dumps({"offset": message.offset(), "value": message.value().decode()}))
        got += 1
    consumer.close()
else:
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    common = {"bootstrap_servers": bootstrap, "security_protocol": protocol, "sasl_mechanism": mechanism, "sasl_plain_username": user, "sasl_plain_password": password}
    if ca_file != "-":
        common["ssl_cafile"] = ca_file
    try:
        producer = KafkaProducer(**common)
        for i in range(count):
            producer.send(topic, key=b"k%d" % i, value=b"value %d" % i, partition=0).get(timeout=10)
        producer.close()
    except Exception as error:  # noqa: BLE001 - the test reads the message
        print(json.dumps({"error": repr(error)}))
        sys.exit(1)
    # Up to 20 s of silence until every record came (2 s could end the read before a slow start's first fetch), then
    # 1 s more for anything past them.
    consumer = KafkaConsumer(**common, group_id=None, enable_auto_commit=False, consumer_timeout_ms=20000)
    partition = TopicPartition(topic, 0)
    consumer.assign([partition])
    consumer.seek_to_beginning(partition)
    received = 0
    for message in consumer:
        print(json.dumps({"offset": message.offset, "value": message.value.decode()}))
        received += 1
        if received == count:
            consumer.config["consumer_timeout_ms"] = 1000  # read at each next()
    consumer.close()
