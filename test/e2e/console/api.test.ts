// The console's JSON API without a browser: a change runs as the HTTP user's principal through the Kafka handlers, so
// with --authorizer acl an HTTP admin without the ACL is refused as a Kafka client would be, while reads (which the
// HTTP roles govern) still show every topic; without --http-auth every caller may change, as anonymous, but not from
// another site's page; records pages from an offset, a timestamp or the end, filtered by key; a forwarding uplink's
// state and positions for the links page.

import { expect, test } from "bun:test";
import { Kafka, logLevel } from "kafkajs";
import { parseConfig } from "../../../src/config.ts";
import { RawClient } from "../../helpers/raw-client.ts";
import { startTestServer } from "../../helpers/server.ts";
import { Central, createTopic, kafkaAt, startEdge, waitForwarded } from "../uplink/rig.ts";

const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`, "content-type": "application/json" });

test("with the ACL authorizer, a change needs the Kafka ACL too; a super user may, and reads see every topic", async () => {
  const config = parseConfig([
    "--listen", "127.0.0.1:0", "--registry-listen", "127.0.0.1:0", "--http-auth", "true",
    "--sasl-users-bootstrap", "alice:alice-secret,root:root-secret",
    "--http-roles", "alice:admin,root:admin",
    "--authorizer", "acl", "--super-users", "User:root",
  ], {})!;
  await using server = await startTestServer({ security: config.security, registryListen: config.registryListen, authorizer: config.authorizer });
  const base = `http://127.0.0.1:${server.registry!.server.port}`;
  const create = (who: [string, string], name: string) => fetch(`${base}/ui/api/topics`, { method: "POST", headers: basic(...who), body: JSON.stringify({ name, partitions: 2 }) });

  const refused = await create(["alice", "alice-secret"], "from-alice");
  expect(refused.status).toBe(403);
  expect((await refused.json()).error).toMatch(/AUTHORIZATION_FAILED/);
  expect(server.broker.topics.get("from-alice")).toBeUndefined();

  expect((await create(["root", "root-secret"], "from-root")).status).toBe(201);
  expect(server.broker.topics.get("from-root")!.partitions.length).toBe(2);
  const deleted = await fetch(`${base}/ui/api/topics/from-root`, { method: "DELETE", headers: basic("alice", "alice-secret") });
  expect(deleted.status).toBe(403);

  const state = await (await fetch(`${base}/ui/api/state`, { headers: basic("alice", "alice-secret") })).json();
  expect(state.status.partitions.map((partition: { topic: string }) => partition.topic)).toContain("from-root");
});

test("without --http-auth the console changes as anonymous; the page is served at /ui/ and a browser at / is sent there", async () => {
  await using server = await startTestServer({ registryListen: { host: "127.0.0.1", port: 0 } });
  const base = `http://127.0.0.1:${server.registry!.server.port}`;
  expect(await (await fetch(`${base}/ui/api/session`)).json()).toMatchObject({ user: "anonymous", role: "admin", canChange: true });
  const json = { "content-type": "application/json" };
  expect((await fetch(`${base}/ui/api/topics`, { method: "POST", headers: json, body: JSON.stringify({ name: "open", partitions: 1 }) })).status).toBe(201);
  // Another site's form or script: refused before anything changes.
  const forged = [
    await fetch(`${base}/ui/api/topics`, { method: "POST", headers: { "content-type": "text/plain" }, body: JSON.stringify({ name: "forged", partitions: 1 }) }),
    await fetch(`${base}/ui/api/topics`, { method: "POST", headers: { ...json, origin: "http://evil.example" }, body: JSON.stringify({ name: "forged", partitions: 1 }) }),
    await fetch(`${base}/ui/api/topics/open`, { method: "DELETE", headers: { origin: "http://evil.example" } }),
  ];
  expect(forged.map((response) => response.status)).toEqual([415, 403, 403]);
  expect(server.broker.topics.get("forged")).toBeUndefined();
  expect(server.broker.topics.get("open")).toBeDefined();
  const page = await fetch(`${base}/ui/`);
  expect(page.headers.get("content-type")).toContain("text/html");
  expect(await page.text()).toContain("window.kgateBoot");
  expect((await fetch(`${base}/`, { headers: { accept: "text/html" }, redirect: "manual" })).headers.get("location")).toBe("/ui/");
  expect(await (await fetch(`${base}/`)).json()).toEqual({}); // a registry client's / is the registry's
  expect((await fetch(`${base}/ui/api/links`).then((response) => response.json()))).toEqual({ configured: false });
});

