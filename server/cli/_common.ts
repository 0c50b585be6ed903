// What every `intentbus` command shares: exit codes, flag parsing, the
// client built from flags and environment, and error reporting. Runtime
// neutral (node:process, node:util), so the CLI also runs on Node 20.

import process from "node:process";
import { parseArgs, type ParseArgsConfig } from "node:util";
import {
  AuthError,
  IntentBusError,
  LeaseLostError,
  NotFoundError,
} from "../../core/errors.ts";
import { IntentClient } from "../../sdk/client.ts";
import type { ClientOptions } from "../../sdk/types.ts";

/** Exit codes scripts can rely on. */
export const EXIT = {
  ok: 0,
  /** The command failed, or the server answered an error. */
  failure: 1,
  /** Bad flags or arguments, or a missing URL or credential. */
  usage: 2,
  /** No such intent or key. */
  notFound: 3,
  /** The server refused the credential (401, 403). */
  auth: 4,
} as const;

/** The exit-code paragraph of every `--help`. */
export const EXIT_HELP: string =
  `Exit codes: 0 ok, 1 failure or server error, 2 usage error,
3 not found, 4 authentication refused.`;

/** The connection paragraph of the help of commands that talk to a server. */
export const CONNECT_HELP: string =
  `  --url <url>          server URL (or INTENT_BUS_URL); required
  --key <key>          API key (or INTENT_API_KEY)`;

/** The admin paragraph of the help of admin commands. */
export const ADMIN_HELP: string =
  `  --url <url>          server URL (or INTENT_BUS_URL); required
  --admin-token <t>    admin token (or BUS_ADMIN_SECRET, INTENT_ADMIN_TOKEN)`;

/** A mistake in how the command was called: exit 2. */
export class UsageError extends Error {
  /** @param message What is wrong, in sentence case. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

const CONNECT = {
  url: { type: "string" },
  key: { type: "string" },
  "admin-token": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/**
 * Parses flags strictly; unknown flags and missing values are usage errors.
 * `--url`, `--key`, `--admin-token` and `--help` are always accepted.
 */
export function parse<O extends NonNullable<ParseArgsConfig["options"]>>(
  args: string[],
  options: O,
) {
  try {
    return parseArgs({
      args,
      options: { ...CONNECT, ...options },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/**
 * A flag as a number within bounds, or undefined when absent; with
 * `integer`, a whole number (counts, and what the server takes only whole).
 */
export function numberFlag(
  raw: string | undefined,
  name: string,
  min: number,
  max: number,
  integer = false,
): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (
    raw.trim() === "" || !Number.isFinite(n) || n < min || n > max ||
    (integer && !Number.isInteger(n))
  ) {
    const kind = integer ? "an integer, " : "";
    throw new UsageError(
      `Invalid --${name}: "${raw}" (${kind}${min} to ${max})`,
    );
  }
  return n;
}

function env(...names: string[]): string | undefined {
  for (const name of names) {
    const v = process.env[name];
    if (v !== undefined && v !== "") return v;
  }
  return undefined;
}

/**
 * Refuses, as a usage error, a server URL that no request could reach:
 * unparseable, not http(s), or with a port above 65535 (which would
 * otherwise surface as a network error, exit 1).
 */
function checkUrl(url: string, source: string): void {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    // Reported below.
  }
  if (
    parsed === undefined ||
    (parsed.protocol !== "http:" && parsed.protocol !== "https:") ||
    parsed.hostname === ""
  ) {
    // A database URL given by mistake must not print its password.
    const shown = url.replace(/(\/\/[^/:@]*:).*@/, "$1***@");
    throw new UsageError(
      `Invalid ${source}: "${shown}" (an http:// or https:// URL, port 0 to 65535)`,
    );
  }
}

/**
 * The client for the flags `--url`, `--key` (and `--admin-token`, required
 * when `admin`); `make` builds a subclass.
 */
export function clientFrom(
  values: { url?: string; key?: string; "admin-token"?: string },
  opts: {
    admin?: boolean;
    make?: (options: ClientOptions) => IntentClient;
  } = {},
): IntentClient {
  const url = values.url ?? env("INTENT_BUS_URL");
  if (url === undefined) {
    throw new UsageError("No server URL: pass --url or set INTENT_BUS_URL");
  }
  checkUrl(url, values.url !== undefined ? "--url" : "INTENT_BUS_URL");
  const adminToken = values["admin-token"] ??
    env("BUS_ADMIN_SECRET", "INTENT_ADMIN_TOKEN");
  if (opts.admin && adminToken === undefined) {
    throw new UsageError(
      "No admin token: pass --admin-token or set BUS_ADMIN_SECRET",
    );
  }
  try {
    const options: ClientOptions = {
      url,
      apiKey: values.key ?? env("INTENT_API_KEY"),
      adminToken,
    };
    return opts.make ? opts.make(options) : new IntentClient(options);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** The exit code for an error a command threw. */
export function exitCodeOf(err: unknown): number {
  if (err instanceof UsageError) return EXIT.usage;
  if (err instanceof AuthError) return EXIT.auth;
  if (err instanceof NotFoundError || err instanceof LeaseLostError) {
    return EXIT.notFound;
  }
  return EXIT.failure;
}

/** Reports an error on stderr, one line, and returns its exit code. */
export function report(err: unknown): number {
  const code = exitCodeOf(err);
  const detail = err instanceof IntentBusError
    ? `${err.message} (${err.code})`
    : (err as Error)?.message ?? String(err);
  process.stderr.write(`intentbus: ${detail}\n`);
  if (code === EXIT.usage) {
    process.stderr.write("Try --help.\n");
  }
  return code;
}

/** Writes a value as indented JSON on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + "\n");
}
