import assert from "node:assert/strict";
import { ADMIN, makeTestApp } from "../testing.ts";

const SECURITY = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
  "x-intent-version": "2.1",
};

function assertSecurityHeaders(headers: Headers) {
  for (const [name, value] of Object.entries(SECURITY)) {
    assert.equal(headers.get(name), value, name);
  }
}

Deno.test("health answers ok, unix float seconds and a version, without a key", async () => {
  await using t = await makeTestApp();
  t.clock.advance(1_500);
  const res = await t.call("GET", "/health", { key: null });
  assert.equal(res.status, 200);
  assert.equal(res.body.ok, true);
  assert.equal(res.body.ts, t.clock.now() / 1000);
  assert.equal(typeof res.body.version, "string");
});

Deno.test("the index answers small JSON without a key", async () => {
  await using t = await makeTestApp();
  const res = await t.call("GET", "/", { key: null });
  assert.equal(res.status, 200);
  assert.equal(res.body.name, "Intent Bus");
});

Deno.test("every response carries the security headers, errors included", async () => {
  await using t = await makeTestApp();
  const responses = [
    await t.call("GET", "/health"),
    await t.call("GET", "/nowhere"),
    await t.call("GET", "/intent"),
    await t.call("POST", "/intent", { key: null, body: {} }),
    await t.call("POST", "/claim?goal=g"),
    await t.call("POST", "/intent", { body: "{bad" }),
  ];
  assert.deepEqual(responses.map((r) => r.status), [
    200,
    404,
    405,
    401,
    204,
    400,
  ]);
  for (const r of responses) assertSecurityHeaders(r.headers);
});

Deno.test("an unknown route is a JSON 404 not_found", async () => {
  await using t = await makeTestApp();
  const res = await t.call("POST", "/no/such/route", { body: {} });
  assert.equal(res.status, 404);
  assert.equal(res.body.error.code, "not_found");
  assert.equal(res.headers.get("content-type"), "application/json");
  // Paths that only look like routes are not wrong methods of them.
  for (const path of ["/openapi_json", "/fulfill", "/fulfill/a/b"]) {
    assert.equal((await t.call("GET", path)).status, 404, path);
  }
});

Deno.test("a known route with the wrong method is a JSON 405 method_not_allowed", async () => {
  await using t = await makeTestApp();
  for (
    const [method, path, allow] of [
      ["GET", "/claim", "POST"],
      ["DELETE", "/intent", "POST"],
      ["POST", "/health", "GET, HEAD"],
      ["GET", `/fulfill/${"a".repeat(32)}`, "POST"],
      // Both `/admin/dead/:id` (GET) and `/admin/dead/redrive` (POST).
      ["DELETE", "/admin/dead/redrive", "GET, HEAD, POST"],
    ]
  ) {
    const res = await t.call(method, path, {
      headers: { "X-Admin-Token": ADMIN },
    });
    assert.equal(res.status, 405, `${method} ${path}`);
    assert.equal(res.body.error.code, "method_not_allowed");
    // RFC 9110: a 405 says what the resource takes.
    assert.equal(res.headers.get("allow"), allow, `${method} ${path}`);
  }
});

Deno.test("huge headers are refused with a JSON error, not a crash", async () => {
  await using t = await makeTestApp();
  const res = await t.call("POST", "/claim?goal=g", {
    key: "x".repeat(64 * 1024),
  });
  assert.equal(res.status, 401);
  assert.equal(res.body.error.code, "unauthorized");
});
