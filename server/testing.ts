/**
 * Test helpers for the server: an app over a fresh SQLite file in a temp
 * directory, driven by a {@linkcode ManualClock}, plus a small request helper
 * and row counts to prove that a refused request changed nothing.
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
import { openSqliteStore, type SqliteStore } from "../storage/sqlite/mod.ts";
import { createApp } from "./app.ts";
import { DEFAULT_CONFIG, type ServerConfig } from "./config.ts";
import type { IntentBusApp } from "./app.ts";

/** The master key of test apps. */
export const MASTER = "test-master-key";
/** The admin token of test apps. */
export const ADMIN = "test-admin-token";

/** A parsed response. */
export interface TestResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON, or the text when it is not JSON, or null when empty. */
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
  store: SqliteStore;
  clock: ManualClock;
  /** The database file. */
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
  /** Rows per table, to prove a refused request changed nothing. */
  counts(): Record<string, number>;
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
  options: { config?: Partial<ServerConfig>; busyTimeoutMs?: number } = {},
): Promise<TestApp> {
  const dir = await Deno.makeTempDir({ prefix: "intentbus-server-" });
  const path = `${dir}/bus.db`;
  const store = await openSqliteStore({
    path,
    busyTimeoutMs: options.busyTimeoutMs,
  });
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
    counts() {
      const out: Record<string, number> = {};
      for (const table of TABLES) {
        out[table] = Number(
          store.db.prepare(`SELECT count(*) AS n FROM ${table}`).get()!.n,
        );
      }
      return out;
    },
    async close() {
      await store.close();
      await Deno.remove(dir, { recursive: true });
    },
    [Symbol.asyncDispose]() {
      return t.close();
    },
  };
  return t;
}
