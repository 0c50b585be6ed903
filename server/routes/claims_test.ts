import assert from "node:assert/strict";
import { ADMIN, makeTestApp, type TestApp } from "../testing.ts";
import { configFromEnv } from "../config.ts";

async function publish(
  t: TestApp,
  body: Record<string, unknown>,
  key?: string,
) {
  const res = await t.call("POST", "/intent", {
    key,
    body: { payload: {}, ...body },
  });
  assert.equal(res.status, 201, res.text);
  return res.body.id as string;
}

Deno.test("claim answers the protocol's fields with a token and the lease length", async () => {
  await using t = await makeTestApp();
  const id = await publish(t, { goal: "g", payload: { n: 1 }, priority: 7 });
  // The Python SDK sends Content-Type json with an empty body on POST /claim.
  const res = await t.call("POST", "/claim?goal=g&namespace=default", {
    headers: { "Content-Type": "application/json", "X-Intent-Version": "7.61" },
  });
  assert.equal(res.status, 200);
  assert.equal(res.body.id, id);
  assert.equal(res.body.namespace, "default");
  assert.equal(res.body.goal, "g");
  assert.deepEqual(res.body.payload, { n: 1 });
  assert.equal(res.body.claim_attempts, 1);
  assert.equal(res.body.priority, 7);
  assert.equal(res.body.target_worker, null);
  assert.equal(res.body.required_capability, null);
  assert.match(res.body.claim_token, /^[0-9a-f]{32}$/);
  assert.equal(res.body.claim_timeout, 60);
});

Deno.test("an empty claim is 204 with Retry-After 1 and no body", async () => {
  await using t = await makeTestApp();
  const res = await t.call("POST", "/claim?goal=nothing");
  assert.equal(res.status, 204);
  assert.equal(res.headers.get("retry-after"), "1");
  assert.equal(res.text, "");
});

Deno.test("claim without a goal or with a bad namespace is 400 invalid_request", async () => {
  await using t = await makeTestApp();
  for (
    const path of [
      "/claim",
      "/claim?goal=g&namespace=a%20b",
      "/claim?goal=g&lease=5",
    ]
  ) {
    const res = await t.call("POST", path);
    assert.equal(res.status, 400, path);
    assert.equal(res.body.error.code, "invalid_request");
  }
});

Deno.test("claims follow priority, then run_at", async () => {
  await using t = await makeTestApp();
  const low = await publish(t, { goal: "g", priority: 1 });
  t.clock.advance(1000);
  const high = await publish(t, { goal: "g", priority: 900 });
  const mid1 = await publish(t, { goal: "g" });
  t.clock.advance(1000);
  const mid2 = await publish(t, { goal: "g" });
  const order = [];
  for (let i = 0; i < 4; i++) {
    order.push((await t.call("POST", "/claim?goal=g")).body.id);
  }
  assert.deepEqual(order, [high, mid1, mid2, low]);
});

Deno.test("private intents go only to their publisher's key; public ones to any key", async () => {
  await using t = await makeTestApp();
  const a = await t.issueKey("a");
  const b = await t.issueKey("b");
  const priv = await publish(t, { goal: "g" }, a);
  assert.equal((await t.call("POST", "/claim?goal=g", { key: b })).status, 204);
  const pub = await publish(t, { goal: "g", visibility: "public" }, a);
  assert.equal(
    (await t.call("POST", "/claim?goal=g", { key: b })).body.id,
    pub,
  );
  assert.equal(
    (await t.call("POST", "/claim?goal=g", { key: a })).body.id,
    priv,
  );
});

Deno.test("the publisher filter is the caller's own key, or anyone's for the master; else 403", async () => {
  await using t = await makeTestApp();
  const a = await t.issueKey("a");
  const b = await t.issueKey("b");
  const id = await publish(t, { goal: "g", visibility: "public" }, a);
  const forbidden = await t.call(
    "POST",
    `/claim?goal=g&publisher=${encodeURIComponent(a)}`,
    { key: b },
  );
  assert.equal(forbidden.status, 403);
  assert.equal(forbidden.body.error.code, "forbidden");
  assert.equal(
    (await t.call("POST", `/claim?goal=g&publisher=${encodeURIComponent(b)}`, {
      key: b,
    })).status,
    204,
  );
  const master = await t.call(
    "POST",
    `/claim?goal=g&publisher=${encodeURIComponent(a)}`,
  );
  assert.equal(master.body.id, id);
});

