// A TCP forwarder on an ephemeral port for tests that restart the server under a running client: the client keeps
// the proxy's address while each server start takes a fresh ephemeral port. Listening again on the old port could
// find it taken, by another process or by an outgoing connection that was handed it meanwhile. A watcher may look at
// what each client sends (the interop matrix's recording proxy counts request headers).

import net from "node:net";

/** Makes one connection's observer of the bytes its client sends, in order. */
export type ClientWatcher = () => (chunk: Buffer) => void;

export class ForwardingProxy implements AsyncDisposable {
  private readonly server = net.createServer((client) => this.accept(client));
  private readonly sockets = new Set<net.Socket>();
  /** null: the server is down; connections are closed at once, as a refused connection would be. */
  private upstreamPort: number | null = null;
  port = 0;

  private constructor(private readonly watchClient?: ClientWatcher) {}

  static async start(watchClient?: ClientWatcher): Promise<ForwardingProxy> {
    const proxy = new ForwardingProxy(watchClient);
    await new Promise<void>((resolve) => proxy.server.listen(0, "127.0.0.1", resolve));
    proxy.port = (proxy.server.address() as net.AddressInfo).port;
    return proxy;
  }

  /** Sends new connections to `port` (null: refuses them) and drops the current ones. */
  setUpstream(port: number | null): void {
    this.upstreamPort = port;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  private accept(client: net.Socket): void {
    if (this.upstreamPort === null) {
      client.destroy();
      return;
    }
    const upstream = net.connect(this.upstreamPort, "127.0.0.1");
    if (this.watchClient) client.on("data", this.watchClient());
    this.sockets.add(client);
    this.sockets.add(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    for (const socket of [client, upstream]) {
      socket.on("close", close);
      socket.on("error", close);
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.setUpstream(null);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
