import assert from "node:assert/strict";
import {
  AuthError,
  ConflictError,
  LeaseLostError,
  LimitError,
  RateLimitedError,
  StorageFullError,
  ValidationError,
} from "../core/errors.ts";
import { loadDriver } from "../storage/sqlite/mod.ts";
import { SqliteError } from "../storage/sqlite/connection.ts";
import { HttpError, toHttp } from "./errors.ts";
import { makeTestApp, TEST_STORE } from "./testing.ts";

Deno.test("named errors map to the protocol's statuses", () => {
  const cases: [unknown, number, string][] = [
    [new ValidationError("x"), 400, "invalid_request"],
    [new ValidationError("x", "payload_too_large"), 413, "payload_too_large"],
    [new AuthError("x"), 401, "unauthorized"],
    [new AuthError("x", "invalid_signature"), 403, "invalid_signature"],
    [new AuthError("x", "forbidden"), 403, "forbidden"],
    [new LeaseLostError("x"), 404, "lease_lost"],
    [
      new ConflictError("x", "idempotency_conflict"),
      409,
      "idempotency_conflict",
    ],
    [new LimitError("x"), 429, "limit_exceeded"],
    [new RateLimitedError("x", 7), 429, "rate_limited"],
    [new SqliteError(5, "database is locked"), 503, "database_busy"],
    [new StorageFullError("x"), 507, "storage_full"],
    [new HttpError(405, "method_not_allowed", "x"), 405, "method_not_allowed"],
  ];
  for (const [err, status, code] of cases) {
    const a = toHttp(err);
    assert.equal(a.status, status, code);
    assert.equal(a.code, code);
  }
  assert.equal(
    toHttp(new RateLimitedError("x", 7)).headers["Retry-After"],
    "7",
  );
  assert.equal(toHttp(new StorageFullError("x")).headers["Retry-After"], "60");
  // What the operator must see in the log: a full database, and any 500.
  assert.equal(toHttp(new StorageFullError("x")).logged, true);
  assert.equal(toHttp(new ConflictError("x")).logged, false);
});

Deno.test("anything else is a generic 500 internal_error that hides the detail", () => {
  const a = toHttp(new TypeError("secret detail: /etc/passwd"));
  assert.equal(a.status, 500);
  assert.equal(a.code, "internal_error");
  assert.equal(a.message.includes("secret"), false);
  assert.equal(a.internal, true);
  assert.equal(a.logged, true);
});

Deno.test({
  name:
    "a locked database is 503 database_busy with Retry-After, and nothing is written",
  // Another process's write lock on the file is SQLite's; PostgreSQL has none.
  ignore: TEST_STORE === "postgres",
}, async () => {
  await using t = await makeTestApp({ busyTimeoutMs: 50 });
  const open = await loadDriver("node:sqlite");
  const other = open({ path: t.path });
  try {
    const id =
      (await t.call("POST", "/intent", { body: { goal: "g", payload: 1 } }))
        .body.id;
    const before = await t.counts();
    other.exec("PRAGMA busy_timeout = 0");
    other.exec("BEGIN IMMEDIATE");
    const publish = await t.call("POST", "/intent", {
      body: { goal: "g", payload: 2 },
    });
    assert.equal(publish.status, 503);
    assert.equal(publish.body.error.code, "database_busy");
    assert.ok(Number(publish.headers.get("retry-after")) >= 1);
    // A claim with work waiting is busy too, never "nothing to do".
    const claim = await t.call("POST", "/claim?goal=g");
    assert.equal(claim.status, 503);
    assert.equal(claim.body.error.code, "database_busy");
    other.exec("ROLLBACK");
    assert.deepEqual(await t.counts(), before);
    const after = await t.call("POST", "/claim?goal=g");
    assert.equal(after.status, 200);
    assert.equal(after.body.id, id);
  } finally {
    other.close();
  }
});

