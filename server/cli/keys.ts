/**
 * `intentbus keys create OWNER | revoke KEY` (admin).
 *
 * @module
 */

import process from "node:process";
import {
  ADMIN_HELP,
  clientFrom,
  EXIT,
  EXIT_HELP,
  parse,
  UsageError,
} from "./_common.ts";

/** The help of `keys`. */
export const KEYS_HELP: string = `Usage: intentbus keys create OWNER [flags]
       intentbus keys revoke KEY [flags]

create issues an API key for OWNER and prints it (it is shown only once);
revoke revokes one.

${ADMIN_HELP}

Example: KEY=$(intentbus keys create billing)

${EXIT_HELP} (3: revoke of an unknown key)`;

/**
 * Runs `keys`.
 *
 * @param args The arguments after `keys`.
 * @returns The exit code.
 */
export async function keysCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {});
  if (values.help) {
    process.stdout.write(KEYS_HELP + "\n");
    return EXIT.ok;
  }
  const [action, arg, ...rest] = positionals;
  if (
    (action !== "create" && action !== "revoke") || arg === undefined ||
    rest.length > 0
  ) {
    throw new UsageError("keys needs create OWNER or revoke KEY");
  }
  const client = clientFrom(values, { admin: true });
  if (action === "create") {
    const { api_key } = await client.adminGenerateKey(arg);
    process.stdout.write(api_key + "\n");
  } else {
    await client.adminRevokeKey(arg);
    process.stdout.write("revoked\n");
  }
  return EXIT.ok;
}
