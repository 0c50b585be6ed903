import assert from "node:assert/strict";
import {
  openStore,
  pgImportError,
  redactLocation,
  redactMessage,
} from "./open_store.ts";

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

Deno.test("redactMessage hides a PostgreSQL password a parser or driver quotes, as written or percent-decoded, even in a URL no parser accepts", () => {
  for (
    const [url, secret] of [
      ["postgres://u:secretpw@[bad/db", "secretpw"],
      ["postgres://u:secretpw@host:99999/db", "secretpw"],
      ["postgres://u:p%40ss@[bad/db", "p@ss"],
      ["postgres://u@[bad/db?password=secretpw&x=1", "secretpw"],
    ]
  ) {
    const shown = redactMessage(
      `Invalid URL: '${url}' (${decodeURIComponent(url)})`,
      url,
    );
    assert.doesNotMatch(shown, new RegExp(secret), url);
    assert.doesNotMatch(shown, /p%40ss/, url);
    assert.match(shown, /\*\*\*/, url);
  }
  assert.equal(
    redactMessage("unable to open database file", "/tmp/a.db"),
    "unable to open database file",
  );
});

Deno.test("openStore logs why it picked the SQLite driver when none is named, and nothing when one is", async () => {
  const picked = await openStore({ location: ":memory:" });
  try {
    assert.equal(picked.logged.driver, "node:sqlite");
    assert.equal(picked.logged.driverChoice, "the default on Deno");
  } finally {
    await picked.store.close();
  }
  const named = await openStore({ location: ":memory:", driver: "ffi" });
  try {
    assert.equal(named.logged.driver, "ffi");
    assert.equal("driverChoice" in named.logged, false);
  } finally {
    await named.store.close();
  }
});

Deno.test("a missing pg package becomes an error saying to npm install pg; other import errors stay as they are", () => {
  const missing = Object.assign(
    new Error(
      "Cannot find package 'pg' imported from /app/storage/postgres/open.js",
    ),
    { code: "ERR_MODULE_NOT_FOUND" },
  );
  const hinted = pgImportError(missing);
  assert.ok(hinted instanceof Error);
  assert.match(
    hinted.message,
    /^The PostgreSQL store needs the pg package: npm install pg \(Cannot find package 'pg'/,
  );
  assert.equal(hinted.cause, missing);
  const other = Object.assign(
    new Error("Cannot find package 'pgx' imported from /app/a.js"),
    { code: "ERR_MODULE_NOT_FOUND" },
  );
  assert.equal(pgImportError(other), other);
  const broken = new SyntaxError("Unexpected token in 'pg'");
  assert.equal(pgImportError(broken), broken);
});

Deno.test("redactMessage hides a short password only where the message quotes the URL, leaving the same letters elsewhere readable", () => {
  const url = "postgres://u:p@db/q";
  assert.equal(
    redactMessage(
      `Cannot find package 'pg' imported from /app/open.js (${url})`,
      url,
    ),
    "Cannot find package 'pg' imported from /app/open.js (postgres://u:***@db/q)",
  );
  const query = "postgres://u@db/q?sslmode=require&PassWord=p";
  assert.equal(
    redactMessage(`connect to ${query} failed: pool empty`, query),
    "connect to postgres://u@db/q?sslmode=require&PassWord=*** failed: pool empty",
  );
});

Deno.test("redactMessage hides the password in every spelling of the quoted URL: as given, decoded, encoded, as a URL parser writes it back", () => {
  const url = "postgres://u:a%20b$c@[bad/db?sslpassword=k%2By";
  const forms = [
    url,
    decodeURIComponent(url),
    "postgres://u:a%20b%24c@[bad/db?sslpassword=k%2By",
    "postgres://u:a b$c@h/db?sslpassword=k+y",
    new URL("postgres://u:a%20b$c@h/db").toString(),
    "?" + new URLSearchParams({ sslpassword: "k+y" }).toString(),
  ];
  for (const form of forms) {
    const shown = redactMessage(`Invalid URL: '${form}' a b c k y`, url);
    assert.doesNotMatch(shown, /a%20b|a b\$|b%24c|k%2By|k\+y/, form);
    assert.match(shown, /\*\*\*/, form);
    assert.match(shown, /' a b c k y$/, form);
  }
});

Deno.test("redactMessage hides a password holding an unencoded ?, whose user part ends at the URL's last @", () => {
  for (
    const url of [
      "postgres://u2:a?b@127.0.0.1:5432/db",
      "postgres://u:hunter2?@[bad/db",
    ]
  ) {
    const shown = redactMessage(`Invalid URL: '${url}'`, url);
    assert.doesNotMatch(shown, /a\?b|hunter2/, url);
    assert.match(shown, /:\*\*\*@/, url);
  }
});
