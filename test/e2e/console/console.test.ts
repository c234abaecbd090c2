// The web console in a real browser: Debian's chromium driven by playwright-core, against a gateway in-process with
// kafkajs producing and a kafkajs group consuming. Each page loads without console errors and is screenshotted:
// into test/e2e/console/screenshots/ (the README shows them) with KGATE_UPDATE_SCREENSHOTS=1, else into a temporary
// folder, so that a test run leaves the checkout as it was; the plots move with the traffic; a group's lag rises while
// its consumer is stopped and falls when it resumes; an Avro-enveloped record shows as decoded JSON; a topic created
// from the page is visible to a Kafka client; a read-only user sees no change buttons and the API refuses the change;
// bad input gets a clear message, never a broken page or a 5xx.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { COMPATIBILITY, SchemaRegistry, SchemaType } from "@kafkajs/confluent-schema-registry";
import { Kafka, logLevel, type Consumer, type Producer } from "kafkajs";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { parseConfig } from "../../../src/config.ts";
import { setLogLevel, setLogSink } from "../../../src/util/logger.ts";
import { startTestServer, waitFor, type TestServer } from "../../helpers/server.ts";

const CHROMIUM = process.env.KGATE_CHROMIUM ?? "/usr/bin/chromium";
const SCREENSHOTS = process.env.KGATE_UPDATE_SCREENSHOTS ? join(import.meta.dir, "screenshots") : mkdtempSync(join(tmpdir(), "kgate-console-screenshots-"));
const available = existsSync(CHROMIUM);
if (!available) console.log(`SKIPPED: web console in a browser: ${CHROMIUM} is not installed (npm run setup installs Debian's chromium)`);

