// `kgate status`: asks a running gateway (or any Kafka broker) over the Kafka protocol for its topics, partitions,
// offsets, sizes, groups and lag (src/status/cluster-status.ts, shared with the web console), and prints them as tables.

import { KafkaConnection } from "../client/kafka-connection.ts";
import { KafkaClient } from "./kafka-client.ts";
import { collectStatus, formatBytes, type ClusterStatus } from "../status/cluster-status.ts";

export { collectStatus, formatBytes, type ClusterStatus, type GroupStatus, type PartitionStatus } from "../status/cluster-status.ts";

/** Left-aligned text columns, right-aligned numbers, two spaces apart. */
function table(header: string[], rows: (string | number | null)[][]): string {
  const cells = rows.map((row) => row.map((cell) => (cell === null ? "-" : String(cell))));
  const numeric = header.map((_, column) => rows.length > 0 && rows.every((row) => row[column] === null || typeof row[column] === "number"));
  const widths = header.map((title, column) => Math.max(title.length, ...cells.map((row) => row[column]!.length)));
  const line = (row: string[]) => row.map((cell, column) => (numeric[column] ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!))).join("  ").trimEnd();
  return [line(header), ...cells.map(line)].join("\n");
}

export function renderStatus(status: ClusterStatus): string {
  const out: string[] = [`cluster ${status.clusterId ?? "-"}  brokers ${status.brokers.join(", ") || "-"}`, ""];
  if (status.partitions.length === 0) out.push("no topics");
  else {
    out.push(
      table(
        ["TOPIC", "PARTITION", "START", "END", "RECORDS", "SIZE"],
        status.partitions.map((p) => [
          p.internal ? `${p.topic} (internal)` : p.topic,
          p.partition,
          p.startOffset,
          p.endOffset,
          p.startOffset === null || p.endOffset === null ? null : p.endOffset - p.startOffset,
          p.sizeBytes === null ? null : formatBytes(p.sizeBytes),
        ]),
      ),
    );
  }
  out.push("");
  if (status.groups.length === 0) out.push("no groups");
  else {
    const rows: (string | number | null)[][] = [];
    for (const group of status.groups) {
      if (group.offsets.length === 0) rows.push([group.groupId, group.state, group.members, null, null, null, null, null]);
      for (const offset of group.offsets) rows.push([group.groupId, group.state, group.members, offset.topic, offset.partition, offset.committed, offset.endOffset, offset.lag]);
    }
    out.push(table(["GROUP", "STATE", "MEMBERS", "TOPIC", "PARTITION", "COMMITTED", "END", "LAG"], rows));
    const total = status.groups.flatMap((group) => group.offsets).reduce((sum, offset) => sum + (offset.lag ?? 0), 0);
    out.push("", `total lag ${total}`);
  }
  if (status.uplinks && (status.uplinks.links.length > 0 || (status.uplinks.pulls?.length ?? 0) > 0)) {
    out.push("", `uplinks of edge ${status.uplinks.edgeId ?? "-"}`);
    for (const link of status.uplinks.links) {
      const since = Math.round((Date.now() - link.since) / 1_000);
      out.push(`link ${link.name}  ${link.state} for ${since} s  ${link.delivery}  ${formatBytes(link.throughputBytesPerSecond)}/s${link.lastError ? `  last error: ${link.lastError}` : ""}`);
      const rows = link.partitions.map((p) => [
        p.topic,
        p.partition,
        p.remoteTopic,
        p.forwardedOffset,
        p.logEndOffset,
        p.lagRecords,
        formatBytes(p.lagBytes),
        Math.round(p.lagSeconds * 10) / 10,
        Object.entries(p.dropped).map(([reason, count]) => `${reason}=${count}`).join(",") || null,
      ]);
      if (rows.length > 0) out.push(table(["TOPIC", "PARTITION", "REMOTE TOPIC", "FORWARDED", "END", "LAG", "LAG SIZE", "LAG S", "DROPPED"], rows));
    }
    for (const pull of status.uplinks.pulls ?? []) {
      const since = Math.round((Date.now() - pull.since) / 1_000);
      out.push(`pull ${pull.name}  ${pull.state} for ${since} s  copied ${pull.copiedRecords}  skipped ${pull.skippedRecords}${pull.lastError ? `  last error: ${pull.lastError}` : ""}`);
      for (const [topic, error] of Object.entries(pull.topicErrors)) out.push(`  ${topic}: ${error}`);
      const rows = pull.partitions.map((p) => [p.remoteTopic, p.partition, p.localTopic, p.nextOffset, p.lastStableOffset < 0 ? null : p.lastStableOffset, p.lagRecords, p.copiedRecords, p.skippedRecords, p.error]);
      if (rows.length > 0) out.push(table(["REMOTE TOPIC", "PARTITION", "LOCAL TOPIC", "NEXT", "REMOTE END", "LAG", "COPIED", "SKIPPED", "ERROR"], rows));
    }
  }
  return out.join("\n") + "\n";
}

