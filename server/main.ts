/**
 * Starts Intent Bus: `deno task start [flags]`.
 *
 * ```text
 * --port <n>        port, default 8080; 0 picks a free one
 * --host <addr>     interface, default 127.0.0.1
 * --db <path|url>   SQLite file, or a postgres:// URL to share one queue
 *                   between servers; default $BUS_DB_PATH or ./intentbus.db
 * --driver <name>   ffi | node:sqlite (Deno); better-sqlite3 | node:sqlite
 *                   (Node); default node:sqlite on Deno (no --allow-ffi),
 *                   better-sqlite3 on Node when installed
 * --durability <d>  normal (default) | full
 * --checkpoint <c>  thread (default) | inline
 * --log-level <l>   debug | info (default) | warn | error
 * --dev             run without BUS_SECRET: generate and print a master key
 * --no-extensions   answer like the original 2.1 server
 * --help            this text
 * ```
 *
 * Refuses to start without `BUS_SECRET` unless `--dev`. Runs under Deno
 * (`Deno.serve`) and Node 20+ (`node:http`): {@linkcode main} takes the
 * arguments and environment, and picks the listener by runtime.
 *
 * @module
 */

import process from "node:process";
import { parseArgs } from "node:util";
import { systemClock } from "../core/clock.ts";
import { defaultDriver, DRIVERS } from "../storage/sqlite/drivers/mod.ts";
import type { Storage } from "../storage/storage.ts";
import { createApp } from "./app.ts";
import { generateApiKey } from "./auth/keys.ts";
import { configFromEnv, wholeVar } from "./config.ts";
import { createLogger, LOG_LEVELS, type Logger, type LogLevel } from "./log.ts";
import { Maintenance } from "./maintenance.ts";
import { openStore, redactLocation, redactMessage } from "./open_store.ts";
import type { RunningServer, ServeOptions } from "./runtime/deno.ts";

const help = (usage: string) =>
  `Intent Bus server

Usage: ${usage}

  --port <n>        port, default 8080; 0 picks a free one
  --host <addr>     interface, default 127.0.0.1
  --db <path|url>   SQLite file, or a postgres://user:pass@host/db URL to
                    share one queue between servers; default $BUS_DB_PATH
                    or ./intentbus.db
  --driver <name>   ${
    Object.keys(DRIVERS).join(" | ")
  }, default ${defaultDriver()}
  --durability <d>  normal (default) | full
  --checkpoint <c>  thread (default): WAL checkpoints on a worker thread |
                    inline: inside commits, as SQLite does (or
                    BUS_CHECKPOINT)
  --log-level <l>   debug | info (default) | warn | error
  --dev             run without BUS_SECRET: generate and print a master key
  --no-extensions   answer like the original 2.1 server (or BUS_EXTENSIONS=false)
  --help            this text

Environment: BUS_SECRET (required unless --dev), BUS_ADMIN_SECRET,
DASHBOARD_PASSWORD, BUS_DB_PATH, BUS_METRICS_TOKEN, BUS_REQUIRE_SIGNATURES,
BUS_ENFORCE_HTTPS, BUS_TRUST_PROXY, BUS_MAINTENANCE_MODE, BUS_RATE_LIMIT,
BUS_OPEN_QUOTA, BUS_RETENTION_DAYS, BUS_EXTENSIONS, BUS_EMPTY_HOLD_MS,
BUS_CHECKPOINT, BUS_PG_POOL (PostgreSQL connections per server, default 16),
BUS_PG_SCHEMA (PostgreSQL schema for the tables, default the search path's),
BUS_PG_TIMEOUT_MS (how long a PostgreSQL statement or connection may take
before the request gets a 503, default 30000).`;

function fail(message: string): never {
  console.error(JSON.stringify({
    ts: new Date().toISOString(),
    level: "error",
    msg: message,
  }));
  process.exit(2);
}

/**
 * Starts the server from command-line flags and environment variables, and
 * resolves when it has shut down (SIGINT, SIGTERM).
 *
 * @example
 * ```ts ignore
 * import { main } from "./main.ts";
 *
 * await main(["--port", "0", "--dev"], { BUS_DB_PATH: "/tmp/bus.db" });
 * ```
 *
 * @param args Flags, as in the help text (without the program name).
 * @param env Environment variables, such as `Deno.env.toObject()` or
 *   `process.env`.
 * @param options `usage`: the command line `--help` shows, when the server
 *   is started another way (`intentbus serve [flags]`).
 */
