// The web console on the HTTP listener: one route table for the page, its assets and the JSON API the page uses.
// GET / redirects a browser (Accept: text/html) to /ui/; a registry client asking for / still gets the registry's {}.
// Reads need the `read` role, changes `write` (src/security/http-auth.ts requiredRole); each change runs as the
// caller's principal through the Kafka handlers, so the ACLs apply too, and is logged with the user.

import type { Broker } from "../broker.ts";
import { limits } from "../config.ts";
import type { HttpCaller, OperationsRoute } from "../registry/http.ts";
import type { SchemaRegistry } from "../registry/registry.ts";
import { ANONYMOUS_PRINCIPAL } from "../security/sasl.ts";
import type { Uplink } from "../uplink/uplink.ts";
import { log } from "../util/logger.ts";
import { assetResponse, indexResponse } from "./assets.ts";
import { describeGroup, resetGroupOffsets } from "./groups.ts";
import { InProcessClient } from "./in-process-client.ts";
import { readRecordsPage } from "./records.ts";
import { badRequest, ConsoleError, errorResponse, json, notFound, readBody } from "./responses.ts";
import { Sampler } from "./sampler.ts";
import { addPartitions, alterTopicConfigs, createTopic, deleteTopic, describeTopicConfigs } from "./topic-admin.ts";
import packageJson from "../../package.json" with { type: "json" };

export interface ConsoleSources {
  broker: Broker;
  uplink: Uplink | null;
  /** The registry, once started (it starts with the listener that serves the console). */
  registry: () => SchemaRegistry | null;
  /** The Kafka listeners' names, for connections by listener. */
  listeners: () => readonly string[];
  startedAtMs: number;
}

interface ConsoleCall {
  request: Request;
  url: URL;
  /** The route pattern's captures, decoded. */
  params: string[];
  caller: HttpCaller;
  clientAddress: string;
  /** The Kafka handlers as the caller's principal. */
  client: () => InProcessClient;
}

interface Route {
  method: "GET" | "POST" | "DELETE";
  path: RegExp;
  handle(call: ConsoleCall): Response | Promise<Response>;
}

/** Without HTTP auth every caller may change (as every Kafka client may without an authorizer). */
const ANONYMOUS_CALLER: HttpCaller = { user: "anonymous", role: "admin" };

/**
 * A browser keeps sending cached Basic credentials, so another site's page could post a form to the console. A change
 * must come from the console's own origin (a browser names it in Origin) with a JSON body (which a cross-site form
 * cannot send without a CORS preflight, which the console never grants).
 */
