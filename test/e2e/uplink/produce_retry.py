# Produces COUNT records ("<topic> <i>") to partition 0 of TOPIC with Debian's python3-confluent-kafka (librdkafka) or
# python3-kafka (kafka-python), and prints one JSON line: how many were acknowledged, and the delivery errors.
# Usage: produce_retry.py confluent|kafka-python BOOTSTRAP TOPIC COUNT [idempotent]
import json
import sys

library, bootstrap, topic, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
idempotent = len(sys.argv) > 5 and sys.argv[5] == "idempotent"
values = [f"{topic} {i}" for i in range(count)]
delivered = 0
errors = []

if library == "confluent":
    from confluent_kafka import Producer

    # Defaults otherwise: message.send.max.retries 2147483647, retry.backoff.ms 100, message.timeout.ms 300000.
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": idempotent, "linger.ms": 5})

    def report(error, message):
        global delivered
        if error is None:
            delivered += 1
        else:
            errors.append(str(error))

    for value in values:
        producer.produce(topic, value.encode(), partition=0, on_delivery=report)
    left = producer.flush(60)
    if left:
        errors.append(f"{left} message(s) still queued after 60 s")
elif library == "kafka-python":
    from kafka import KafkaProducer

    # kafka-python 2.0.2 retries nothing by default (retries=0): a producer that wants retries says so.
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", retries=20, retry_backoff_ms=100, linger_ms=5)
    futures = [producer.send(topic, value.encode(), partition=0) for value in values]
    producer.flush(60)
    for future in futures:
        try:
            future.get(timeout=60)
            delivered += 1
        except Exception as error:  # the error a send reports to its caller
            errors.append(repr(error))
    producer.close()
else:
    sys.exit(f"unknown library {library}")

print(json.dumps({"delivered": delivered, "errors": errors}))