Deno.test({
  name:
    "a write waiting for another connection's lock does not stop the server: other routes answer, and the write commits once the lock is free",
  ignore: TEST_STORE === "postgres",
}, async () => {
  await using t = await makeTestApp({ busyTimeoutMs: 10_000 });
  const open = await loadDriver("node:sqlite");
  const other = open({ path: t.path });
  try {
    other.exec("PRAGMA busy_timeout = 0");
    other.exec("BEGIN IMMEDIATE");
    let settled = false;
    const publish = t.call("POST", "/intent", {
      body: { goal: "g", payload: 1 },
    }).finally(() => settled = true);
    // The lock's holder is on this very thread: had the write waited inside
    // SQLite, nothing below could run until its 10 s ran out.
    await new Promise((r) => setTimeout(r, 100));
    assert.equal((await t.call("GET", "/health")).status, 200);
    assert.equal((await t.call("GET", "/status/nope")).status, 404);
    assert.equal(settled, false, "the publish still waits for the lock");
    other.exec("ROLLBACK");
    const res = await publish;
    assert.equal(res.status, 201);
    assert.equal((await t.call("GET", `/status/${res.body.id}`)).status, 200);
  } finally {
    other.close();
  }
});

Deno.test({
  name:
    "a full database is 507 storage_full with Retry-After, keeps every acknowledged intent, and serves again once there is room",
  // SQLite's page limit stands in for a full disk; PostgreSQL's is not ours to fill.
  ignore: TEST_STORE === "postgres",
}, async () => {
  await using t = await makeTestApp();
  // A lease taken while there is room, to fulfil once there is none.
  await t.call("POST", "/intent", { body: { goal: "leased", payload: 1 } });
  const claim = await t.call("POST", "/claim?goal=leased");
  assert.equal(claim.status, 200, claim.text);
  const pages = Number((await t.sql("PRAGMA page_count"))[0].page_count);
  await t.sql(`PRAGMA max_page_count = ${pages + 20}`);
  const acknowledged: string[] = [];
  let full;
  for (let i = 0; i < 1000 && full === undefined; i++) {
    const res = await t.call("POST", "/intent", {
      body: { goal: "g", payload: "x".repeat(6000) },
    });
    if (res.status === 201) acknowledged.push(res.body.id);
    else full = res;
  }
  assert.ok(full, "the database never filled up");
  assert.equal(full.status, 507, full.text);
  assert.equal(full.body.error.code, "storage_full");
  assert.equal(full.headers.get("retry-after"), "60");
  const before = await t.counts();
  const batch = await t.call("POST", "/intents", {
    body: { intents: [{ goal: "g", payload: "y".repeat(6000) }] },
  });
  assert.ok(
    batch.status === 507 ||
      batch.body.results?.[0]?.error?.code === "storage_full",
    batch.text,
  );
  // Publishes that share one transaction (group commit) fail together.
  const together = await Promise.all(
    Array.from({ length: 5 }, (_, i) =>
      t.call("POST", "/intent", {
        body: { goal: "g", payload: `${i}`.repeat(6000) },
      })),
  );
  assert.deepEqual(together.map((r) => r.status), [507, 507, 507, 507, 507]);
  assert.deepEqual(await t.counts(), before);
  for (const id of acknowledged) {
    assert.equal((await t.call("GET", `/status/${id}`)).status, 200, id);
  }
  // A fulfil with a large result needs room too: 507, and the lease holds.
  const ack = {
    acks: [{
      id: claim.body.id,
      claim_token: claim.body.claim_token,
      status: "fulfilled",
      result: "r".repeat(6000),
    }],
  };
  const acked = await t.call("POST", "/ack", { body: ack });
  assert.equal(acked.status, 507, acked.text);
  await t.sql("PRAGMA max_page_count = 1000000");
  assert.equal(
    (await t.call("POST", "/ack", { body: ack })).body.results[0].ok,
    true,
  );
  const after = await t.call("POST", "/intent", {
    body: { goal: "g", payload: 1 },
  });
  assert.equal(after.status, 201);
});
