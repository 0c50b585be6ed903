import assert from "node:assert/strict";
import {
  BusyError,
  ConflictError,
  StorageFullError,
  ValidationError,
} from "../../core/errors.ts";
import { mapPgError, TransactionLostError } from "./connection.ts";

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
  // Errors after which the transaction cannot go on: a batch stops at them.
  for (
    const err of [
      pgError(undefined, "Query read timeout"),
      pgError(
        undefined,
        "Client has encountered a connection error and is not queryable",
      ),
      pgError(undefined, "Connection terminated unexpectedly"),
      pgError("57P01", "terminating connection due to administrator command"),
      pgError("57014", "canceling statement due to statement timeout"),
      pgError("08006", "connection failure"),
      pgError("ECONNRESET", "read ECONNRESET"),
    ]
  ) {
    const mapped = mapPgError(err);
    assert.ok(mapped instanceof TransactionLostError, err.message);
    assert.ok(mapped instanceof BusyError);
    assert.equal(mapped.code, "database_busy");
    assert.equal(mapped.cause, err);
  }
  assert.ok(
    !(mapPgError(pgError("40P01", "deadlock")) instanceof
      TransactionLostError),
  );
  // Anything else passes through unchanged, to be a 500 with its detail logged.
  const other = pgError("42P01", "relation does not exist");
  assert.equal(mapPgError(other), other);
});
