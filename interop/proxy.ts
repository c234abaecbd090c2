// A recording TCP proxy between a client and the gateway. It forwards bytes untouched and reads only the request
// header of each client→gateway frame (int32 size, int16 api key, int16 api version), which every Kafka request
// starts with, so it records what a client sent without knowing the client. The upstream port can change while it
// runs (the restart scenario starts a new gateway behind the same address).

import { ForwardingProxy } from "../test/helpers/forwarding-proxy.ts";

export interface RequestCount {
  apiKey: number;
  apiVersion: number;
  count: number;
}

export class RecordingProxy {
  /**
   * Requests from a client id with one of these prefixes are not recorded: a helper client inside another client's
   * cell, and the edge gateway's uplink on the uplink scenario's central proxy.
   */
  static readonly unrecordedClientIdPrefixes = ["interop-helper", "kgate-uplink"];

  private constructor(
    private readonly forwarder: ForwardingProxy,
    /** "key/version" → requests seen. */
    readonly requests: Map<string, number>,
  ) {}

  static async start(): Promise<RecordingProxy> {
    const requests = new Map<string, number>();
    return new RecordingProxy(await ForwardingProxy.start(() => requestHeaderCounter(requests)), requests);
  }

  get port(): number {
    return this.forwarder.port;
  }

  /**
   * Sends new connections to this gateway port (null: refuses them, while the gateway is down; forwarding to its old
   * port could reach another cell's gateway that was handed the port meanwhile) and closes the current ones.
   */
  setUpstream(port: number | null): void {
    this.forwarder.setUpstream(port);
  }

  counts(): RequestCount[] {
    return [...this.requests].map(([key, count]) => {
      const [apiKey, apiVersion] = key.split("/").map(Number) as [number, number];
      return { apiKey, apiVersion, count };
    });
  }

  async stop(): Promise<void> {
    await this.forwarder[Symbol.asyncDispose]();
  }
}

/** One connection's reader of its request headers: counts each frame's api key and version into `requests`. */
function requestHeaderCounter(requests: Map<string, number>): (chunk: Buffer) => void {
  let pending = Buffer.alloc(0);
  let skip = 0; // bytes of the current frame still to pass before the next frame starts
  return (chunk) => {
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
      if (!RecordingProxy.unrecordedClientIdPrefixes.some((prefix) => clientId.startsWith(prefix))) {
        const key = `${pending.readInt16BE(4)}/${pending.readInt16BE(6)}`;
        requests.set(key, (requests.get(key) ?? 0) + 1);
      }
      if (pending.length >= frameBytes) view = pending.subarray(frameBytes);
      else skip = frameBytes - pending.length;
      pending = Buffer.alloc(0);
    }
  };
}
