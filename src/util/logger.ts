// One line per event: time, level, message, then the context. Text (readable, the default) or JSON (one object
// per line, for log shippers: `--log-format json`).

export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFormat = "text" | "json";
const levelRank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

let threshold = levelRank.info;
let format: LogFormat = "text";
let sink: (line: string) => void = (line) => process.stderr.write(line + "\n");

export function setLogLevel(level: LogLevel): void {
  threshold = levelRank[level];
}

export function setLogFormat(next: LogFormat): void {
  format = next;
}

/** Redirects log lines (tests capture them). */
export function setLogSink(write: (line: string) => void): void {
  sink = write;
}

function formatValue(value: unknown): string {
  if (typeof value === "string") return /[\s="]/.test(value) ? JSON.stringify(value) : value;
  if (value instanceof Error) return JSON.stringify(value.message);
  return String(value);
}

/** A context value as JSON can carry it: errors as their message, bigints as strings, cycles cut. */
function jsonValue(value: unknown): unknown {
  if (value instanceof Error) return value.message;
  if (typeof value === "bigint") return value.toString();
  if (value === undefined || typeof value === "function" || typeof value === "symbol") return String(value);
  return value;
}

function jsonLine(time: string, level: LogLevel, message: string, context?: Record<string, unknown>): string {
  const entry: Record<string, unknown> = { time, level, msg: message };
  // Context fields never overwrite the three fixed keys a log shipper relies on.
  if (context) for (const key in context) entry[key in entry ? `field_${key}` : key] = jsonValue(context[key]);
  try {
    return JSON.stringify(entry, (_key, value) => (typeof value === "bigint" ? value.toString() : value));
  } catch {
    // A cyclic object in the context: keep the line, drop the structure.
    return JSON.stringify({ time, level, msg: message, context: String(context) });
  }
}

function emit(level: LogLevel, message: string, context?: Record<string, unknown>): void {
  if (levelRank[level] < threshold) return;
  const time = new Date().toISOString();
  if (format === "json") return sink(jsonLine(time, level, message, context));
  let line = `${time} ${level.toUpperCase().padEnd(5)} ${message}`;
  if (context) for (const key in context) line += ` ${key}=${formatValue(context[key])}`;
  sink(line);
}

export const log = {
  debug: (message: string, context?: Record<string, unknown>) => emit("debug", message, context),
  info: (message: string, context?: Record<string, unknown>) => emit("info", message, context),
  warn: (message: string, context?: Record<string, unknown>) => emit("warn", message, context),
  error: (message: string, context?: Record<string, unknown>) => emit("error", message, context),
  enabled: (level: LogLevel) => levelRank[level] >= threshold,
};
