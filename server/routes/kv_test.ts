import assert from "node:assert/strict";
import { makeTestApp } from "../testing.ts";

Deno.test("set stores JSON and get returns it unchanged", async () => {
  await using t = await makeTestApp();
  const value = { list: [1, "two", null], nested: { ok: true }, n: 1.5 };
  const set = await t.call("POST", "/set/config", {
    body: { value, ttl: 60 },
    headers: { "Idempotency-Key": "abc" },
  });
  assert.equal(set.status, 200);
  assert.deepEqual(set.body, { ok: true });
  const got = await t.call("GET", "/get/config", {
    headers: { "Content-Type": "application/json" },
  });
  assert.equal(got.status, 200);
  assert.deepEqual(got.body, { value });
  // A string stays a string (the Python SDK sends dicts as JSON text).
  await t.call("POST", "/set/s", { body: { value: '{"a":1}' } });
  assert.deepEqual((await t.call("GET", "/get/s")).body, { value: '{"a":1}' });
});

Deno.test("keys are private to each API key", async () => {
  await using t = await makeTestApp();
  const a = await t.issueKey("a");
  const b = await t.issueKey("b");
  await t.call("POST", "/set/k", { key: a, body: { value: "mine" } });
  const other = await t.call("GET", "/get/k", { key: b });
  assert.equal(other.status, 404);
  assert.equal(other.body.error.code, "not_found");
  assert.equal((await t.call("GET", "/get/k", { key: a })).body.value, "mine");
});

Deno.test("a value is gone after its ttl", async () => {
  await using t = await makeTestApp();
  await t.call("POST", "/set/k", { body: { value: 1, ttl: 5 } });
  t.clock.advance(4_000);
  assert.equal((await t.call("GET", "/get/k")).status, 200);
  t.clock.advance(1_000);
  assert.equal((await t.call("GET", "/get/k")).status, 404);
});

Deno.test("set refuses a missing value, a bad ttl and oversized values, storing nothing", async () => {
  await using t = await makeTestApp();
  const cases: [unknown, number, string][] = [
    [{ ttl: 5 }, 400, "invalid_request"],
    [{ value: 1, ttl: 0 }, 400, "invalid_request"],
    [{ value: 1, ttl: 86401 }, 400, "invalid_request"],
    [{ value: "x".repeat(8000) }, 413, "payload_too_large"],
    ["not json", 400, "invalid_json"],
  ];
  for (const [body, status, code] of cases) {
    const res = await t.call("POST", "/set/k", { body });
    assert.equal(res.status, status, JSON.stringify(body));
    assert.equal(res.body.error.code, code);
  }
  assert.equal((await t.counts()).kv, 0);
});

Deno.test("an absent key is 404 not_found", async () => {
  await using t = await makeTestApp();
  const res = await t.call("GET", "/get/never");
  assert.equal(res.status, 404);
  assert.equal(res.body.error.code, "not_found");
});

Deno.test("a key is 1 to 256 code points without NUL: 256 emoji pass, 257 characters and NUL are 400", async () => {
  await using t = await makeTestApp();
  const emoji = "\u{1F600}".repeat(256);
  const ok = await t.call("POST", `/set/${encodeURIComponent(emoji)}`, {
    body: { value: 1 },
  });
  assert.equal(ok.status, 200, ok.text);
  const got = await t.call("GET", `/get/${encodeURIComponent(emoji)}`);
  assert.equal(got.body.value, 1);
  for (const bad of ["k".repeat(257), "a\u0000b"]) {
    const res = await t.call("POST", `/set/${encodeURIComponent(bad)}`, {
      body: { value: 1 },
    });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, "invalid_request");
  }
  assert.equal(Number((await t.sql("SELECT count(*) AS n FROM kv"))[0].n), 1);
});