Deno.test("target worker and capability route; worker headers win over the query", async () => {
  await using t = await makeTestApp();
  const targeted = await publish(t, { goal: "g", target_worker: "w1" });
  const gpu = await publish(t, { goal: "g", required_capability: "gpu" });
  assert.equal(
    (await t.call("POST", "/claim?goal=g&worker_id=w2")).status,
    204,
  );
  const w1 = await t.call("POST", "/claim?goal=g&worker_id=w2", {
    headers: { "X-Worker-ID": "w1" },
  });
  assert.equal(w1.body.id, targeted);
  assert.equal(w1.body.target_worker, "w1");
  assert.equal(
    (await t.call("POST", "/claim?goal=g&capabilities=gpu", {
      headers: { "X-Worker-Capabilities": "cpu" },
    })).status,
    204,
  );
  const withGpu = await t.call("POST", "/claim?goal=g", {
    headers: { "X-Worker-Capabilities": "cpu, gpu" },
  });
  assert.equal(withGpu.body.id, gpu);
});

Deno.test("fulfil with the token finishes the intent; a fail with that token is then 404 lease_lost", async () => {
  await using t = await makeTestApp();
  const id = await publish(t, { goal: "g" });
  const { claim_token } = (await t.call("POST", "/claim?goal=g")).body;
  const ok = await t.call("POST", `/fulfill/${id}`, {
    body: { claim_token, result: { r: 1 } },
  });
  assert.equal(ok.status, 200);
  assert.deepEqual(ok.body, { ok: true, id });
  // A fulfil replay is idempotent (fulfil_replay_test.ts); a fail is not.
  const again = await t.call("POST", `/fail/${id}`, {
    body: { claim_token, error: "late" },
  });
  assert.equal(again.status, 404);
  assert.equal(again.body.error.code, "lease_lost");
});

Deno.test("a wrong token is 404 lease_lost on fulfil, fail and extend, and changes nothing", async () => {
  await using t = await makeTestApp();
  const id = await publish(t, { goal: "g" });
  await t.call("POST", "/claim?goal=g");
  const before = (await t.call("GET", `/status/${id}`)).body;
  for (const route of ["fulfill", "fail", "extend_claim"]) {
    const res = await t.call("POST", `/${route}/${id}`, {
      body: { claim_token: "0".repeat(32) },
    });
    assert.equal(res.status, 404, route);
    assert.equal(res.body.error.code, "lease_lost");
  }
  assert.deepEqual((await t.call("GET", `/status/${id}`)).body, before);
});

Deno.test("an unknown intent id is 404 not_found on the lease routes", async () => {
  await using t = await makeTestApp();
  for (const route of ["fulfill", "fail", "extend_claim"]) {
    const res = await t.call("POST", `/${route}/${"a".repeat(32)}`, {
      body: { claim_token: "x" },
    });
    assert.equal(res.status, 404);
    assert.equal(res.body.error.code, "not_found");
  }
});

Deno.test("the v1.1 tokenless form works only for the key holding a live lease", async () => {
  await using t = await makeTestApp();
  const a = await t.issueKey("a");
  const b = await t.issueKey("b");
  const id = await publish(t, { goal: "g", visibility: "public" }, a);
  assert.equal((await t.call("POST", "/claim?goal=g", { key: a })).status, 200);
  const other = await t.call("POST", `/fulfill/${id}`, { key: b, body: {} });
  assert.equal(other.status, 404);
  const holder = await t.call("POST", `/fulfill/${id}`, { key: a, body: {} });
  assert.equal(holder.status, 200);
});

Deno.test("extend renews the lease to now plus seconds, within 10 to 3600", async () => {
  await using t = await makeTestApp();
  const id = await publish(t, { goal: "g" });
  const { claim_token } = (await t.call("POST", "/claim?goal=g")).body;
  t.clock.advance(30_000);
  const res = await t.call("POST", `/extend_claim/${id}`, {
    body: { claim_token, seconds: 120 },
  });
  assert.equal(res.status, 200);
  assert.equal(res.body.ok, true);
  assert.equal(res.body.extended_by, 120);
  const s = (await t.call("GET", `/status/${id}`)).body;
  assert.equal(s.claim_expires_at, t.clock.now() / 1000 + 120);
  const bad = await t.call("POST", `/extend_claim/${id}`, {
    body: { claim_token, seconds: 5 },
  });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, "invalid_request");
});

