// The extensions switch: off, the server answers like the original 2.1.
import assert from "node:assert/strict";
import { configFromEnv } from "../config.ts";
import { ADMIN, makeTestApp } from "../testing.ts";

Deno.test("BUS_EXTENSIONS=false turns the extensions off; they are on by default", () => {
  assert.equal(configFromEnv({}).extensions, true);
  assert.equal(configFromEnv({ BUS_EXTENSIONS: "true" }).extensions, true);
  for (const v of ["false", "0", "no", "OFF"]) {
    assert.equal(configFromEnv({ BUS_EXTENSIONS: v }).extensions, false, v);
  }
});

Deno.test("with extensions off /health lists no features", async () => {
  await using t = await makeTestApp({ config: { extensions: false } });
  const res = await t.call("GET", "/health", { key: null });
  assert.equal(res.status, 200);
  assert.equal(res.body.ok, true);
  assert.equal("features" in res.body, false);
  await using on = await makeTestApp();
  assert.ok(
    (await on.call("GET", "/health")).body.features.includes("longpoll"),
  );
});

Deno.test("with extensions off claim ignores wait, max and lease", async () => {
  await using t = await makeTestApp({ config: { extensions: false } });
  for (const payload of [1, 2]) {
    await t.call("POST", "/intent", { body: { goal: "g", payload } });
  }
  // lease=5 is out of range, which the extended server refuses with 400.
  const res = await t.call("POST", "/claim?goal=g&max=5&lease=5&wait=30");
  assert.equal(res.status, 200, res.text);
  assert.equal(res.body.intents, undefined, "one intent, not a batch");
  assert.equal(res.body.payload, 1);
  assert.equal(res.body.claim_timeout, 60);
  await t.call("POST", "/claim?goal=g");
  const empty = await t.call("POST", "/claim?goal=g&wait=30");
  assert.equal(empty.status, 204);
  assert.equal(empty.headers.get("retry-after"), "1");
});

Deno.test("with extensions off the added routes are 404 not_found", async () => {
  await using t = await makeTestApp({ config: { extensions: false } });
  const id = "0".repeat(32);
  for (const path of ["/intents", "/ack", `/release/${id}`]) {
    const res = await t.call("POST", path, { body: {} });
    assert.equal(res.status, 404, path);
    assert.equal(res.body.error.code, "not_found", path);
  }
  const admin = { key: null, headers: { "X-Admin-Token": ADMIN } };
  for (const path of ["/admin/pause", "/admin/resume"]) {
    const res = await t.call("POST", path, { ...admin, body: { goal: "g" } });
    assert.equal(res.status, 404, path);
  }
  // The original's GET /admin/dead/<id> makes this path a wrong method.
  const redrive = await t.call("POST", "/admin/dead/redrive", {
    ...admin,
    body: {},
  });
  assert.equal(redrive.status, 405);
  const dead = await t.call("GET", "/admin/dead", admin);
  assert.equal(dead.status, 200, "the original's admin routes stay");
});
