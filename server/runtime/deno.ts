/**
 * The Deno listener: serves an app with `Deno.serve`, prints one JSON line
 * with the bound address on stdout, and shuts down gracefully on SIGINT or
 * SIGTERM (or when `signal` aborts): stop accepting, finish in-flight
 * requests, then run `onClose` (stop maintenance, close the store).
 *
 * @example
 * ```ts ignore
 * import { serveDeno } from "./deno.ts";
 *
 * const server = serveDeno(app, { host: "127.0.0.1", port: 0 });
 * console.log(server.port);
 * await server.shutdown();
 * ```
 *
 * @module
 */

import type { Logger } from "../log.ts";
import { SECOND_SIGNAL, type ServerSignal, signalExitCode } from "./signals.ts";

/** Anything with a web-standard `fetch` handler, such as a Hono app. */
export interface FetchApp {
  /** Answers one request. */
  fetch(req: Request, env?: unknown): Response | Promise<Response>;
}

/** Options of {@linkcode serveDeno}. */
export interface ServeOptions {
  /** Interface to bind; default 127.0.0.1. */
  host?: string;
  /** Port; 0 picks any free port. */
  port: number;
  /** Aborting it shuts the server down gracefully. */
  signal?: AbortSignal;
  /** Runs when shutdown starts, before waiting for in-flight requests (end long polls here). */
  onShutdown?: () => void;
  /** Runs after the last in-flight request finished. */
  onClose?: () => Promise<void> | void;
  /** Handle SIGINT and SIGTERM; default true. */
  handleSignals?: boolean;
  /** Where unhandled request errors and shutdown progress go; default none. */
  log?: Logger;
}

/** A running server. */
export interface RunningServer {
  /** The bound host. */
  host: string;
  /** The bound port. */
  port: number;
  /** Resolves when the server stopped and `onClose` ran. */
  finished: Promise<void>;
  /** Stops gracefully; resolves like `finished`. */
  shutdown(): Promise<void>;
}

/**
 * Serves `app` until shut down.
 *
 * @param app The app.
 * @param options Address, shutdown signal and close hook.
 * @returns The running server.
 */
export function serveDeno(app: FetchApp, options: ServeOptions): RunningServer {
  const host = options.host ?? "127.0.0.1";
  let bound: { hostname: string; port: number } = { hostname: host, port: 0 };
  let closing: Promise<void> | null = null;
  let printed = false;
  const handler = (req: Request, info: Deno.ServeHandlerInfo) =>
    app.fetch(req, info);
  const onError = (err: unknown) => {
    options.log?.error("unhandled", { err });
    return new Response(
      '{"error":{"code":"internal_error","message":"An internal error occurred"}}',
      { status: 500, headers: { "Content-Type": "application/json" } },
    );
  };
  let stopped!: () => void;
  const listenerDone = new Promise<void>((r) => stopped = r);
  let failures = 0;
  const listen = (port: number): Deno.HttpServer => {
    const s = Deno.serve({
      hostname: host,
      port,
      onListen: (addr) => {
        bound = addr as { hostname: string; port: number };
        if (printed) {
          options.log?.warn("listening again", { port: bound.port });
          return;
        }
        printed = true;
        console.log(JSON.stringify({
          ts: new Date().toISOString(),
          level: "info",
          msg: "listening",
          host: bound.hostname,
          port: bound.port,
          url: `http://${
            bound.hostname.includes(":")
              ? `[${bound.hostname}]`
              : bound.hostname
          }:${bound.port}`,
        }));
      },
      onError,
    }, handler);
    s.finished.then(stopped, (err) => relisten(err));
    return s;
  };
  // Deno's listener stops for good when accepting fails, as it does when
  // the process runs out of file descriptors (clients holding idle
  // connections: Deno.serve has no header timeout). Listen again on the
  // same port after a pause, so the server serves once they are gone,
  // instead of dying with an unhandled rejection.
  const relisten = (err: unknown) => {
    if (closing !== null) return stopped();
    const ms = Math.min(100 * 2 ** failures++, 5_000);
    options.log?.error("listener failed; listening again", { err, ms });
    setTimeout(() => {
      if (closing !== null) return stopped();
      try {
        server = listen(bound.port);
        failures = 0;
      } catch (again) {
        relisten(again);
      }
    }, ms);
  };
  let server = listen(options.port);

  const signals: ServerSignal[] = options.handleSignals === false
    ? []
    : ["SIGINT", "SIGTERM"];
  const shutdown = (): Promise<void> => {
    closing ??= (async () => {
      options.log?.info("shutting down");
      options.onShutdown?.();
      await server.shutdown().catch(() => {}); // a failed listener is closed
      await options.onClose?.();
      for (const [sig, fn] of handlers) Deno.removeSignalListener(sig, fn);
      options.log?.info("stopped");
    })();
    return closing;
  };
  const handlers = signals.map((sig) => [sig, () => onSignal(sig)] as const);
  const onSignal = (sig: ServerSignal) => {
    if (closing === null) return void shutdown();
    options.log?.warn(SECOND_SIGNAL, { signal: sig });
    Deno.exit(signalExitCode(sig));
  };
  for (const [sig, fn] of handlers) Deno.addSignalListener(sig, fn);
  options.signal?.addEventListener("abort", () => void shutdown(), {
    once: true,
  });

  return {
    get host() {
      return bound.hostname;
    },
    get port() {
      return bound.port;
    },
    finished: listenerDone.then(() => closing ?? shutdown()),
    shutdown,
  };
}