Deno.test("fail reopens after backoff with injected jitter, then dead-letters on the last attempt", async () => {
  await using t = await makeTestApp();
  const id = await publish(t, { goal: "g", max_attempts: 2, backoff_base: 10 });
  let token = (await t.call("POST", "/claim?goal=g")).body.claim_token;
  t.jitter.push(0.5);
  const failed = await t.call("POST", `/fail/${id}`, {
    body: { claim_token: token, error: "boom" },
  });
  assert.equal(failed.status, 200);
  assert.equal(failed.body.status, "open");
  const s = (await t.call("GET", `/status/${id}`)).body;
  assert.equal(s.last_error, "boom");
  // 10 × 2^1 s plus 0.5 × 10 s of jitter.
  assert.equal(s.run_at, t.clock.now() / 1000 + 25);
  assert.equal((await t.call("POST", "/claim?goal=g")).status, 204);
  t.clock.advance(25_000);
  token = (await t.call("POST", "/claim?goal=g")).body.claim_token;
  const dead = await t.call("POST", `/fail/${id}`, {
    body: { claim_token: token, error: "x".repeat(900) },
  });
  assert.equal(dead.body.status, "dead");
  const final = (await t.call("GET", `/status/${id}`)).body;
  assert.equal(final.status, "dead");
  assert.equal(final.last_error.length, 500);
});

Deno.test("a fulfil after the lease expired is accepted while nobody re-claimed the intent", async () => {
  await using t = await makeTestApp();
  const id = await publish(t, { goal: "g" });
  const { claim_token } = (await t.call("POST", "/claim?goal=g")).body;
  t.clock.advance(120_000);
  const res = await t.call("POST", `/fulfill/${id}`, {
    body: { claim_token, result: 1 },
  });
  assert.equal(res.status, 200);
});

Deno.test("once another claim took over, the old token is 404 lease_lost", async () => {
  await using t = await makeTestApp();
  const id = await publish(t, { goal: "g", backoff_base: 1 });
  const old = (await t.call("POST", "/claim?goal=g")).body.claim_token;
  t.clock.advance(61_000);
  await t.call("POST", "/admin/cleanup", {
    key: null,
    headers: { "X-Admin-Token": "test-admin-token" },
  });
  t.clock.advance(10_000);
  const fresh = await t.call("POST", "/claim?goal=g");
  assert.equal(fresh.body.id, id);
  assert.equal(fresh.body.claim_attempts, 2);
  const res = await t.call("POST", `/fulfill/${id}`, {
    body: { claim_token: old },
  });
  assert.equal(res.status, 404);
  assert.equal(res.body.error.code, "lease_lost");
});

Deno.test("fulfil checks result_type and the result's size", async () => {
  await using t = await makeTestApp();
  const id = await publish(t, { goal: "g" });
  const { claim_token } = (await t.call("POST", "/claim?goal=g")).body;
  const cases: [unknown, number, string][] = [
    [{ claim_token, result: 1, result_type: "xml" }, 400, "invalid_request"],
    [
      { claim_token, result: { a: 1 }, result_type: "text" },
      400,
      "invalid_request",
    ],
    [{ claim_token, result: "x".repeat(8000) }, 413, "payload_too_large"],
  ];
  for (const [body, status, code] of cases) {
    const res = await t.call("POST", `/fulfill/${id}`, { body });
    assert.equal(res.status, status);
    assert.equal(res.body.error.code, code);
  }
  assert.equal((await t.call("GET", `/status/${id}`)).body.status, "claimed");
});

Deno.test("max claims a batch and answers {intents: [...]}", async () => {
  await using t = await makeTestApp();
  for (let i = 0; i < 3; i++) await publish(t, { goal: "g" });
  const res = await t.call("POST", "/claim?goal=g&max=2&lease=30");
  assert.equal(res.status, 200);
  assert.equal(res.body.intents.length, 2);
  assert.equal(res.body.intents[0].claim_timeout, 30);
});

