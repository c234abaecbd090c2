// One line per event: time, level, message, then key=value context.

export type LogLevel = "debug" | "info" | "warn" | "error";
const levelRank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

let threshold = levelRank.info;
let sink: (line: string) => void = (line) => process.stderr.write(line + "\n");

export function setLogLevel(level: LogLevel): void {
  threshold = levelRank[level];
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

function emit(level: LogLevel, message: string, context?: Record<string, unknown>): void {
  if (levelRank[level] < threshold) return;
  let line = `${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${message}`;
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
