/**
 * A bare JSON route to measure the HTTP ceiling against, run as its own
 * process: `deno run -A bench/ceiling_server.ts deno|hono`. It prints one JSON
 * line `{"url":"http://127.0.0.1:<port>"}` once listening, and serves
 * `POST /json` (echoes a small JSON object) until killed.
 *
 * @module
 */

import { Hono } from "hono";

/**
 * Builds the handler of a ceiling server.
 *
 * @param kind `deno` for a bare `Deno.serve` handler, `hono` for a Hono app.
 * @returns A fetch handler answering `POST /json`.
 * @throws {RangeError} for an unknown kind.
 */
export function ceilingHandler(
  kind: string,
): (req: Request) => Response | Promise<Response> {
  if (kind === "deno") {
    return async (req) => {
      const body = await req.json();
      return Response.json({ id: "0".repeat(32), ok: true, goal: body.goal });
    };
  }
  if (kind === "hono") {
    const app = new Hono();
    app.post("/json", async (c) => {
      const body = await c.req.json();
      return c.json({ id: "0".repeat(32), ok: true, goal: body.goal });
    });
    return app.fetch;
  }
  throw new RangeError(`Unknown ceiling server: "${kind}" (deno, hono)`);
}

if (import.meta.main) {
  const handler = ceilingHandler(Deno.args[0] ?? "hono");
  Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen({ port }) {
      console.log(JSON.stringify({ url: `http://127.0.0.1:${port}` }));
    },
  }, handler);
}
