/**
 * Structured logs: one JSON object per line, `{"ts","level","msg",...}`.
 *
 * @example
 * ```ts
 * import { createLogger } from "./log.ts";
 *
 * const lines: string[] = [];
 * const log = createLogger({ level: "info", write: (line) => lines.push(line) });
 * log.info("listening", { port: 8080 });
 * log.debug("not written");
 * console.log(JSON.parse(lines[0]).msg); // "listening"
 * ```
 *
 * @module
 */

/** Log levels, most verbose first. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;

/** One of {@linkcode LOG_LEVELS}. */
export type LogLevel = typeof LOG_LEVELS[number];

/** A structured logger. */
export interface Logger {
  /** True when `debug` lines are written; check it before building costly fields. */
  readonly debugEnabled: boolean;
  /** Writes a debug line. */
  debug(msg: string, fields?: Record<string, unknown>): void;
  /** Writes an info line. */
  info(msg: string, fields?: Record<string, unknown>): void;
  /** Writes a warning line. */
  warn(msg: string, fields?: Record<string, unknown>): void;
  /** Writes an error line. */
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** Options of {@linkcode createLogger}. */
export interface LoggerOptions {
  /** Lowest level written; default `info`. */
  level?: LogLevel;
  /** Where lines go; default `console.error` (stderr), keeping stdout for the address line. */
  write?: (line: string) => void;
  /** The clock for `ts`; default `Date.now`. */
  now?: () => number;
}

/**
 * Makes a logger.
 *
 * @param options Level, sink and clock.
 * @returns The logger.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const min = LOG_LEVELS.indexOf(options.level ?? "info");
  const write = options.write ?? ((line: string) => console.error(line));
  const now = options.now ?? Date.now;
  const emit =
    (level: LogLevel) => (msg: string, fields?: Record<string, unknown>) => {
      if (LOG_LEVELS.indexOf(level) < min) return;
      const ts = new Date(now()).toISOString();
      let line: string;
      try {
        line = JSON.stringify({ ts, level, msg, ...fields }, errorFields);
      } catch {
        line = JSON.stringify({ ts, level, msg, logError: "unserializable" });
      }
      write(line);
    };
  return {
    debugEnabled: min === 0,
    debug: emit("debug"),
    info: emit("info"),
    warn: emit("warn"),
    error: emit("error"),
  };
}

function errorFields(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    return { name: value.name, message: value.message, stack: value.stack };
  }
  return typeof value === "bigint" ? value.toString() : value;
}

/** A logger that writes nothing; the default in tests. */
export const silentLogger: Logger = {
  debugEnabled: false,
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
};
