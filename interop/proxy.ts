// A recording TCP proxy between a client and the gateway. It forwards bytes untouched and reads only the request
// header of each client→gateway frame (int32 size, int16 api key, int16 api version), which every Kafka request
// starts with, so it records what a client sent without knowing the client. The upstream port can change while it
// runs (the restart scenario starts a new gateway behind the same address).

import net from "node:net";

export interface RequestCount {
  apiKey: number;
  apiVersion: number;
  count: number;
}

export class RecordingProxy {
  private server: net.Server;
  /** null while the gateway restarts: connections are closed at once, as a refused one would be. */
  private upstreamPort: number | null = 0;
  private readonly sockets = new Set<net.Socket>();
  /** Requests from a client id with this prefix are not recorded: a helper client inside another client's cell. */
  static readonly unrecordedClientIdPrefix = "interop-helper";
  /** "key/version" → requests seen. */
  readonly requests = new Map<string, number>();
  port = 0;

  private constructor() {
    this.server = net.createServer((client) => this.accept(client));
  }

  static async start(): Promise<RecordingProxy> {
    const proxy = new RecordingProxy();
    await new Promise<void>((resolve) => proxy.server.listen(0, "127.0.0.1", resolve));
    proxy.port = (proxy.server.address() as net.AddressInfo).port;
    return proxy;
  }

  /**
   * Sends new connections to this gateway port (null: refuses them, while the gateway is down; forwarding to its old
   * port could reach another cell's gateway that was handed the port meanwhile); with `dropConnections`, also closes
   * the current ones.
   */
  setUpstream(port: number | null, dropConnections = false): void {
    this.upstreamPort = port;
    if (dropConnections) for (const socket of this.sockets) socket.destroy();
  }

  counts(): RequestCount[] {
    return [...this.requests].map(([key, count]) => {
      const [apiKey, apiVersion] = key.split("/").map(Number) as [number, number];
      return { apiKey, apiVersion, count };
    });
  }

  private accept(client: net.Socket): void {
    if (this.upstreamPort === null) {
      client.destroy();
      return;
    }
    const upstream = net.connect(this.upstreamPort, "127.0.0.1");
    this.sockets.add(client);
    this.sockets.add(upstream);
    let pending = Buffer.alloc(0);
    let skip = 0; // bytes of the current frame still to pass before the next frame starts
    client.on("data", (chunk: Buffer) => {
      let view = chunk;
      while (view.length > 0) {
        if (skip > 0) {
          const taken = Math.min(skip, view.length);
          skip -= taken;
          view = view.subarray(taken);
          continue;
        }
        pending = pending.length === 0 ? Buffer.from(view) : Buffer.concat([pending, view]);
        view = Buffer.alloc(0);
        // size int32, api key int16, api version int16, correlation id int32, client id int16 length + bytes
        if (pending.length < 4) break;
        const frameBytes = 4 + pending.readInt32BE(0);
        let headerBytes = Math.min(frameBytes, 14);
        if (pending.length >= 14 && frameBytes >= 14) headerBytes = Math.min(frameBytes, 14 + Math.max(0, pending.readInt16BE(12)));
        if (pending.length < headerBytes) break;
        const clientId = headerBytes > 14 ? pending.toString("utf8", 14, headerBytes) : "";
        if (!clientId.startsWith(RecordingProxy.unrecordedClientIdPrefix)) {
          const key = `${pending.readInt16BE(4)}/${pending.readInt16BE(6)}`;
          this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
        }
        if (pending.length >= frameBytes) view = pending.subarray(frameBytes);
        else skip = frameBytes - pending.length;
        pending = Buffer.alloc(0);
      }
    });
    client.pipe(upstream);
    upstream.pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on("close", close);
    upstream.on("close", close);
    client.on("error", close);
    upstream.on("error", close);
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
