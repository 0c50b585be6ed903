/**
 * `intentbus keys create OWNER | revoke KEY` (admin): through a running
 * server, or with `--db` straight in its store, offline. A server on the
 * same store accepts an offline key at once (it looks keys up in the
 * store) and stops accepting an offline revoked one within its key cache
 * (5 s).
 *
 * @module
 */

import process from "node:process";
import { NotFoundError, ValidationError } from "../../core/errors.ts";
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
revoke revokes one. Through a running server:

${ADMIN_HELP}

Or offline, straight in the server's store (no server or admin token
needed; a server on the same store accepts the key at once, and refuses a
revoked one within 5 s):
  --db <location>      SQLite file path or postgres:// URL
  --driver <name>      SQLite driver (as intentbus serve --driver)

Example: KEY=$(intentbus keys create billing)
         KEY=$(intentbus keys create billing --db ~/.intentbus/data/intentbus.db)

${EXIT_HELP} (3: revoke of an unknown key)`;

/** Most characters of an owner, as `POST /admin/generate_key` allows. */
const OWNER_MAX = 100;

/**
 * Runs `keys`.
 *
 * @param args The arguments after `keys`.
 * @returns The exit code.
 */
export async function keysCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    db: { type: "string" },
    driver: { type: "string" },
  });
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
  if (values.db !== undefined) {
    for (const flag of ["url", "key", "admin-token"] as const) {
      if (values[flag] !== undefined) {
        throw new UsageError(`--db and --${flag} do not go together`);
      }
    }
    return await offline(action, arg, values.db, values.driver);
  }
  if (values.driver !== undefined) {
    throw new UsageError("--driver needs --db");
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

/** `keys create|revoke --db`: the server's own code on its store. */
async function offline(
  action: "create" | "revoke",
  arg: string,
  location: string,
  driver: string | undefined,
): Promise<number> {
  if (location === "") throw new UsageError("--db needs a location");
  if (action === "create") {
    const { identifierText } = await import("../validate.ts");
    try {
      identifierText(arg, "OWNER", OWNER_MAX);
    } catch (err) {
      if (err instanceof ValidationError) throw new UsageError(err.message);
      throw err;
    }
  } else if (arg === "") {
    throw new UsageError("Missing KEY");
  }
  // Loaded only here: the client commands never load storage drivers.
  const [{ openStore }, { ApiKeys }, { systemClock }] = await Promise.all([
    import("../open_store.ts"),
    import("../auth/keys.ts"),
    import("../../core/clock.ts"),
  ]);
  let store;
  try {
    ({ store } = await openStore({ location, driver }));
  } catch (err) {
    // As `serve` does: a PostgreSQL URL's password stays out of the error.
    if (err instanceof Error) {
      const { redactMessage } = await import("../open_store.ts");
      err.message = redactMessage(err.message, location);
    }
    throw err;
  }
  try {
    const keys = new ApiKeys({ store, clock: systemClock, masterKey: "" });
    if (action === "create") {
      process.stdout.write(await keys.issue(arg) + "\n");
    } else if (await keys.revoke(arg)) {
      process.stdout.write("revoked\n");
    } else {
      throw new NotFoundError("API key not found or already revoked");
    }
  } finally {
    await store.close();
  }
  return EXIT.ok;
}
