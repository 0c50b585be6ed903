/**
 * `intentbus serve [flags]`: the server, with the flags of `server/main.ts`
 * (`intentbus serve --help` lists them).
 *
 * @module
 */

import process from "node:process";
import { EXIT } from "./_common.ts";

/**
 * Runs the server until SIGINT or SIGTERM.
 *
 * @param args The arguments after `serve`, passed through.
 * @returns The exit code once the server has shut down.
 */
export async function serveCommand(args: string[]): Promise<number> {
  // Loaded on demand: the client commands never load the server, its
  // storage drivers or Hono.
  const { main } = await import("../main.ts");
  await main(args, process.env, { usage: "intentbus serve [flags]" });
  return EXIT.ok;
}
