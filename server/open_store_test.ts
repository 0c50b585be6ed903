import assert from "node:assert/strict";
import { redactLocation } from "./open_store.ts";

Deno.test("redactLocation hides a PostgreSQL password in the user part and in the query, and leaves a file path alone", () => {
  assert.equal(redactLocation("./intentbus.db"), "./intentbus.db");
  assert.equal(
    redactLocation("postgres://bus:hunter2@db:5432/q"),
    "postgres://bus:***@db:5432/q",
  );
  for (
    const url of [
      "postgres://bus@127.0.0.1:1/db?password=hunter2",
      "postgresql://db/q?user=bus&PASSWORD=hunter2&sslmode=require",
      "postgres://db/q?sslpassword=hunter2",
    ]
  ) {
    const shown = redactLocation(url);
    assert.doesNotMatch(shown, /hunter2/, url);
    assert.match(shown, /\*\*\*/, url);
  }
  assert.match(
    redactLocation("postgresql://db/q?user=bus&password=x&sslmode=require"),
    /user=bus&password=\*\*\*&sslmode=require/,
  );
});