function crossSiteRefusal(request: Request): ConsoleError | null {
  const origin = request.headers.get("origin");
  if (origin !== null) {
    let originHost: string | null = null;
    try {
      originHost = new URL(origin).host;
    } catch {}
    if (originHost !== request.headers.get("host")) return new ConsoleError(403, `a change must come from the console's own page, not from ${origin}`);
  }
  const type = (request.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (request.method === "POST" && type !== "application/json") return new ConsoleError(415, "a change must send its body as application/json");
  return null;
}

export class WebConsole {
  readonly sampler: Sampler;
  private readonly readClient: InProcessClient;
  private readonly routes: Route[];

  constructor(private readonly sources: ConsoleSources) {
    const { broker } = sources;
    // Reads see every topic and group: who may read is the HTTP listener's (Basic auth and roles), not the ACLs'.
    this.readClient = new InProcessClient(broker, null);
    this.sampler = new Sampler({ broker, version: packageJson.version, startedAtMs: sources.startedAtMs, listeners: sources.listeners, client: this.readClient });
    this.routes = this.routeTable();
  }

  /** The operations route: the console's answer for its paths, null for the others. */
  readonly route: OperationsRoute = (request, clientAddress, caller) => {
    const url = new URL(request.url);
    const path = url.pathname;
    if (path === "/" && request.method === "GET" && (request.headers.get("accept") ?? "").includes("text/html")) return Response.redirect("/ui/", 302);
    if (path === "/ui") return Response.redirect("/ui/", 302);
    if (!path.startsWith("/ui/")) return null;
    return this.serve(request, url, clientAddress ?? "?", caller ?? ANONYMOUS_CALLER);
  };

  stop(): void {
    this.sampler.stop();
  }

  private async serve(request: Request, url: URL, clientAddress: string, caller: HttpCaller): Promise<Response> {
    try {
      decodeURI(url.pathname);
    } catch {
      return errorResponse(badRequest(`malformed %-escape in the path ${url.pathname}`));
    }
    const forgery = request.method === "GET" || request.method === "HEAD" ? null : crossSiteRefusal(request);
    if (forgery) return errorResponse(forgery);
    for (const route of this.routes) {
      const match = route.path.exec(url.pathname);
      if (!match) continue;
      if (route.method !== request.method && !(route.method === "GET" && request.method === "HEAD")) continue;
      try {
        const params = match.slice(1).map((part) => decodeURIComponent(part));
        const principal = caller === ANONYMOUS_CALLER ? ANONYMOUS_PRINCIPAL : `User:${caller.user}`;
        return await route.handle({ request, url, params, caller, clientAddress, client: () => new InProcessClient(this.sources.broker, principal, clientAddress) });
      } catch (error) {
        if (error instanceof ConsoleError) return errorResponse(error);
        if (error instanceof URIError) return errorResponse(badRequest(`malformed %-escape in the path ${url.pathname}`));
        log.warn("console: request failed", { path: url.pathname, error });
        return json({ error: `the console could not answer: ${(error as Error).message}` }, 500);
      }
    }
    return errorResponse(new ConsoleError(404, `no such page: ${url.pathname}`));
  }

  /** Logs a change with the user who made it. */
  private changed(call: ConsoleCall, action: string, fields: Record<string, unknown>): void {
    log.info(`console: ${action}`, { user: call.caller.user, client: call.clientAddress, ...fields });
  }

  private routeTable(): Route[] {
    const asset = (name: string) => (call: ConsoleCall) => assetResponse(name, call.request) ?? errorResponse(notFound(`no asset ${name}`));
    const registry = () => this.sources.registry();
    return [
      { method: "GET", path: /^\/ui\/$/, handle: async (call) => indexResponse({ session: this.session(call), state: await this.sampler.state() }, call.request) },
      { method: "GET", path: /^\/ui\/assets\/([\w.-]+)$/, handle: (call) => asset(call.params[0]!)(call) },
      { method: "GET", path: /^\/ui\/api\/session$/, handle: (call) => json(this.session(call)) },
      { method: "GET", path: /^\/ui\/api\/events$/, handle: (call) => this.events(call) },
      { method: "GET", path: /^\/ui\/api\/state$/, handle: async () => json(await this.sampler.state()) },
      { method: "GET", path: /^\/ui\/api\/topics\/([^/]+)$/, handle: (call) => this.topic(call) },
      {
        method: "GET",
        path: /^\/ui\/api\/topics\/([^/]+)\/records$/,
        handle: async (call) => json(await readRecordsPage(this.sources.broker.topics, registry()?.decoders ?? null, this.readClient, call.params[0]!, call.url.searchParams)),
      },
      { method: "GET", path: /^\/ui\/api\/groups\/([^/]+)$/, handle: async (call) => json(await describeGroup(this.readClient, call.params[0]!)) },
      { method: "GET", path: /^\/ui\/api\/links$/, handle: () => json(this.sources.uplink ? { configured: true, ...this.sources.uplink.status() } : { configured: false }) },
      {
        method: "POST",
        path: /^\/ui\/api\/topics$/,
        handle: async (call) => {
          const created = await createTopic(call.client(), await readBody(call.request, limits.registryRequestBodyBytesMax));
          this.changed(call, "topic created", { topic: created.name, partitions: created.partitions });
          return json(created, 201);
        },
      },
      {
        method: "DELETE",
        path: /^\/ui\/api\/topics\/([^/]+)$/,
        handle: async (call) => {
          await deleteTopic(call.client(), call.params[0]!);
          this.changed(call, "topic deleted", { topic: call.params[0] });
          return json({ deleted: call.params[0] });
        },
      },
      {
        method: "POST",
        path: /^\/ui\/api\/topics\/([^/]+)\/partitions$/,
        handle: async (call) => {
          const result = await addPartitions(call.client(), call.params[0]!, await readBody(call.request, limits.registryRequestBodyBytesMax));
          this.changed(call, "partitions added", { topic: call.params[0], count: result.count });
          return json(result);
        },
      },
      {
        method: "POST",
        path: /^\/ui\/api\/topics\/([^/]+)\/configs$/,
        handle: async (call) => {
          const result = await alterTopicConfigs(call.client(), call.params[0]!, await readBody(call.request, limits.registryRequestBodyBytesMax));
          this.changed(call, "topic configs altered", { topic: call.params[0], set: result.set, deleted: result.deleted });
          return json(result);
        },
      },
      {
        method: "POST",
        path: /^\/ui\/api\/groups\/([^/]+)\/reset$/,
        handle: async (call) => {
          const body = await readBody(call.request, limits.registryRequestBodyBytesMax);
          const result = await resetGroupOffsets(call.client(), call.params[0]!, body);
          this.changed(call, "group offsets reset", { group: call.params[0], to: body.to, timestamp: body.timestamp, partitions: result.partitions.length });
          return json(result);
        },
      },
    ];
  }

  private session(call: ConsoleCall) {
    return { user: call.caller.user, role: call.caller.role, canChange: call.caller.role !== "read", version: packageJson.version, registry: this.sources.registry() !== null };
  }

  private async topic(call: ConsoleCall): Promise<Response> {
    const name = call.params[0]!;
    let state = await this.sampler.state();
    // Created since the last sample: read again rather than answer that it does not exist.
    if (!state.status.partitions.some((partition) => partition.topic === name) && this.sources.broker.topics.get(name)) state = await this.sampler.state(true);
    const partitions = state.status.partitions.filter((partition) => partition.topic === name);
    if (partitions.length === 0) throw notFound(`topic '${name}' does not exist`);
    const configs = await describeTopicConfigs(this.readClient, name);
    return json({
      name,
      internal: partitions[0]!.internal,
      partitions: partitions.map((partition) => ({ ...partition, recordsPerSecond: state.partitionRecordsPerSecond[`${name}\u0000${partition.partition}`] ?? null })),
      configs,
    });
  }

  /** Server-Sent Events: the sampler's history, then one event per interval until the browser goes. */
  private events(call: ConsoleCall): Response {
    let unsubscribe: (() => void) | null = null;
    let full = false;
    const stream = new ReadableStream<Uint8Array>({
      start: (controller) => {
        unsubscribe = this.sampler.subscribe((event) => {
          try {
            if (event.length === 0) controller.close();
            else controller.enqueue(event);
          } catch {
            unsubscribe?.();
          }
        });
        if (unsubscribe === null) full = true;
        call.request.signal.addEventListener("abort", () => unsubscribe?.());
      },
      cancel: () => unsubscribe?.(),
    });
    if (full) return errorResponse(new ConsoleError(429, `${limits.consoleSubscribersMax} browsers already watch this gateway; close one and reload`));
    return new Response(stream, { headers: { "content-type": "text/event-stream", "cache-control": "no-store" } });
  }
}