export async function main(
  args: string[],
  env: Record<string, string | undefined>,
  options: { usage?: string } = {},
): Promise<void> {
  let flags;
  try {
    flags = parseArgs({
      args,
      options: {
        port: { type: "string", default: "8080" },
        host: { type: "string", default: "127.0.0.1" },
        db: { type: "string" },
        driver: { type: "string" },
        durability: { type: "string", default: "normal" },
        checkpoint: { type: "string" },
        "log-level": { type: "string", default: "info" },
        dev: { type: "boolean", default: false },
        "no-extensions": { type: "boolean", default: false },
        help: { type: "boolean", default: false },
      },
      strict: true,
    }).values;
  } catch (err) {
    fail(`Invalid flags: ${(err as Error).message}`);
  }
  if (flags.help) {
    console.log(help(options.usage ?? "deno task start [flags]"));
    return;
  }
  // Decimal digits only: Number() would take "", " 80 ", "0x50", "8e1".
  const port = Number(flags.port);
  if (!/^\d{1,5}$/.test(flags.port) || port > 65535) {
    fail(`Invalid --port: "${flags.port}" (0 to 65535)`);
  }
  if (flags.durability !== "normal" && flags.durability !== "full") {
    fail(`Invalid --durability: "${flags.durability}" (normal or full)`);
  }
  // An empty variable counts as unset, as an empty flag does not.
  const checkpointSource = flags.checkpoint !== undefined
    ? "--checkpoint"
    : "BUS_CHECKPOINT";
  const checkpoint = flags.checkpoint ?? (env.BUS_CHECKPOINT || "thread");
  if (checkpoint !== "thread" && checkpoint !== "inline") {
    fail(`Invalid ${checkpointSource}: "${checkpoint}" (thread or inline)`);
  }
  // SQLite reads "" as a private temporary database, lost at exit; a path
  // of spaces alone is a slip, not a file anyone means.
  if (flags.db !== undefined && flags.db.trim() === "") {
    fail(
      `Invalid --db: "${flags.db}" (a file path, ":memory:", or a postgres:// URL)`,
    );
  }
  const level = flags["log-level"] as LogLevel;
  if (!LOG_LEVELS.includes(level)) fail(`Invalid --log-level: "${level}"`);
  const log = createLogger({ level });

  let config;
  try {
    config = configFromEnv(
      env,
      flags["no-extensions"] ? { extensions: false } : {},
    );
  } catch (err) {
    fail((err as Error).message);
  }
  if (config.masterKey === "") {
    if (!flags.dev) {
      fail(
        "BUS_SECRET is not set: refusing to start (use --dev to try it out)",
      );
    }
    config.masterKey = generateApiKey();
    if (config.adminSecret === "") config.adminSecret = generateApiKey();
    // Printed once, on stdout, so the person trying it out can copy them.
    console.log(JSON.stringify({
      ts: new Date().toISOString(),
      level: "warn",
      msg: "dev mode: generated secrets, valid until this process exits",
      master_key: config.masterKey,
      admin_token: config.adminSecret,
    }));
  }

  const path = flags.db ??
    (env.BUS_DB_PATH?.trim() ? env.BUS_DB_PATH : "./intentbus.db");
  let pool, pgTimeout;
  try {
    pool = wholeVar("BUS_PG_POOL", env.BUS_PG_POOL, 16, 1, 1000);
    pgTimeout = wholeVar(
      "BUS_PG_TIMEOUT_MS",
      env.BUS_PG_TIMEOUT_MS,
      30_000,
      100,
      3_600_000,
    );
  } catch (err) {
    fail((err as Error).message);
  }
  let opened;
  try {
    opened = await openStore({
      location: path,
      driver: flags.driver,
      durability: flags.durability,
      checkpoint,
      poolSize: pool,
      schema: env.BUS_PG_SCHEMA || undefined,
      timeoutMs: pgTimeout,
    });
  } catch (err) {
    fail(
      `Cannot open the database "${redactLocation(path)}": ${
        redactMessage((err as Error).message, path)
      }`,
    );
  }
  const { store, logged } = opened;
  const maintenance = new Maintenance({
    store,
    clock: systemClock,
    log,
    retentionMs: config.retentionMs,
  });
  const stopping = new AbortController();
  const app = createApp({
    store,
    clock: systemClock,
    config,
    log,
    maintenance,
    signal: stopping.signal,
  });
  maintenance.start();
  log.info("database open", logged);
  if (!config.extensions) await warnPaused(store, log);
  if (config.adminSecret === "" && config.dashboardPassword === "") {
    log.warn(
      "admin routes disabled: set BUS_ADMIN_SECRET or DASHBOARD_PASSWORD",
    );
  }
  const close = async () => {
    await maintenance.stop();
    await store.close();
    log.info("database closed", logged);
  };
  let server;
  try {
    server = await serve(app, {
      host: flags.host,
      port,
      log,
      onShutdown: () => stopping.abort(),
      onClose: close,
    });
  } catch (err) {
    // The port is taken, or the address is not this machine's.
    stopping.abort();
    await close();
    fail(`Cannot listen on ${flags.host}:${port}: ${(err as Error).message}`);
  }
  await server.finished;
}

/**
 * Goals paused while the extensions were on stay paused, and with them off
 * nothing can resume them (`/admin/resume` is an extension): say which.
 * A check that fails (a damaged database) is a warning, not a crash: the
 * server starts as it would with the extensions on.
 */
async function warnPaused(
  store: Storage,
  log: Logger,
): Promise<void> {
  let goals;
  try {
    ({ goals } = await store.statsGet({ now: systemClock.now() }));
  } catch (err) {
    log.warn("could not check for paused goals", {
      error: (err as Error).message,
    });
    return;
  }
  const paused = goals.filter((g) => g.paused)
    .map((g) => `${g.namespace}/${g.goal}`);
  if (paused.length === 0) return;
  log.warn(
    "paused goals stay paused with the extensions off: claims get nothing from them until they are resumed with the extensions on",
    { paused },
  );
}

/** The runtime's listener: `Deno.serve` on Deno, `node:http` on Node. */
async function serve(
  app: Parameters<typeof import("./runtime/deno.ts").serveDeno>[0],
  options: ServeOptions,
): Promise<RunningServer> {
  if ("Deno" in globalThis && typeof Deno.serve === "function") {
    return (await import("./runtime/deno.ts")).serveDeno(app, options);
  }
  return (await import("./runtime/node.ts")).serveNode(app, options);
}

if (import.meta.main) await main(Deno.args, Deno.env.toObject());
