/**
 * Test helpers for the server: an app over a fresh SQLite file in a temp
 * directory, driven by a {@linkcode ManualClock}, plus a small request helper
 * and row counts to prove that a refused request changed nothing. With
 * `INTENTBUS_TEST_STORE=postgres` the app runs over a fresh schema of a
 * throwaway PostgreSQL cluster instead (`deno task test` runs the server's
 * tests both ways).
 *
 * @example
 * ```ts
 * import { makeTestApp } from "./testing.ts";
 *
 * await using t = await makeTestApp();
 * const res = await t.call("GET", "/health");
 * console.log(res.status); // 200
 * ```
 *
 * @module
 */

import { ManualClock } from "../core/clock.ts";
import { signRequest } from "../core/signing.ts";
import { openSqliteStore } from "../storage/sqlite/mod.ts";
import type { Storage } from "../storage/storage.ts";
import { createApp } from "./app.ts";
import { DEFAULT_CONFIG, type ServerConfig } from "./config.ts";
import type { IntentBusApp } from "./app.ts";

/**
 * The store test apps run on: `sqlite`, or `postgres` when
 * `INTENTBUS_TEST_STORE=postgres`. Tests of SQLite's own behaviour (a file
 * locked by another process) are ignored on PostgreSQL.
 */
export const TEST_STORE: "sqlite" | "postgres" =
  Deno.env.get("INTENTBUS_TEST_STORE") === "postgres" ? "postgres" : "sqlite";

/** The master key of test apps. */
export const MASTER = "test-master-key";
/** The admin token of test apps. */
export const ADMIN = "test-admin-token";

/** A parsed response. */
export interface TestResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON, or the text when it is not JSON, or null when empty. */
  // Tests read any field of any answer (`res.body.error.code`) and assert
  // its value; a precise type per route would be all casts.
  // deno-lint-ignore no-explicit-any
  body: any;
  text: string;
}

/** Options of a test request. */
export interface CallOptions {
  /** `X-API-KEY`; the master key when omitted; null sends none. */
  key?: string | null;
  /** An object is sent as JSON; a string as is. */
  body?: unknown;
  headers?: Record<string, string>;
}

/** A test app with its store and clock. */
export interface TestApp extends AsyncDisposable {
  app: IntentBusApp;
  store: Storage;
  clock: ManualClock;
  /** The SQLite file; empty on PostgreSQL. */
  path: string;
  /** Jitter values returned to the app, in order (then 0). */
  jitter: number[];
  /** Sends a request through `app.request()`. */
  call(method: string, path: string, opts?: CallOptions): Promise<TestResponse>;
  /** Sends a request signed like the Python SDK 2.x. */
  signed(
    method: string,
    path: string,
    opts?: CallOptions & { nonce?: string; timestamp?: string },
  ): Promise<TestResponse>;
  /** Issues an API key through the admin route. */
  issueKey(owner?: string): Promise<string>;
  /** Runs SQL on the store's database (no parameters); returns the rows. */
  sql(text: string): Promise<Record<string, unknown>[]>;
  /** Rows per table, to prove a refused request changed nothing. */
  counts(): Promise<Record<string, number>>;
  close(): Promise<void>;
}

const TABLES = ["intents", "dead_intents", "idempotency_keys", "kv", "nonces"];

async function parse(res: Response): Promise<TestResponse> {
  const text = await res.text();
  let body: unknown = text === "" ? null : text;
  try {
    if (text !== "") body = JSON.parse(text);
  } catch {
    // Not JSON: keep the text.
  }
  return { status: res.status, headers: res.headers, body, text };
}

/**
 * Makes an app over a new SQLite file.
 *
 * @param options Config overrides and the store's busy timeout.
 * @returns The test app; dispose it (or `close()`) to remove the file.
 */
