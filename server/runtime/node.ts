/**
 * The Node listener: serves an app with `node:http`, prints the same JSON
 * "listening" line as the Deno listener, and shuts down gracefully on SIGINT
 * or SIGTERM (or when `signal` aborts): stop accepting, finish in-flight
 * requests, then run `onClose`.
 *
 * It is a thin adapter rather than `@hono/node-server`: the body is read
 * from the Node request into one buffer before the web `Request` is built
 * (at most `maxBodyBytes`, past which it answers 413 itself; the app
 * enforces its own, smaller limit), which avoids bridging a Node stream into
 * a web stream. Measured against `@hono/node-server` in npm-build/README.md.
 * By default it makes a light `Response` class the global one (see
 * `lightObjects`); real responses, such as `fetch`'s, stay
 * `instanceof Response`.
 *
 * It is the package's `./node` export (`@intentbus/server/node` on npm), for
 * serving the app from a Node program of your own; `intentbus serve` uses it.
 *
 * @example Serving from a Node program of your own (Node only). Run
 * `Maintenance` beside the app, as `intentbus serve` does: it puts expired
 * leases back and prunes finished intents.
 * ```ts ignore
 * import {
 *   createApp,
 *   DEFAULT_CONFIG,
 *   Maintenance,
 *   openSqliteStore,
 *   systemClock,
 * } from "@intentbus/server";
 * import { serveNode } from "@intentbus/server/node";
 *
 * const store = await openSqliteStore({ path: "./intentbus.db" });
 * const maintenance = new Maintenance({ store, clock: systemClock });
 * const app = createApp({
 *   store,
 *   clock: systemClock,
 *   maintenance,
 *   config: { ...DEFAULT_CONFIG, masterKey: process.env.BUS_SECRET ?? "" },
 * });
 * maintenance.start();
 * const server = await serveNode(app, {
 *   port: 8080,
 *   onClose: async () => {
 *     await maintenance.stop();
 *     await store.close();
 *   },
 * });
 * console.log(server.port); // SIGINT or SIGTERM shuts it down gracefully
 * ```
 *
 * @module
 */

import {
  createServer,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import process from "node:process";
import { Buffer } from "node:buffer";
import {
  installLightResponse,
  LightRequest,
  LightResponse,
} from "./_node_web.ts";
import { concatBytes } from "../body.ts";
import type { FetchApp, RunningServer, ServeOptions } from "./deno.ts";
import { SECOND_SIGNAL, type ServerSignal, signalExitCode } from "./signals.ts";

export type { FetchApp, RunningServer, ServeOptions };
export type { Logger } from "../log.ts";

/** Options of {@linkcode serveNode}: those of the Deno listener, and more. */
export interface NodeServeOptions extends ServeOptions {
  /**
   * Largest body buffered before the app sees it (413 past it); default
   * 16 MiB, well above the app's own limit.
   */
  maxBodyBytes?: number;
  /**
   * Light `Request`/`Response` objects (default true). False builds real
   * undici objects for every request, for comparison: it measured slower.
   */
  lightObjects?: boolean;
}

const INTERNAL =
  '{"error":{"code":"internal_error","message":"An internal error occurred"}}';
const TOO_LARGE = Symbol("too large");

/** The app's own 413 body, for bodies past the listener's cap. */
function tooLarge(cap: number): string {
  return JSON.stringify({
    error: {
      code: "payload_too_large",
      message: `Request body is too large: the limit is ${cap} bytes`,
    },
  });
}

/** Resolves with the body, or with `TOO_LARGE` past `cap` bytes. */
/** Why a body read ended without a body: the connection closed first. */
const CLIENT_GONE = Symbol("client gone");

function readBody(
  req: IncomingMessage,
  cap: number,
): Promise<Uint8Array | null | typeof TOO_LARGE> {
  const declared = Number(req.headers["content-length"]);
  if (declared > cap) return Promise.resolve(TOO_LARGE);
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    let total = 0;
    const onData = (chunk: Uint8Array) => {
      total += chunk.length;
      chunks.push(chunk);
      if (total > cap) {
        req.off("data", onData);
        resolve(TOO_LARGE);
      }
    };
    req.on("data", onData);
    req.once("end", () => {
      if (total <= cap) {
        resolve(total === 0 ? null : concatBytes(chunks, total));
      }
    });
    // The client hung up before the whole body came: nobody to answer.
    req.once("error", () => reject(CLIENT_GONE));
    req.once("close", () => {
      if (!req.complete) reject(CLIENT_GONE);
    });
  });
}

