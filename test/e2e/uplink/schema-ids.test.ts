// Schema ids across registries: records encoded at the edge with kgate's own registry (Confluent envelope: magic 0
// and the edge's schema id) are forwarded by a link with schema.registry.url set to the central cluster's registry.
// The link registers each schema there under the same subject (a referenced schema first) and rewrites the id in
// the envelope, so a central consumer decodes them with the central registry, with
// @kafkajs/confluent-schema-registry as the real registry client on both sides. The ids are made to differ: the
// central registry already holds other schemas.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { SchemaRegistry, SchemaType } from "@kafkajs/confluent-schema-registry";
import { waitFor } from "../../helpers/server.ts";
import { Central, createTopic, kafkaAt, readCentral, startEdge, waitForwarded } from "./rig.ts";

let central: Central;
let centralRegistryUrl: string;

beforeAll(async () => {
  central = await Central.start(["--registry-listen", "127.0.0.1:0"]);
  let port = 0;
  await waitFor(() => {
    const match = /schema registry up listen=[^\s]*:(\d+)/.exec(central.gateway.output());
    if (match) port = Number(match[1]);
    return port !== 0;
  });
  centralRegistryUrl = `http://127.0.0.1:${port}`;
});
afterAll(async () => {
  await central?.[Symbol.asyncDispose]();
});

const ADDRESS = { type: "record", name: "Address", namespace: "shop", fields: [{ name: "city", type: "string" }] };
const ORDER = { type: "record", name: "Order", namespace: "shop", fields: [{ name: "id", type: "long" }, { name: "ship_to", type: "shop.Address" }] };

test("envelopes name the central registry's ids; a central consumer decodes every record", async () => {
  // Ids taken on the central registry first, so that the edge's ids mean something else there.
  const centralRegistry = new SchemaRegistry({ host: centralRegistryUrl });
  for (let i = 0; i < 3; i++) {
    await centralRegistry.register({ type: SchemaType.AVRO, schema: JSON.stringify({ type: "record", name: `Other${i}`, fields: [{ name: "x", type: "int" }] }) }, { subject: `other-${i}` });
  }

  const topic = "orders-avro";
  await using edge = await startEdge(
    [`central bootstrap.servers=${central.bootstrap} topics=${topic} create.remote.topics=true schema.registry.url=${centralRegistryUrl} request.timeout.ms=5000`],
    { extraArgs: ["--registry-listen", "127.0.0.1:0"] },
  );
  const edgeRegistry = new SchemaRegistry({ host: `http://127.0.0.1:${edge.registry!.server.port}` });
  await edgeRegistry.register({ type: SchemaType.AVRO, schema: JSON.stringify(ADDRESS) }, { subject: "shop.Address" });
  const { id: edgeOrderId } = await edgeRegistry.register(
    { type: SchemaType.AVRO, schema: JSON.stringify(ORDER), references: [{ name: "shop.Address", subject: "shop.Address", version: 1 }] },
    { subject: `${topic}-value` },
  );

  await createTopic(edge.bootstrap, topic, 1);
  const producer = kafkaAt(edge.bootstrap).producer();
  await producer.connect();
  const orders = Array.from({ length: 50 }, (_, i) => ({ id: i, ship_to: { city: `city-${i}` } }));
  await producer.send({ topic, acks: -1, messages: await Promise.all(orders.map(async (order) => ({ value: await edgeRegistry.encode(edgeOrderId, order) }))) });
  await producer.disconnect();

  await waitForwarded(edge.links);
  const centralOrderId = await centralRegistry.getLatestSchemaId(`${topic}-value`);
  expect(centralOrderId).not.toBe(edgeOrderId);
  expect(await centralRegistry.getLatestSchemaId("shop.Address")).toBeGreaterThan(0);

  const consumer = kafkaAt(central.gateway.bootstrap).consumer({ groupId: `schema-reader-${Math.random()}` });
  const decoded: unknown[] = [];
  const envelopeIds = new Set<number>();
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      envelopeIds.add(message.value!.readInt32BE(1));
      decoded.push(await centralRegistry.decode(message.value!));
    },
  });
  await waitFor(() => decoded.length >= orders.length, { timeoutMs: 30_000 });
  await consumer.disconnect();
  expect([...envelopeIds]).toEqual([centralOrderId]);
  expect(decoded).toEqual(orders);
  // The records also carry their provenance, as any forwarded record.
  expect((await readCentral(central.gateway.bootstrap, topic, orders.length)).every((record) => record.origin?.startsWith(`edge1/${topic}/0/`))).toBe(true);
}, 120_000);