export async function makeTestApp(
  options: {
    config?: Partial<ServerConfig>;
    busyTimeoutMs?: number;
    /** SQLite: where WAL checkpoints run (the test default: inline). */
    checkpoint?: "thread" | "inline";
  } = {},
): Promise<TestApp> {
  const db = await openTestStore(options.busyTimeoutMs, options.checkpoint);
  const { store, path } = db;
  const clock = new ManualClock();
  const jitter: number[] = [];
  const config: ServerConfig = {
    ...DEFAULT_CONFIG,
    masterKey: MASTER,
    adminSecret: ADMIN,
    ...options.config,
  };
  const app = createApp({
    store,
    clock,
    config,
    random: () => jitter.shift() ?? 0,
  });

  const request = (opts: CallOptions) => {
    const headers: Record<string, string> = { ...opts.headers };
    const key = opts.key === undefined ? MASTER : opts.key;
    if (key !== null) headers["X-API-KEY"] = key;
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = typeof opts.body === "string"
        ? opts.body
        : JSON.stringify(opts.body);
      headers["Content-Type"] ??= "application/json";
    }
    return { headers, body, key };
  };

  const t: TestApp = {
    app,
    store,
    clock,
    path,
    jitter,
    async call(method, path, opts = {}) {
      const { headers, body } = request(opts);
      return await parse(
        await app.request(`http://localhost${path}`, { method, headers, body }),
      );
    },
    async signed(method, path, opts = {}) {
      const { headers, body, key } = request(opts);
      const timestamp = opts.timestamp ??
        String(Math.floor(clock.now() / 1000));
      const nonce = opts.nonce ?? crypto.randomUUID().replaceAll("-", "");
      headers["Content-Type"] = "application/json";
      headers["X-Intent-Version"] = "7.61";
      headers["X-Timestamp"] = timestamp;
      headers["X-Nonce"] = nonce;
      headers["X-Signature"] = await signRequest(key ?? "", {
        method,
        target: path,
        timestamp,
        nonce,
        body: new TextEncoder().encode(body ?? ""),
      });
      return await parse(
        await app.request(`http://localhost${path}`, { method, headers, body }),
      );
    },
    async issueKey(owner = "tester") {
      const res = await t.call("POST", "/admin/generate_key", {
        key: null,
        headers: { "X-Admin-Token": ADMIN },
        body: { owner },
      });
      if (res.status !== 201) throw new Error(`generate_key: ${res.text}`);
      return res.body.api_key;
    },
    sql: db.sql,
    async counts() {
      const out: Record<string, number> = {};
      for (const table of TABLES) {
        out[table] = Number(
          (await db.sql(`SELECT count(*) AS n FROM ${table}`))[0].n,
        );
      }
      return out;
    },
    close: db.close,
    [Symbol.asyncDispose]() {
      return t.close();
    },
  };
  return t;
}

/** A fresh store of {@linkcode TEST_STORE}, with raw SQL on its database. */
async function openTestStore(
  busyTimeoutMs?: number,
  checkpoint?: "thread" | "inline",
): Promise<{
  store: Storage;
  path: string;
  sql(text: string): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}> {
  if (TEST_STORE === "postgres") {
    const { openTempPgStore } = await import("../storage/postgres/_temp.ts");
    const { default: pg } = await import("pg");
    const { store, schema, url } = await openTempPgStore({ poolSize: 4 });
    const client = new pg.Client({
      connectionString: url,
      options: `-c search_path=${schema}`,
    });
    await client.connect();
    return {
      store,
      path: "",
      sql: async (text) => (await client.query(text)).rows,
      async close() {
        await client.end();
        await store.close();
      },
    };
  }
  const dir = await Deno.makeTempDir({ prefix: "intentbus-server-" });
  const path = `${dir}/bus.db`;
  const store = await openSqliteStore({ path, busyTimeoutMs, checkpoint });
  return {
    store,
    path,
    sql: (text) => Promise.resolve(store.db.prepare(text).all()),
    async close() {
      await store.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}
