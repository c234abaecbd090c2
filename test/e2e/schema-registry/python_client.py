"""confluent-kafka-python's SchemaRegistryClient (Debian python3-confluent-kafka) against kgate's registry.

Usage: python_client.py REGISTRY_URL. Prints one JSON object with what each call returned (or its error code).
"""

import json
import sys

from confluent_kafka.schema_registry import Schema, SchemaReference, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

client = SchemaRegistryClient({"url": sys.argv[1]})
out = {}


def error_code(call):
    try:
        call()
    except SchemaRegistryError as error:
        return error.error_code
    return None


avro_v1 = json.dumps({"type": "record", "name": "Py", "fields": [{"name": "a", "type": "string"}]})
avro_v2 = json.dumps({"type": "record", "name": "Py", "fields": [{"name": "a", "type": "string"}, {"name": "b", "type": "long", "default": 0}]})
avro_bad = json.dumps({"type": "record", "name": "Py", "fields": [{"name": "a", "type": "int"}]})

out["id1"] = client.register_schema("py-value", Schema(avro_v1, "AVRO"))
out["id1_again"] = client.register_schema("py-value", Schema(avro_v1, "AVRO"))
out["id2"] = client.register_schema("py-value", Schema(avro_v2, "AVRO"))
out["fetched"] = client.get_schema(out["id1"]).schema_str
latest = client.get_latest_version("py-value")
out["latest"] = [latest.schema_id, latest.version, latest.subject]
out["version1"] = client.get_version("py-value", 1).schema_id
out["versions"] = client.get_versions("py-value")
out["lookup"] = client.lookup_schema("py-value", Schema(avro_v1, "AVRO")).version
out["compatible_v2"] = client.test_compatibility("py-value", Schema(avro_v2, "AVRO"))
out["compatible_bad"] = client.test_compatibility("py-value", Schema(avro_bad, "AVRO"))
out["register_bad"] = error_code(lambda: client.register_schema("py-value", Schema(avro_bad, "AVRO")))
client.set_compatibility("py-value", "FULL")
out["compatibility"] = client.get_compatibility("py-value")
out["global_compatibility"] = client.get_compatibility()

json_id = client.register_schema("py-json", Schema(json.dumps({"type": "object", "properties": {"x": {"type": "number"}}}), "JSON"))
out["json_type"] = client.get_schema(json_id).schema_type
proto_dep = 'syntax = "proto3";\npackage py.common;\nmessage Id { string value = 1; }\n'
client.register_schema("py/common.proto", Schema(proto_dep, "PROTOBUF"))
proto = 'syntax = "proto3";\nimport "py/common.proto";\nmessage Thing { py.common.Id id = 1; }\n'
proto_id = client.register_schema("py-proto", Schema(proto, "PROTOBUF", [SchemaReference("py/common.proto", "py/common.proto", 1)]))
fetched_proto = client.get_schema(proto_id)
out["proto_refs"] = [[ref.name, ref.subject, ref.version] for ref in fetched_proto.references]

out["missing_subject"] = error_code(lambda: client.get_latest_version("nope"))
out["missing_version"] = error_code(lambda: client.get_version("py-value", 42))
out["missing_schema"] = error_code(lambda: client.get_schema(424242))
out["invalid_schema"] = error_code(lambda: client.register_schema("py-broken", Schema("{", "AVRO")))
out["deleted_version"] = client.delete_version("py-value", 1)
out["hard_deleted"] = client.delete_subject("py-json", permanent=True)  # soft, then permanent
out["soft_deleted"] = client.delete_subject("py-proto")
out["soft_again"] = error_code(lambda: client.delete_subject("py-proto"))
out["subjects"] = client.get_subjects()
print(json.dumps(out))
