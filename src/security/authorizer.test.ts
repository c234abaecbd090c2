import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AclOperation as Op, AclPermission, PatternType, ResourceType, type AclBinding } from "./acl.ts";
import { ACL_FILE, AclStore } from "./acl-store.ts";
import { Authorizer, hostOf } from "./authorizer.ts";

const { ALLOW, DENY } = AclPermission;
const { TOPIC, GROUP, CLUSTER } = ResourceType;
const { LITERAL, PREFIXED } = PatternType;

function acl(resourceType: number, resourceName: string, patternType: number, principal: string, host: string, operation: number, permissionType: number): AclBinding {
  return { resourceType, resourceName, patternType, principal, host, operation, permissionType };
}

interface Case {
  name: string;
  acls: AclBinding[];
  principal?: string;
  host?: string;
  operation: number;
  resource?: [number, string];
  expected: boolean;
  superUsers?: string[];
  allowEveryoneIfNoAclFound?: boolean;
}

const alice = "User:alice";
const cases: Case[] = [
  { name: "no ACL, default closed", acls: [], operation: Op.READ, expected: false },
  { name: "no ACL, allow.everyone.if.no.acl.found", acls: [], operation: Op.READ, expected: true, allowEveryoneIfNoAclFound: true },
  { name: "ACLs on the resource for someone else close it even with allow.everyone", acls: [acl(TOPIC, "orders", LITERAL, "User:bob", "*", Op.READ, ALLOW)], operation: Op.READ, expected: false, allowEveryoneIfNoAclFound: true },
  { name: "ACL on another topic leaves this one to the default", acls: [acl(TOPIC, "other", LITERAL, "User:bob", "*", Op.READ, ALLOW)], operation: Op.READ, expected: true, allowEveryoneIfNoAclFound: true },
  { name: "literal allow", acls: [acl(TOPIC, "orders", LITERAL, alice, "*", Op.READ, ALLOW)], operation: Op.READ, expected: true },
  { name: "literal is not a prefix", acls: [acl(TOPIC, "ord", LITERAL, alice, "*", Op.READ, ALLOW)], operation: Op.READ, expected: false },
  { name: "prefixed allow", acls: [acl(TOPIC, "ord", PREFIXED, alice, "*", Op.READ, ALLOW)], operation: Op.READ, expected: true },
  { name: "prefixed does not match a shorter name", acls: [acl(TOPIC, "orders-eu", PREFIXED, alice, "*", Op.READ, ALLOW)], operation: Op.READ, expected: false },
  { name: "literal * matches any topic", acls: [acl(TOPIC, "*", LITERAL, alice, "*", Op.READ, ALLOW)], operation: Op.READ, expected: true },
  { name: "prefixed * is a literal star prefix, not a wildcard", acls: [acl(TOPIC, "*", PREFIXED, alice, "*", Op.READ, ALLOW)], operation: Op.READ, expected: false },
  { name: "resource type must match", acls: [acl(GROUP, "orders", LITERAL, alice, "*", Op.READ, ALLOW)], operation: Op.READ, expected: false },
  { name: "other principal", acls: [acl(TOPIC, "orders", LITERAL, "User:bob", "*", Op.READ, ALLOW)], operation: Op.READ, expected: false },
  { name: "User:* matches every principal", acls: [acl(TOPIC, "orders", LITERAL, "User:*", "*", Op.READ, ALLOW)], operation: Op.READ, expected: true },
  { name: "host must match", acls: [acl(TOPIC, "orders", LITERAL, alice, "10.0.0.9", Op.READ, ALLOW)], operation: Op.READ, expected: false },
  { name: "exact host", acls: [acl(TOPIC, "orders", LITERAL, alice, "127.0.0.1", Op.READ, ALLOW)], operation: Op.READ, expected: true },
  { name: "operation must match", acls: [acl(TOPIC, "orders", LITERAL, alice, "*", Op.WRITE, ALLOW)], operation: Op.READ, expected: false },
  { name: "ALL allows every operation", acls: [acl(TOPIC, "orders", LITERAL, alice, "*", Op.ALL, ALLOW)], operation: Op.DELETE, expected: true },
  { name: "deny wins over allow", acls: [acl(TOPIC, "orders", LITERAL, alice, "*", Op.READ, ALLOW), acl(TOPIC, "orders", LITERAL, alice, "*", Op.READ, DENY)], operation: Op.READ, expected: false },
  { name: "prefixed deny wins over literal allow", acls: [acl(TOPIC, "orders", LITERAL, alice, "*", Op.ALL, ALLOW), acl(TOPIC, "ord", PREFIXED, "User:*", "*", Op.WRITE, DENY)], operation: Op.WRITE, expected: false },
  { name: "deny ALL refuses everything", acls: [acl(TOPIC, "orders", LITERAL, alice, "*", Op.READ, ALLOW), acl(TOPIC, "*", LITERAL, alice, "*", Op.ALL, DENY)], operation: Op.READ, expected: false },
  { name: "deny for another host does not apply", acls: [acl(TOPIC, "orders", LITERAL, alice, "*", Op.READ, ALLOW), acl(TOPIC, "orders", LITERAL, alice, "10.0.0.9", Op.READ, DENY)], operation: Op.READ, expected: true },
  { name: "deny of another operation does not apply", acls: [acl(TOPIC, "orders", LITERAL, alice, "*", Op.READ, ALLOW), acl(TOPIC, "orders", LITERAL, alice, "*", Op.WRITE, DENY)], operation: Op.READ, expected: true },
  { name: "READ implies DESCRIBE", acls: [acl(TOPIC, "orders", LITERAL, alice, "*", Op.READ, ALLOW)], operation: Op.DESCRIBE, expected: true },
  { name: "WRITE implies DESCRIBE", acls: [acl(TOPIC, "orders", LITERAL, alice, "*", Op.WRITE, ALLOW)], operation: Op.DESCRIBE, expected: true },
  { name: "DELETE implies DESCRIBE", acls: [acl(TOPIC, "orders", LITERAL, alice, "*", Op.DELETE, ALLOW)], operation: Op.DESCRIBE, expected: true },
  { name: "ALTER implies DESCRIBE", acls: [acl(TOPIC, "orders", LITERAL, alice, "*", Op.ALTER, ALLOW)], operation: Op.DESCRIBE, expected: true },
  { name: "CREATE does not imply DESCRIBE", acls: [acl(TOPIC, "orders", LITERAL, alice, "*", Op.CREATE, ALLOW)], operation: Op.DESCRIBE, expected: false },
  { name: "DESCRIBE does not imply READ", acls: [acl(TOPIC, "orders", LITERAL, alice, "*", Op.DESCRIBE, ALLOW)], operation: Op.READ, expected: false },
  { name: "ALTER_CONFIGS implies DESCRIBE_CONFIGS", acls: [acl(TOPIC, "orders", LITERAL, alice, "*", Op.ALTER_CONFIGS, ALLOW)], operation: Op.DESCRIBE_CONFIGS, expected: true },
  { name: "DESCRIBE_CONFIGS does not imply ALTER_CONFIGS", acls: [acl(TOPIC, "orders", LITERAL, alice, "*", Op.DESCRIBE_CONFIGS, ALLOW)], operation: Op.ALTER_CONFIGS, expected: false },
  { name: "a DENY of DESCRIBE does not deny READ", acls: [acl(TOPIC, "orders", LITERAL, alice, "*", Op.READ, ALLOW), acl(TOPIC, "orders", LITERAL, alice, "*", Op.DESCRIBE, DENY)], operation: Op.READ, expected: true },
  { name: "a DENY of READ does not deny DESCRIBE granted by WRITE", acls: [acl(TOPIC, "orders", LITERAL, alice, "*", Op.WRITE, ALLOW), acl(TOPIC, "orders", LITERAL, alice, "*", Op.READ, DENY)], operation: Op.DESCRIBE, expected: true },
  { name: "super user passes a deny", acls: [acl(TOPIC, "orders", LITERAL, alice, "*", Op.ALL, DENY)], operation: Op.WRITE, expected: true, superUsers: ["User:admin", alice] },
  { name: "super users are exact principals", acls: [], principal: "User:alicia", operation: Op.WRITE, expected: false, superUsers: [alice] },
  { name: "cluster resource", acls: [acl(CLUSTER, "kafka-cluster", LITERAL, alice, "*", Op.CREATE, ALLOW)], operation: Op.CREATE, resource: [CLUSTER, "kafka-cluster"], expected: true },
  { name: "ANONYMOUS is a principal like any other", acls: [acl(TOPIC, "orders", LITERAL, "User:ANONYMOUS", "*", Op.READ, ALLOW)], principal: "User:ANONYMOUS", operation: Op.READ, expected: true },
];