async function writeResponse(
  res: ServerResponse,
  r: Response,
  last: boolean,
): Promise<void> {
  const head: Record<string, string | string[]> = {};
  // While shutting down, no connection stays open for another request.
  if (last) head["connection"] = "close";
  r.headers.forEach((value, key) => {
    if (key !== "set-cookie") head[key] = value;
  });
  const cookies = r.headers.getSetCookie();
  if (cookies.length > 0) head["set-cookie"] = cookies;
  const direct = LightResponse.directBodyOf(r);
  if (direct === null || (direct === undefined && r.body === null)) {
    res.writeHead(r.status, head).end();
    return;
  }
  const body = direct ?? new Uint8Array(await r.arrayBuffer());
  head["content-length"] = String(
    typeof body === "string" ? Buffer.byteLength(body) : body.length,
  );
  res.writeHead(r.status, head).end(body);
}

/**
 * A signal that aborts when the connection closes before `res` is sent
 * (the client gave up or went away), as Deno's `Request.signal` does; a
 * long poll stops waiting on it, so it claims nothing for nobody.
 *
 * @param res The response not yet sent.
 * @returns The signal.
 */
function goneSignal(res: ServerResponse): AbortSignal {
  const gone = new AbortController();
  if (res.socket === null || res.socket.destroyed) gone.abort();
  else {
    res.once("close", () => {
      if (!res.writableFinished) gone.abort();
    });
  }
  return gone.signal;
}

/**
 * Serves `app` with `node:http` until shut down.
 *
 * @param app The app.
 * @param options Address, shutdown signal and close hook.
 * @returns The running server, once it listens.
 */
export async function serveNode(
  app: FetchApp,
  options: NodeServeOptions,
): Promise<RunningServer> {
  const host = options.host ?? "127.0.0.1";
  const cap = options.maxBodyBytes ?? 16 * 1024 * 1024;
  let origin = "";
  let closing: Promise<void> | null = null;
  const light = options.lightObjects !== false;
  if (light) installLightResponse();
  const server = createServer(async (req, res) => {
    try {
      const body = await readBody(req, cap);
      if (body === TOO_LARGE) {
        // Unread bytes may follow: answer and close the connection.
        res.writeHead(413, {
          "content-type": "application/json",
          "connection": "close",
        }).end(tooLarge(cap));
        return;
      }
      const env = {
        remoteAddr: {
          transport: "tcp",
          hostname: req.socket.remoteAddress ?? "",
          port: req.socket.remotePort ?? 0,
        },
        incoming: req,
      };
      const method = req.method ?? "GET";
      const url = origin + (req.url ?? "/");
      const signal = () => goneSignal(res);
      const request = light
        ? new LightRequest(
          method,
          url,
          req.headers,
          body,
          signal,
        ) as unknown as Request
        : new Request(url, {
          method,
          headers: req.headers as Record<string, string>,
          body: method === "GET" || method === "HEAD"
            ? null
            : body as Uint8Array<ArrayBuffer> | null,
          signal: signal(),
        });
      const response = await app.fetch(request, env);
      await writeResponse(res, response, closing !== null);
    } catch (err) {
      if (err === CLIENT_GONE) {
        options.log?.debug("client closed the connection mid-body");
        res.destroy();
        return;
      }
      options.log?.error("unhandled", { err });
      if (!res.headersSent) {
        res.writeHead(500, { "content-type": "application/json" });
      }
      res.end(INTERNAL);
    }
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const shown = bound.address.includes(":")
    ? `[${bound.address}]`
    : bound.address;
  origin = `http://${shown}:${bound.port}`;
  console.log(JSON.stringify({
    ts: new Date().toISOString(),
    level: "info",
    msg: "listening",
    host: bound.address,
    port: bound.port,
    url: origin,
  }));

  let done!: () => void;
  const finished = new Promise<void>((r) => done = r);
  const signals = options.handleSignals === false
    ? []
    : ["SIGINT", "SIGTERM"] as const;
  const shutdown = (): Promise<void> => {
    closing ??= (async () => {
      options.log?.info("shutting down");
      options.onShutdown?.();
      const closed = new Promise<void>((r) => server.close(() => r()));
      // Idle keep-alive sockets would hold close() open; busy ones finish.
      server.closeIdleConnections();
      await closed;
      await options.onClose?.();
      for (const [sig, fn] of handlers) process.off(sig, fn);
      options.log?.info("stopped");
      done();
    })();
    return closing;
  };
  const handlers = signals.map((sig) => [sig, () => onSignal(sig)] as const);
  const onSignal = (sig: ServerSignal) => {
    if (closing === null) return void shutdown();
    options.log?.warn(SECOND_SIGNAL, { signal: sig });
    process.exit(signalExitCode(sig));
  };
  for (const [sig, fn] of handlers) process.on(sig, fn);
  options.signal?.addEventListener("abort", () => void shutdown(), {
    once: true,
  });

  return {
    host: bound.address,
    port: bound.port,
    finished,
    shutdown,
  };
}
