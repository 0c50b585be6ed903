import assert from "node:assert/strict";
import {
  BusyError,
  ConflictError,
  StorageFullError,
  ValidationError,
} from "../../core/errors.ts";
import { mapPgError } from "./connection.ts";

/** An error as `pg` raises it: PostgreSQL's SQLSTATE in `code`. */
function pgError(code: string | undefined, message: string): Error {
  return Object.assign(new Error(message), code === undefined ? {} : { code });
}

Deno.test("mapPgError turns PostgreSQL's and pg's errors into the named errors", () => {
  const cases: [Error, new (...a: never[]) => Error, string][] = [
    [pgError("23505", "duplicate key"), ConflictError, "conflict"],
    [pgError("22021", "invalid byte"), ValidationError, "invalid_request"],
    [pgError("40P01", "deadlock detected"), BusyError, "database_busy"],
    [
      pgError("53100", "could not extend file"),
      StorageFullError,
      "storage_full",
    ],
    [pgError(undefined, "Query read timeout"), BusyError, "database_busy"],
    [
      pgError(undefined, "timeout exceeded when trying to connect"),
      BusyError,
      "database_busy",
    ],
  ];
  for (const [err, type, code] of cases) {
    const mapped = mapPgError(err) as { code: string };
    assert.ok(mapped instanceof type, `${err.message} is ${type.name}`);
    assert.equal(mapped.code, code);
  }
  // Anything else passes through unchanged, to be a 500 with its detail logged.
  const other = pgError("42P01", "relation does not exist");
  assert.equal(mapPgError(other), other);
});
