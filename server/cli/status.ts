/**
 * `intentbus status ID`: prints an intent's state, and its result once it
 * has one, as JSON.
 *
 * @module
 */

import process from "node:process";
import {
  clientFrom,
  CONNECT_HELP,
  EXIT,
  EXIT_HELP,
  parse,
  printJson,
  UsageError,
} from "./_common.ts";

/** The help of `status`. */
export const STATUS_HELP: string = `Usage: intentbus status ID [flags]

Prints the intent's fields as JSON (status, attempts, last_error, and result
with result_type once fulfilled). Only its publisher, its claimer and the
master key may see it.

${CONNECT_HELP}

Example: intentbus status "$ID" | jq -r .status

${EXIT_HELP} (3: no such intent, or not yours)`;

/**
 * Runs `status`.
 *
 * @param args The arguments after `status`.
 * @returns The exit code.
 */
export async function statusCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {});
  if (values.help) {
    process.stdout.write(STATUS_HELP + "\n");
    return EXIT.ok;
  }
  if (positionals.length !== 1) throw new UsageError("status needs one ID");
  printJson(await clientFrom(values).result(positionals[0]));
  return EXIT.ok;
}