Deno.test("release gives the intent back at once without using up an attempt", async () => {
  await using t = await makeTestApp();
  const id = await publish(t, { goal: "g", max_attempts: 1 });
  const { claim_token } = (await t.call("POST", "/claim?goal=g")).body;
  const res = await t.call("POST", `/release/${id}`, { body: { claim_token } });
  assert.equal(res.status, 200);
  assert.deepEqual(res.body, { ok: true, id, status: "open" });
  const again = await t.call("POST", "/claim?goal=g");
  assert.equal(again.body.id, id);
  const stale = await t.call("POST", `/release/${id}`, {
    body: { claim_token },
  });
  assert.equal(stale.status, 404);
  assert.equal(stale.body.error.code, "lease_lost");
});

Deno.test("a long poll answers as soon as an intent is published to its goal", async () => {
  await using t = await makeTestApp();
  const waiting = t.call("POST", "/claim?goal=g&wait=20");
  await publish(t, { goal: "other" });
  const id = await publish(t, { goal: "g" });
  const res = await waiting;
  assert.equal(res.status, 200);
  assert.equal(res.body.id, id);
});

Deno.test("a publish wakes the next long poll when the first one woken may not take it", async () => {
  // No periodic re-check within the test: only a notice can answer A.
  await using t = await makeTestApp({ config: { recheckMs: 60_000 } });
  const a = await t.issueKey("a");
  const b = await t.issueKey("b");
  const bPoll = t.call("POST", "/claim?goal=g&wait=2", { key: b });
  await new Promise((r) => setTimeout(r, 50));
  const aPoll = t.call("POST", "/claim?goal=g&wait=20", { key: a });
  await new Promise((r) => setTimeout(r, 50));
  // Private to A: B, asleep longest, is woken first and cannot take it.
  const id = await publish(t, { goal: "g" }, a);
  const res = await Promise.race([
    aPoll,
    new Promise<null>((r) => setTimeout(() => r(null), 5_000)),
  ]);
  assert.ok(res !== null, "A was not woken (it would answer only at 20 s)");
  assert.equal(res.status, 200);
  assert.equal(res.body.id, id);
  assert.equal((await bPoll).status, 204);
});

Deno.test("a long poll ends with 204 when the client goes away", async () => {
  await using t = await makeTestApp();
  const controller = new AbortController();
  const waiting = t.app.request("http://localhost/claim?goal=g&wait=30", {
    method: "POST",
    headers: { "X-API-KEY": "test-master-key" },
    signal: controller.signal,
  });
  controller.abort();
  assert.equal((await waiting).status, 204);
});

Deno.test("an empty claim without wait is held until a publish to its goal, which it then gets", async () => {
  // A long hold, so the test shows the publish (not the hold's end) answers it.
  await using t = await makeTestApp({ config: { emptyHoldMs: 20_000 } });
  const waiting = t.call("POST", "/claim?goal=g");
  const id = await publish(t, { goal: "g" });
  const res = await waiting;
  assert.equal(res.status, 200);
  assert.equal(res.body.id, id);
});

Deno.test("an empty claim without wait is 204 once the hold ends; emptyHoldMs 0 answers at once", async () => {
  for (const emptyHoldMs of [0, 50]) {
    await using t = await makeTestApp({ config: { emptyHoldMs } });
    const res = await t.call("POST", "/claim?goal=nothing");
    assert.equal(res.status, 204);
    assert.equal(res.headers.get("Retry-After"), "1");
  }
});

Deno.test("BUS_EMPTY_HOLD_MS sets the hold of empty claims", () => {
  assert.equal(configFromEnv({}).emptyHoldMs, 1000);
  assert.equal(configFromEnv({ BUS_EMPTY_HOLD_MS: "0" }).emptyHoldMs, 0);
});

Deno.test("a NUL in the worker id or capabilities from the query is kept as U+FFFD", async () => {
  await using t = await makeTestApp();
  const id = await publish(t, { goal: "g" });
  const claim = await t.call(
    "POST",
    "/claim?goal=g&worker_id=a%00b&capabilities=x%00y,z",
  );
  assert.equal(claim.status, 200, claim.text);
  const seen = await t.call("GET", `/admin/intents/${id}`, {
    key: null,
    headers: { "X-Admin-Token": ADMIN },
  });
  assert.equal(seen.body.worker_id, "a\uFFFDb");
  const gpu = await publish(t, { goal: "g", required_capability: "z" });
  const byCaps = await t.call("POST", "/claim?goal=g&capabilities=x%00y,z");
  assert.equal(byCaps.body.id, gpu);
});