describe("Authorizer", () => {
  for (const c of cases) {
    test(c.name, () => {
      const store = new AclStore(null);
      store.add(c.acls);
      const authorizer = new Authorizer({ superUsers: c.superUsers ?? [], allowEveryoneIfNoAclFound: c.allowEveryoneIfNoAclFound ?? false }, store);
      const [resourceType, resourceName] = c.resource ?? [TOPIC, "orders"];
      expect(authorizer.authorize(c.principal ?? alice, c.host ?? "127.0.0.1", c.operation, resourceType, resourceName)).toBe(c.expected);
    });
  }

  test("hostOf strips the port and the IPv4-mapped prefix", () => {
    expect(hostOf("127.0.0.1:54321")).toBe("127.0.0.1");
    expect(hostOf("::ffff:10.1.2.3:9")).toBe("10.1.2.3");
    expect(hostOf("::1:9")).toBe("::1");
  });
});

describe("AclStore", () => {
  const orders = acl(TOPIC, "orders", LITERAL, alice, "*", Op.READ, ALLOW);
  const prefixed = acl(TOPIC, "ord", PREFIXED, "User:bob", "*", Op.WRITE, DENY);
  const group = acl(GROUP, "g1", LITERAL, alice, "*", Op.READ, ALLOW);
  const anyFilter = { resourceType: ResourceType.ANY, resourceName: null, patternType: PatternType.ANY, principal: null, host: null, operation: Op.ANY, permissionType: AclPermission.ANY };

  test("filters: ANY, MATCH, exact pattern", () => {
    const store = new AclStore(null);
    store.add([orders, prefixed, group, orders]);
    expect(store.size).toBe(3);
    expect(store.list(anyFilter)).toHaveLength(3);
    expect(store.list({ ...anyFilter, resourceType: TOPIC })).toEqual([orders, prefixed]);
    expect(store.list({ ...anyFilter, resourceType: TOPIC, resourceName: "orders", patternType: PatternType.MATCH })).toEqual([orders, prefixed]);
    expect(store.list({ ...anyFilter, resourceType: TOPIC, resourceName: "orders", patternType: PatternType.ANY })).toEqual([orders]);
    expect(store.list({ ...anyFilter, resourceType: TOPIC, patternType: PREFIXED })).toEqual([prefixed]);
    expect(store.list({ ...anyFilter, principal: "User:bob" })).toEqual([prefixed]);
    expect(store.list({ ...anyFilter, permissionType: ALLOW, operation: Op.READ })).toEqual([orders, group]);
  });

  test("delete returns what each filter matched and persists across a reopen", () => {
    const dataDir = mkdtempSync(join(tmpdir(), "kgate-acls-"));
    try {
      const store = new AclStore(dataDir);
      store.add([orders, prefixed, group]);
      const matched = store.delete([{ ...anyFilter, resourceType: GROUP }, { ...anyFilter, resourceType: GROUP }]);
      expect(matched).toEqual([[group], [group]]);
      expect(store.applicable(GROUP, "g1")).toEqual([]);
      expect(JSON.parse(readFileSync(join(dataDir, ACL_FILE), "utf8")).acls).toHaveLength(2);
      const reopened = new AclStore(dataDir);
      expect(reopened.list()).toEqual([orders, prefixed]);
      expect(reopened.applicable(TOPIC, "orders")).toEqual([orders, prefixed]);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test("a damaged acls.json stops the start instead of guessing", () => {
    const dataDir = mkdtempSync(join(tmpdir(), "kgate-acls-"));
    try {
      writeFileSync(join(dataDir, ACL_FILE), '{"version": 1, "acls": [');
      expect(() => new AclStore(dataDir)).toThrow();
      writeFileSync(join(dataDir, ACL_FILE), '{"version": 99, "acls": []}');
      expect(() => new AclStore(dataDir)).toThrow(/version/);
      writeFileSync(join(dataDir, ACL_FILE), '{"version": 1, "acls": [{"resourceType": 2, "resourceName": "t"}]}');
      expect(() => new AclStore(dataDir)).toThrow(/invalid ACL/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
