"""kafka-python 2.0.2's admin ACL calls (CreateAcls, DescribeAcls, DeleteAcls) and a refused produce against kgate
with the ACL authorizer on. Usage: acl_scenario.py BOOTSTRAP. Prints one JSON line with what the client saw."""

import json
import sys

from kafka import KafkaProducer
from kafka.admin import (ACL, ACLFilter, ACLOperation, ACLPermissionType, ACLResourcePatternType, KafkaAdminClient,
                         ResourcePattern, ResourcePatternFilter, ResourceType)
from kafka.errors import TopicAuthorizationFailedError

bootstrap = sys.argv[1]
admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="kgate-acl-python")
anonymous = "User:ANONYMOUS"


def acl(name, operation, permission=ACLPermissionType.ALLOW, pattern=ACLResourcePatternType.LITERAL):
    return ACL(principal=anonymous, host="*", operation=operation, permission_type=permission,
               resource_pattern=ResourcePattern(ResourceType.TOPIC, name, pattern))


def describe(name=None, pattern=ACLResourcePatternType.ANY):
    acls, error = admin.describe_acls(ACLFilter(principal=None, host=None, operation=ACLOperation.ANY,
                                                permission_type=ACLPermissionType.ANY,
                                                resource_pattern=ResourcePatternFilter(ResourceType.TOPIC, name, pattern)))
    return sorted(f"{a.resource_pattern.resource_name}/{a.resource_pattern.pattern_type.name}/{a.operation.name}/{a.permission_type.name}"
                  for a in acls), error.__name__


result = {}
created = admin.create_acls([acl("py-", ACLOperation.DESCRIBE, pattern=ACLResourcePatternType.PREFIXED),
                             acl("py-topic", ACLOperation.WRITE, ACLPermissionType.DENY),
                             acl("py-topic", ACLOperation.READ)])
result["created"] = len(created["succeeded"])
result["failed"] = len(created["failed"])
result["described"], result["describeError"] = describe()
result["matched"], _ = describe("py-topic", ACLResourcePatternType.MATCH)

producer = KafkaProducer(bootstrap_servers=bootstrap, retries=0, max_block_ms=10000)
try:
    producer.send("py-topic", b"refused").get(timeout=10)
    result["produce"] = "accepted"
except TopicAuthorizationFailedError:
    result["produce"] = "TopicAuthorizationFailedError"

deleted = admin.delete_acls([ACLFilter(principal=anonymous, host="*", operation=ACLOperation.WRITE,
                                       permission_type=ACLPermissionType.DENY,
                                       resource_pattern=ResourcePatternFilter(ResourceType.TOPIC, "py-topic", ACLResourcePatternType.LITERAL))])
result["deleted"] = [len(matches) for (_, matches, _) in deleted]
admin.create_acls([acl("py-topic", ACLOperation.WRITE)])
producer.send("py-topic", b"accepted").get(timeout=10)
result["produceAfterAllow"] = "accepted"
producer.close()
admin.close()
print(json.dumps(result))
