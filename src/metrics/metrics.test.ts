import { expect, test } from "bun:test";
import { MetricsRegistry } from "./metrics.ts";
import { RawClient, requestFrame } from "../../test/helpers/raw-client.ts";
import { startTestServer } from "../../test/helpers/server.ts";

test("counters, gauges and histograms render in Prometheus' text format", () => {
  const registry = new MetricsRegistry();
  const requests = registry.counter("requests_total", "Requests.");
  requests.inc({ api: "Produce", version: 9 });
  requests.inc({ api: "Produce", version: 9 }, 2);
  registry.gauge("open", "Open things.").collect(() => 4);
  registry.histogram("latency_seconds", "Latency.", [0.1, 1]).observe(0.5, { api: 'a"b' });
  expect(registry.render()).toBe(
    [
      "# HELP requests_total Requests.",
      "# TYPE requests_total counter",
      'requests_total{api="Produce",version="9"} 3',
      "# HELP open Open things.",
      "# TYPE open gauge",
      "open 4",
      "# HELP latency_seconds Latency.",
      "# TYPE latency_seconds histogram",
      'latency_seconds_bucket{api="a\\"b",le="0.1"} 0',
      'latency_seconds_bucket{api="a\\"b",le="1"} 1',
      'latency_seconds_bucket{api="a\\"b",le="+Inf"} 1',
      'latency_seconds_sum{api="a\\"b"} 0.5',
      'latency_seconds_count{api="a\\"b"} 1',
      "",
    ].join("\n"),
  );
});

test("the gateway counts requests by API and version, bytes and connections", async () => {
  await using server = await startTestServer();
  const client = await RawClient.connect(server.port);
  for (let i = 0; i < 3; i++) {
    client.write(requestFrame(18, 3, i, {}));
    await client.nextFrame();
  }
  const { metrics } = server.broker;
  expect(metrics.requests.get({ api: "ApiVersions", version: 3 })).toBe(3);
  const text = metrics.registry.render();
  expect(text).toContain('kgate_requests_total{api="ApiVersions",version="3"} 3');
  expect(text).toContain("kgate_connections 1");
  expect(text).toMatch(/kgate_request_duration_seconds_count\{api="ApiVersions"\} 3/);
  expect(metrics.bytesIn.get()).toBeGreaterThan(0);
  expect(metrics.bytesOut.get()).toBeGreaterThan(0);
  client.close();
});

test("/metrics, /health and /ready are served on the HTTP listener next to the registry", async () => {
  await using server = await startTestServer({ registryListen: { host: "127.0.0.1", port: 0 } });
  const base = `http://127.0.0.1:${server.registry!.server.port}`;
  const client = await RawClient.connect(server.port);
  client.write(requestFrame(3, 12, 1, { topics: null }));
  await client.nextFrame();
  const metrics = await fetch(`${base}/metrics`);
  expect(metrics.status).toBe(200);
  const text = await metrics.text();
  expect(text).toContain('kgate_requests_total{api="Metadata",version="12"} 1');
  expect(text).toMatch(/kgate_process_memory_bytes\{kind="rss"\} \d+/);
  expect(await (await fetch(`${base}/health`)).json()).toEqual({ status: "ok" });
  expect((await fetch(`${base}/ready`)).status).toBe(200);
  // The registry's own paths still answer.
  expect(await (await fetch(`${base}/subjects`)).json()).toEqual([]);
  client.close();
});
