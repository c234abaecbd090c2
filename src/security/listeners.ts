// Kafka's `listeners` / `advertised.listeners`: several listeners at once, each with a security protocol, a bind
// address and the address Metadata gives to clients that came in through it. Listener names are the security
// protocols themselves (Kafka's default listener.security.protocol.map), so each protocol appears at most once.

export type SecurityProtocol = "PLAINTEXT" | "SSL" | "SASL_PLAINTEXT" | "SASL_SSL";
export const SECURITY_PROTOCOLS: readonly SecurityProtocol[] = ["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"];

export interface ListenerConfig {
  readonly name: string;
  readonly securityProtocol: SecurityProtocol;
  readonly host: string;
  /** 0: an ephemeral port. */
  readonly port: number;
  /** What Metadata and FindCoordinator answer on this listener; port 0 means the bound port. */
  advertisedHost: string;
  advertisedPort: number;
}

export function usesTls(protocol: SecurityProtocol): boolean {
  return protocol === "SSL" || protocol === "SASL_SSL";
}

export function usesSasl(protocol: SecurityProtocol): boolean {
  return protocol === "SASL_PLAINTEXT" || protocol === "SASL_SSL";
}

export class ListenerSpecError extends Error {
  override name = "ListenerSpecError";
}

/** `NAME://HOST:PORT` (HOST may be empty for all addresses, or `[v6]`). */
function parseListenerUrl(text: string, flag: string): { name: string; host: string; port: number } {
  const match = /^([A-Za-z_][A-Za-z0-9_]*):\/\/(\[[^\]]*\]|[^:/]*):(\d+)$/.exec(text.trim());
  if (!match) throw new ListenerSpecError(`${flag} wants NAME://HOST:PORT, got ${JSON.stringify(text)}`);
  const port = Number(match[3]);
  if (port > 65535) throw new ListenerSpecError(`${flag}: port out of range in ${JSON.stringify(text)}`);
  return { name: match[1]!.toUpperCase(), host: match[2]!.replace(/^\[(.*)\]$/, "$1"), port };
}

/**
 * Parses `--listeners` and `--advertised-listeners` (comma-separated). A listener missing from the advertised list
 * is advertised at its bind address (127.0.0.1 for a wildcard) and bound port.
 */
export function parseListeners(listenersText: string, advertisedText: string | undefined): ListenerConfig[] {
  const listeners: ListenerConfig[] = [];
  for (const part of listenersText.split(",").filter((item) => item.trim() !== "")) {
    const { name, host, port } = parseListenerUrl(part, "--listeners");
    if (!SECURITY_PROTOCOLS.includes(name as SecurityProtocol)) {
      throw new ListenerSpecError(`--listeners: unknown security protocol ${name} (one of ${SECURITY_PROTOCOLS.join(", ")})`);
    }
    if (listeners.some((listener) => listener.name === name)) throw new ListenerSpecError(`--listeners: ${name} appears twice`);
    const bindHost = host === "" ? "0.0.0.0" : host;
    const wildcard = bindHost === "0.0.0.0" || bindHost === "::";
    listeners.push({ name, securityProtocol: name as SecurityProtocol, host: bindHost, port, advertisedHost: wildcard ? "127.0.0.1" : bindHost, advertisedPort: port });
  }
  if (listeners.length === 0) throw new ListenerSpecError("--listeners: no listener given");
  for (const part of (advertisedText ?? "").split(",").filter((item) => item.trim() !== "")) {
    const { name, host, port } = parseListenerUrl(part, "--advertised-listeners");
    const listener = listeners.find((candidate) => candidate.name === name);
    if (!listener) throw new ListenerSpecError(`--advertised-listeners: ${name} is not in --listeners`);
    if (host === "" || host === "0.0.0.0" || host === "::") throw new ListenerSpecError(`--advertised-listeners: ${name} needs a host clients can reach`);
    listener.advertisedHost = host;
    listener.advertisedPort = port;
  }
  return listeners;
}