export const statusHelp = `Usage: kgate status [--bootstrap HOST:PORT] [--http URL] [--timeout-ms MS] [--json]

Prints the topics, partitions, offsets, sizes, consumer groups and lag of a running gateway, and its uplinks.
  --bootstrap HOST:PORT   the Kafka listener to ask [KGATE_BOOTSTRAP] (default: 127.0.0.1:9092)
  --http URL              the gateway's HTTP listener, for its uplinks [KGATE_HTTP] (default: http://HOST:8081)
  --timeout-ms MS         how long to wait for each answer (default: 10000)
  --json                  print the collected status as JSON instead of tables`;

/** The CLI entry: returns the exit code (0 ok, 1 cannot reach or read the broker, 2 bad arguments). */
export async function runStatus(argv: string[], env: Record<string, string | undefined>, write: (text: string) => void, writeError: (text: string) => void): Promise<number> {
  let bootstrap = env.KGATE_BOOTSTRAP || "127.0.0.1:9092";
  let timeoutMs = 10_000;
  let json = false;
  let http: string | null = env.KGATE_HTTP || null;
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.includes("=") ? [argv[i]!.slice(0, argv[i]!.indexOf("=")), argv[i]!.slice(argv[i]!.indexOf("=") + 1)] : [argv[i]!, undefined];
    const value = () => inline ?? argv[++i];
    if (flag === "--help") {
      write(statusHelp + "\n");
      return 0;
    } else if (flag === "--json") json = true;
    else if (flag === "--bootstrap") bootstrap = value() ?? "";
    else if (flag === "--http") http = value() ?? "";
    else if (flag === "--timeout-ms") timeoutMs = Number(value());
    else {
      writeError(`kgate status: unknown option ${argv[i]} (see --help)\n`);
      return 2;
    }
  }
  const colon = bootstrap.lastIndexOf(":");
  const port = Number(bootstrap.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port < 1 || port > 65535 || !(timeoutMs > 0)) {
    writeError(`kgate status: --bootstrap wants HOST:PORT and --timeout-ms a positive number\n`);
    return 2;
  }
  const host = bootstrap.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
  let client: KafkaConnection | null = null;
  try {
    client = await KafkaClient.connect(host, port, { timeoutMs });
    const status = await collectStatus(client);
    const uplinks = await fetchUplinks(http ?? `http://${host.includes(":") ? `[${host}]` : host}:8081`, timeoutMs);
    if (uplinks) status.uplinks = uplinks;
    else if (http !== null) writeError(`kgate status: no uplink status at ${http}/uplinks\n`);
    write(json ? JSON.stringify(status, null, 2) + "\n" : renderStatus(status));
    return 0;
  } catch (error) {
    writeError(`kgate status: ${bootstrap}: ${(error as Error).message}\n`);
    return 1;
  } finally {
    client?.close();
  }
}

/** The gateway's /uplinks, or null when its HTTP listener does not answer (another broker, or the listener is off). */
async function fetchUplinks(baseUrl: string, timeoutMs: number): Promise<ClusterStatus["uplinks"] | null> {
  try {
    const response = await fetch(`${baseUrl.replace(/\/$/, "")}/uplinks`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) return null;
    const body = (await response.json()) as ClusterStatus["uplinks"];
    return body && Array.isArray(body.links) ? body : null;
  } catch {
    return null;
  }
}