const ADMIN = { username: "operator", password: "operator-secret" };
const READER = { username: "viewer", password: "viewer-secret" };
const basic = ({ username, password }: typeof ADMIN) => `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
const AVRO_ORDER = { type: "record", name: "Order", fields: [{ name: "id", type: "string" }, { name: "amount", type: "double" }, { name: "items", type: { type: "array", items: "string" } }] };
const AVRO_ORDER_V2 = { ...AVRO_ORDER, fields: [...AVRO_ORDER.fields, { name: "currency", type: "string", default: "EUR" }] };

describe.skipIf(!available)("web console", () => {
  let server: TestServer;
  let base: string;
  let kafka: Kafka;
  let producer: Producer;
  let consumer: Consumer | null = null;
  let producing = true;
  let producerLoop: Promise<void>;
  let browser: Browser;
  let adminContext: BrowserContext;
  let page: Page;
  const errors: string[] = [];
  const logLines: string[] = [];

  const startConsumer = async () => {
    consumer = kafka.consumer({ groupId: "billing", sessionTimeout: 6_000, heartbeatInterval: 500, maxWaitTimeInMs: 200 });
    await consumer.connect();
    await consumer.subscribe({ topic: "orders", fromBeginning: true });
    await consumer.run({ autoCommitInterval: 200, eachMessage: async () => {} });
  };
  const lagOnPage = async () => Number((await page.locator("#group-lag").textContent())!.replace(/,/g, ""));
  /** A fresh load of the page (not a hash change inside the one already open). */
  const open = async (target: Page, hash: string) => {
    await target.goto("about:blank");
    await target.goto(`${base}/ui/${hash}`);
    await target.locator("main > div[data-ready=true]").waitFor({ timeout: 10_000 });
  };

  beforeAll(async () => {
    const config = parseConfig([
      "--listen", "127.0.0.1:0", "--registry-listen", "127.0.0.1:0", "--http-auth", "true",
      "--sasl-users-bootstrap", `${ADMIN.username}:${ADMIN.password},${READER.username}:${READER.password}`,
      "--http-roles", `${ADMIN.username}:admin,${READER.username}:read`,
    ], {})!;
    server = await startTestServer({ security: config.security, registryListen: config.registryListen });
    setLogLevel("info");
    setLogSink((line) => logLines.push(line));
    base = `http://127.0.0.1:${server.registry!.server.port}`;
    kafka = new Kafka({ clientId: "console-test", brokers: [server.bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: "orders", numPartitions: 3 }, { topic: "payments", numPartitions: 1 }] });
    await admin.disconnect();
    producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    // ~100 records/s until the tests end.
    producerLoop = (async () => {
      let n = 0;
      while (producing) {
        await producer.send({ topic: "orders", messages: Array.from({ length: 10 }, () => ({ key: `customer-${n % 7}`, value: JSON.stringify({ order: n++, amount: (n % 50) + 0.5 }), headers: { source: "test" } })) });
        await Bun.sleep(100);
      }
    })();
    await startConsumer();

    const { chromium } = await import("playwright-core");
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
    adminContext = await browser.newContext({ httpCredentials: ADMIN, viewport: { width: 1280, height: 860 } });
    adminContext.setDefaultTimeout(5_000);
    page = await adminContext.newPage();
    page.on("console", (entry) => {
      if (entry.type() === "error") errors.push(entry.text());
    });
    page.on("pageerror", (error) => errors.push(error.message));
    mkdirSync(SCREENSHOTS, { recursive: true });
  }, 30_000);

  afterAll(async () => {
    producing = false;
    await producerLoop?.catch(() => {});
    await consumer?.disconnect().catch(() => {});
    await producer?.disconnect().catch(() => {});
    await browser?.close();
    await server?.[Symbol.asyncDispose]();
    if (!process.env.KGATE_UPDATE_SCREENSHOTS) rmSync(SCREENSHOTS, { recursive: true, force: true });
    setLogSink((line) => process.stderr.write(line + "\n"));
    setLogLevel("error");
  }, 30_000);

  test("the overview's throughput plots move while kafkajs produces and consumes", async () => {
    await open(page, "#/overview");
    await waitFor(async () => (await page.evaluate(() => {
      const samples = (window as any).kgateConsole.samples;
      const last = samples[samples.length - 1];
      return last !== undefined && last.produceRecordsPerSecond > 0 && last.fetchRecordsPerSecond > 0;
    })), { timeoutMs: 10_000, intervalMs: 200 });
    const plotted = JSON.parse((await page.locator('[data-plot="Throughput (records/s)"]').getAttribute("data-last"))!);
    expect(plotted[0]).toBeGreaterThan(0);
    expect(await page.locator("#produce-rate").textContent()).toMatch(/[1-9][\d,.]* rec\/s/);
    expect(await page.locator(".uplot").count()).toBe(3);
  }, 20_000);

  test("a group's lag rises while its consumer is stopped and falls when it resumes", async () => {
    await waitFor(async () => (await kafka.admin().describeGroups(["billing"]).catch(() => null)) !== null, { timeoutMs: 5_000 });
    await open(page, "#/groups/billing");
    await waitFor(async () => (await page.locator("#group-state").textContent()) === "Stable" && (await lagOnPage()) < 100, { timeoutMs: 15_000, intervalMs: 250 });
    await consumer!.disconnect();
    consumer = null;
    await waitFor(async () => (await lagOnPage()) > 150, { timeoutMs: 10_000, intervalMs: 250 });
    const stoppedLag = await lagOnPage();
    expect(await page.locator("#group-state").textContent()).toBe("Empty");
    await startConsumer();
    await waitFor(async () => (await lagOnPage()) < stoppedLag / 2, { timeoutMs: 15_000, intervalMs: 250 });
    // The plot's series saw both: a rise, then a fall.
    const lags: number[] = await page.evaluate(() => (window as any).kgateConsole.samples.map((s: any) => s.groupLag.billing).filter((v: any) => v !== undefined));
    const peak = lags.indexOf(Math.max(...lags));
    expect(lags[peak]!).toBeGreaterThan(150);
    expect(Math.min(...lags.slice(peak))).toBeLessThan(lags[peak]! / 2);
    await page.locator("#group-state", { hasText: "Stable" }).waitFor({ timeout: 10_000 });
    await page.locator("td", { hasText: "orders [0, 1, 2]" }).waitFor();
    expect(await page.locator("td", { hasText: /^console-test$/ }).count()).toBe(1); // the client id
    await page.screenshot({ path: join(SCREENSHOTS, "group.png"), fullPage: true });
  }, 45_000);

  test("a record produced with an Avro envelope shows as its decoded JSON, other bytes as hex; a key filter keeps matching keys", async () => {
    const registry = new SchemaRegistry({ host: base, auth: ADMIN });
    const { id } = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(AVRO_ORDER) }, { subject: "payments-value", compatibility: COMPATIBILITY.BACKWARD });
    await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(AVRO_ORDER_V2) }, { subject: "payments-value" });
    await producer.send({ topic: "payments", messages: [{ key: "order-42", value: await registry.encode(id, { id: "order-42", amount: 19.5, items: ["tea", "cups"] }) }] });
    await open(page, "#/records?topic=payments&partition=0&offset=0");
    const decoded = page.locator(`#records .tree[data-schema-id="${id}"]`);
    await decoded.first().waitFor({ timeout: 10_000 });
    const text = (await decoded.first().textContent())!;
    expect(text).toContain('id: "order-42"');
    expect(text).toContain("amount: 19.5");
    expect(text).toContain('"cups"');
    await page.screenshot({ path: join(SCREENSHOTS, "records.png") });

    // Not UTF-8: hex. A key filter: only matching keys, a page at most.
    await producer.send({ topic: "payments", messages: [{ key: "raw", value: Buffer.from([0xff, 0x00, 0xfe, 0x10]) }] });
    await open(page, "#/records?topic=payments&partition=0&offset=1");
    await page.locator("#records code", { hasText: "ff00 fe10" }).waitFor();
    await open(page, "#/records?topic=orders&partition=1&offset=0&limit=5&key=customer-3");
    await page.locator("#records tbody tr").first().waitFor();
    const keys = await page.locator("#records tbody tr td:nth-child(3)").allTextContents();
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.length).toBeLessThanOrEqual(5);
    for (const key of keys) expect(key).toBe("customer-3");
  }, 20_000);

  test("each page loads without console errors (screenshots of each)", async () => {
    errors.length = 0;
    const pages: [string, string | null][] = [
      ["#/overview", "overview.png"],
      ["#/topics", "topics.png"],
      ["#/topics/orders", "topic.png"],
      ["#/records?topic=orders&from=end&limit=20", null],
      ["#/groups", "groups.png"],
      ["#/groups/billing", null],
      ["#/schemas?subject=payments-value", "schemas.png"],
      ["#/links", "links.png"],
    ];
    for (const [hash, screenshot] of pages) {
      await open(page, hash);
      expect(await page.locator(".error").count()).toBe(0);
      if (screenshot) {
        await Bun.sleep(300); // a live update drawn
        await page.screenshot({ path: join(SCREENSHOTS, screenshot), fullPage: hash.startsWith("#/schemas") });
      }
    }
    expect(await page.locator("#links-none").textContent()).toContain("No uplink is configured");
    expect(errors).toEqual([]);
  }, 30_000);

  test("a topic created from the page is visible to a kafkajs admin; grown, reconfigured and deleted from the page", async () => {
    await open(page, "#/topics");
    await page.fill("#create-topic input[name=name]", "created-in-browser");
    await page.fill("#create-topic input[name=partitions]", "4");
    await page.click("#create-topic button[type=submit]");
    await page.click("#confirm-ok");
    await page.locator(".ok").waitFor({ timeout: 5_000 });
    const admin = kafka.admin();
    await admin.connect();
    try {
      const metadata = await admin.fetchTopicMetadata({ topics: ["created-in-browser"] });
      expect(metadata.topics[0]!.partitions.length).toBe(4);
    } finally {
      await admin.disconnect();
    }
    // Grow it and change a config, each behind the confirmation.
    await open(page, "#/topics/created-in-browser");
    await page.fill("#add-partitions input", "6");
    await page.click("#add-partitions button");
    await page.click("#confirm-ok");
    await page.locator(".ok").waitFor({ timeout: 5_000 });
    await page.fill("#alter-config input >> nth=0", "retention.ms");
    await page.fill("#alter-config input >> nth=1", "3600000");
    await page.click("#alter-config button");
    await page.click("#confirm-cancel");
    expect(server.broker.topics.get("created-in-browser")!.configs.get("retention.ms")).toBeUndefined();
    await page.click("#alter-config button");
    await page.click("#confirm-ok");
    await page.locator(".ok").waitFor({ timeout: 5_000 });
    expect(server.broker.topics.get("created-in-browser")!.partitions.length).toBe(6);
    expect(server.broker.topics.get("created-in-browser")!.configs.get("retention.ms")).toBe("3600000");
    // Each change is logged with the user who made it.
    expect(logLines.some((line) => /console: topic created user=operator .*topic=created-in-browser partitions=4/.test(line))).toBe(true);
    expect(logLines.some((line) => /console: partitions added user=operator .*topic=created-in-browser count=6/.test(line))).toBe(true);
    expect(logLines.some((line) => /console: topic configs altered user=operator .*topic=created-in-browser/.test(line))).toBe(true);

    await page.click("#delete-topic");
    await page.click("#confirm-ok");
    await page.locator(".ok", { hasText: "deleted" }).waitFor();
    const after = kafka.admin();
    await after.connect();
    try {
      expect(await after.listTopics()).not.toContain("created-in-browser");
    } finally {
      await after.disconnect();
    }
    expect(logLines.some((line) => /console: topic deleted user=operator .*topic=created-in-browser/.test(line))).toBe(true);
  }, 20_000);

  test("a read-only user sees no change buttons, and the API refuses the change anyway", async () => {
    const context = await browser.newContext({ httpCredentials: READER });
    const reader = await context.newPage();
    try {
      await open(reader, "#/topics");
      expect(await reader.locator("#session").textContent()).toContain("viewer (read)");
      expect(await reader.locator("#create-topic").count()).toBe(0);
      await open(reader, "#/topics/orders");
      expect(await reader.locator("#delete-topic, #add-partitions, #alter-config").count()).toBe(0);
      await open(reader, "#/groups/billing");
      expect(await reader.locator("#reset-offsets").count()).toBe(0);
      expect(await reader.locator("button:visible").count()).toBe(0);
    } finally {
      await context.close();
    }
    const refused = await fetch(`${base}/ui/api/topics`, { method: "POST", headers: { authorization: basic(READER), "content-type": "application/json" }, body: JSON.stringify({ name: "not-allowed" }) });
    expect(await refused.clone().json()).toMatchObject({ error_code: 40301 });
    expect(refused.status).toBe(403);
    const deleteRefused = await fetch(`${base}/ui/api/topics/orders`, { method: "DELETE", headers: { authorization: basic(READER) } });
    expect(deleteRefused.status).toBe(403);
    expect(server.broker.topics.get("not-allowed")).toBeUndefined();
    expect(server.broker.topics.get("orders")).toBeDefined();
    expect((await fetch(`${base}/ui/api/topics/orders`)).status).toBe(401);
    expect(logLines.some((line) => /HTTP request denied .*method=POST path=\/ui\/api\/topics principal=User:viewer role=read needed=write/.test(line))).toBe(true);
  }, 20_000);

  test("bad input gets a clear message on the page, never a broken page or a server error", async () => {
    const cases: [string, RegExp][] = [
      ["#/topics/no-such-topic", /topic 'no-such-topic' does not exist/],
      ["#/groups/no-such-group", /consumer group 'no-such-group' does not exist/],
      ["#/records?topic=orders&partition=0&offset=99999999", /offset 99999999 is out of range/],
      ["#/records?topic=orders&partition=9", /has no partition 9/],
      ["#/records?topic=orders&partition=0&limit=100000", /limit must be between 1 and 500/],
      ["#/records?topic=no-such-topic", /topic 'no-such-topic' does not exist/],
    ];
    for (const [hash, expected] of cases) {
      await open(page, hash);
      await page.locator(".error").first().waitFor({ timeout: 5_000 });
      expect(await page.locator(".error").first().textContent()).toMatch(expected);
      expect(await page.locator("header nav a").count()).toBe(6);
    }
    await open(page, "#/schemas?subject=payments-value");
    await page.fill("#check-schema", '{"type": "record", "name": "Order", "fields": [');
    await page.click("#check");
    await page.locator("#check-outcome .error").waitFor({ timeout: 5_000 });
    expect(await page.locator("#check-outcome").textContent()).toMatch(/refused|Invalid schema/i);
    await page.fill("#check-schema", JSON.stringify({ ...AVRO_ORDER_V2, fields: [...AVRO_ORDER_V2.fields, { name: "note", type: "string" }] }));
    await page.click("#check");
    await page.locator("#check-outcome .error").waitFor({ timeout: 5_000 });
    expect(await page.locator("#check-outcome").textContent()).toMatch(/Not compatible/);

    const headers = { authorization: basic(ADMIN), "content-type": "application/json" };
    const statuses = await Promise.all([
      fetch(`${base}/ui/api/topics/orders/records?offset=-1`, { headers }),
      fetch(`${base}/ui/api/topics/orders/records?limit=1000000`, { headers }),
      fetch(`${base}/ui/api/topics/orders/records?from=timestamp&timestamp=abc`, { headers }),
      fetch(`${base}/ui/api/topics/%E0%A4%A/records`, { headers }),
      fetch(`${base}/ui/api/topics`, { method: "POST", headers, body: "{not json" }),
      fetch(`${base}/ui/api/topics`, { method: "POST", headers, body: JSON.stringify({ name: "orders" }) }),
      fetch(`${base}/ui/api/topics`, { method: "POST", headers, body: JSON.stringify({ name: "bad name!" }) }),
      fetch(`${base}/ui/api/topics/orders/partitions`, { method: "POST", headers, body: JSON.stringify({ count: 1 }) }),
      fetch(`${base}/ui/api/topics/orders/configs`, { method: "POST", headers, body: JSON.stringify({ set: { "retention.ms": "soon" } }) }),
      fetch(`${base}/ui/api/groups/billing/reset`, { method: "POST", headers, body: JSON.stringify({ to: "latest" }) }),
      fetch(`${base}/ui/api/groups/nobody/reset`, { method: "POST", headers, body: JSON.stringify({ to: "yesterday" }) }),
      fetch(`${base}/ui/api/nothing-here`, { headers }),
    ]).then((responses) => responses.map((response) => response.status));
    expect(statuses).toEqual([400, 400, 400, 400, 400, 400, 400, 400, 400, 409, 400, 404]);
  }, 30_000);

  test("offsets of a group without members reset to the earliest from the page", async () => {
    await consumer!.disconnect();
    consumer = null;
    await open(page, "#/groups/billing");
    await waitFor(async () => (await page.locator("#group-state").textContent()) === "Empty", { timeoutMs: 10_000, intervalMs: 250 });
    await page.selectOption("#reset-offsets select", "earliest");
    await page.click("#reset-offsets button");
    await page.click("#confirm-ok");
    await page.locator(".ok").waitFor({ timeout: 5_000 });
    expect(await page.locator(".ok").textContent()).toContain("Reset 3 partition(s)");
    const offsets = server.broker.groups.fetchOffsets("billing", null).flatMap((topic) => topic.partitions.map((partition) => partition.offset));
    expect(offsets).toEqual([0, 0, 0]);
  }, 20_000);
});