test("records from an offset, a timestamp or the end, a page at a time, with the next page's offset; a group reset to a timestamp", async () => {
  await using server = await startTestServer({ registryListen: { host: "127.0.0.1", port: 0 } });
  const base = `http://127.0.0.1:${server.registry!.server.port}`;
  const kafka = new Kafka({ clientId: "console-api", brokers: [server.bootstrap], logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  const start = Date.now() - 100_000;
  await producer.send({ topic: "events", messages: Array.from({ length: 30 }, (_, i) => ({ key: `k${i % 3}`, value: `v${i}`, timestamp: String(start + i * 1_000) })) });
  await producer.disconnect();
  const page = async (query: string) => (await fetch(`${base}/ui/api/topics/events/records?${query}`)).json();

  const first = await page("offset=0&limit=10");
  expect(first.records.map((record: { offset: number }) => record.offset)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  expect(first).toMatchObject({ startOffset: 0, endOffset: 30, fromOffset: 0, nextOffset: 10 });
  expect(first.records[3].value).toEqual({ schemaId: null, value: "v3", encoding: "text" });
  const end = await page("from=end&limit=5");
  expect(end.records.map((record: { offset: number }) => record.offset)).toEqual([25, 26, 27, 28, 29]);
  expect(end.nextOffset).toBe(30);
  const byTime = await page(`from=timestamp&timestamp=${start + 12_500}&limit=2`);
  expect(byTime.records.map((record: { offset: number }) => record.offset)).toEqual([13, 14]);
  const afterLast = await page(`from=timestamp&timestamp=${Date.now() + 60_000}`);
  expect(afterLast).toMatchObject({ fromOffset: 30, records: [] });
  const filtered = await page("offset=0&limit=4&key=k2");
  expect(filtered.records.map((record: { offset: number }) => record.offset)).toEqual([2, 5, 8, 11]);
  expect(filtered.nextOffset).toBe(12);
  expect(filtered.scanned).toBe(12);

  // A group without members (its offsets committed outside a generation, as admin tools do), reset to a timestamp's.
  const raw = await RawClient.connect(server.port);
  const committed = await raw.call(8, 8, { groupId: "readers", generationIdOrMemberEpoch: -1, memberId: "", groupInstanceId: null, topics: [{ name: "events", partitions: [{ partitionIndex: 0, committedOffset: 30n, committedLeaderEpoch: -1, committedMetadata: "" }] }] });
  raw.close();
  expect(committed.topics[0].partitions[0].errorCode).toBe(0);
  const reset = (body: object) => fetch(`${base}/ui/api/groups/readers/reset`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const answer = await reset({ to: "timestamp", timestamp: start + 12_500 });
  expect(answer.status).toBe(200);
  expect(await answer.json()).toEqual({ partitions: [{ topic: "events", partition: 0, offset: 13 }] });
  const group = await (await fetch(`${base}/ui/api/groups/readers`)).json();
  expect(group).toMatchObject({ state: "Empty", totalLag: 17, memberList: [], offsets: [{ topic: "events", partition: 0, committed: 13, endOffset: 30, lag: 17 }] });
  expect((await reset({ to: "latest" })).status).toBe(200);
  expect((await (await fetch(`${base}/ui/api/groups/readers`)).json()).totalLag).toBe(0);
}, 30_000);

test("the links page's data: each link's state and per-partition positions once an uplink forwards", async () => {
  await using central = await Central.start();
  await using edge = await startEdge([`central bootstrap.servers=${central.bootstrap} topics=events create.remote.topics=true`], { extraArgs: ["--registry-listen", "127.0.0.1:0"] });
  await createTopic(edge.bootstrap, "events", 2);
  const producer = kafkaAt(edge.bootstrap).producer();
  await producer.connect();
  await producer.send({ topic: "events", acks: -1, messages: Array.from({ length: 10 }, (_, i) => ({ partition: i % 2, value: `e${i}` })) });
  await producer.disconnect();
  await waitForwarded(edge.links);
  const links = await (await fetch(`http://127.0.0.1:${edge.registry!.server.port}/ui/api/links`)).json();
  expect(links).toMatchObject({ configured: true, edgeId: "edge1", links: [{ name: "central", state: "connected" }] });
  expect(links.links[0].partitions.map((p: { partition: number; forwardedOffset: number; lagRecords: number }) => [p.partition, p.forwardedOffset, p.lagRecords])).toEqual([
    [0, 5, 0],
    [1, 5, 0],
  ]);
}, 60_000);
