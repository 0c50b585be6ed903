/**
 * A real HTTP server on 127.0.0.1 (port chosen by the OS) whose answers a
 * test scripts, recording every request it receives. For SDK tests that need
 * answers a real Intent Bus would not give on demand (503, 429, slowness).
 *
 * @example
 * ```ts
 * import { scriptedServer } from "./scripted_server.ts";
 *
 * await using server = scriptedServer(() => Response.json({ ok: true }));
 * const res = await fetch(server.url + "/health");
 * console.log((await res.json()).ok, server.requests.length); // true 1
 * ```
 *
 * @module
 */

/** One request as the server saw it. */
export interface Recorded {
  method: string;
  /** Path and query exactly as received. */
  target: string;
  url: URL;
  headers: Headers;
  /** The exact body bytes. */
  body: Uint8Array;
  /** The body parsed as JSON, or undefined. */
  json: unknown;
}

/** Answers the `n`th request (0-based). */
export type Script = (
  req: Recorded,
  n: number,
) => Response | Promise<Response>;

/** A running scripted server. */
export interface ScriptedServer extends AsyncDisposable {
  /** Base URL, such as `http://127.0.0.1:40123`. */
  url: string;
  /** Every request received, in order. */
  requests: Recorded[];
  /** Stops the server. */
  close(): Promise<void>;
}

/**
 * Starts a scripted server.
 *
 * @param script Makes the answer of each request.
 * @returns The running server.
 */
export function scriptedServer(script: Script): ScriptedServer {
  const requests: Recorded[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (request) => {
      const body = new Uint8Array(await request.arrayBuffer());
      const url = new URL(request.url);
      let json: unknown;
      try {
        json = body.length
          ? JSON.parse(new TextDecoder().decode(body))
          : undefined;
      } catch {
        json = undefined;
      }
      const rec: Recorded = {
        method: request.method,
        target: url.pathname + url.search,
        url,
        headers: request.headers,
        body,
        json,
      };
      requests.push(rec);
      return await script(rec, requests.length - 1);
    },
  );
  const close = async () => {
    await server.shutdown();
  };
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * An error answer in the protocol's shape.
 *
 * @param status The HTTP status.
 * @param code The protocol error code.
 * @param headers Extra headers, such as `Retry-After`.
 * @returns The response.
 */
export function errorReply(
  status: number,
  code: string,
  headers: Record<string, string> = {},
): Response {
  return Response.json({ error: { code, message: `Scripted ${code}` } }, {
    status,
    headers,
  });
}
