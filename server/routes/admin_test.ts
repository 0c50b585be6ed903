import assert from "node:assert/strict";
import { createApp } from "../app.ts";
import { KEY_CACHE_MS } from "../auth/keys.ts";
import { DEFAULT_CONFIG } from "../config.ts";
import { ADMIN, makeTestApp, MASTER, type TestApp } from "../testing.ts";

const admin = { key: null, headers: { "X-Admin-Token": ADMIN } };

function adminCall(t: TestApp, method: string, path: string, body?: unknown) {
  return t.call(method, path, { ...admin, body });
}

async function publish(t: TestApp, body: Record<string, unknown> = {}) {
  const res = await t.call("POST", "/intent", {
    body: { goal: "g", payload: 1, ...body },
  });
  return res.body.id as string;
}

Deno.test("admin routes refuse a missing or wrong credential with 401 and a Basic challenge", async () => {
  await using t = await makeTestApp({ config: { dashboardPassword: "pw" } });
  const attempts: Record<string, string>[] = [
    {},
    { "X-Admin-Token": "wrong" },
    { Authorization: "Basic " + btoa("admin:nope") },
    { Authorization: "Basic " + btoa("root:pw") },
    { "X-API-KEY": "test-master-key" },
  ];
  for (const headers of attempts) {
    const res = await t.call("GET", "/admin/dashboard", { key: null, headers });
    assert.equal(res.status, 401);
    assert.equal(res.body.error.code, "unauthorized");
    assert.match(res.headers.get("www-authenticate")!, /^Basic /);
  }
  const basic = await t.call("GET", "/admin/dashboard", {
    key: null,
    headers: { Authorization: "Basic " + btoa("admin:pw") },
  });
  assert.equal(basic.status, 200);
  assert.match(basic.headers.get("content-type")!, /^text\/html/);
  assert.match(basic.text, /Intent Bus/);
});

Deno.test("an empty admin secret never matches", async () => {
  await using t = await makeTestApp({ config: { adminSecret: "" } });
  const res = await t.call("GET", "/admin/dead", {
    key: null,
    headers: { "X-Admin-Token": "" },
  });
  assert.equal(res.status, 401);
});

Deno.test("generate_key issues a working key stored only as a hash; revoke ends it at once", async () => {
  await using t = await makeTestApp();
  const res = await adminCall(t, "POST", "/admin/generate_key", {
    owner: "alice",
  });
  assert.equal(res.status, 201);
  assert.equal(res.body.owner, "alice");
  const key = res.body.api_key as string;
  assert.ok(key.length >= 40);
  const rows = await t.sql("SELECT * FROM api_keys");
  assert.equal(rows.length, 1);
  assert.equal(JSON.stringify(rows).includes(key), false);
  assert.equal((await t.call("POST", "/claim?goal=g", { key })).status, 204);
  const revoked = await adminCall(t, "POST", "/admin/revoke_key", {
    api_key: key,
  });
  assert.equal(revoked.status, 200);
  assert.equal(revoked.body.ok, true);
  assert.equal((await t.call("POST", "/claim?goal=g", { key })).status, 401);
  const again = await adminCall(t, "POST", "/admin/revoke_key", {
    api_key: key,
  });
  assert.equal(again.status, 404);
  assert.equal(
    (await adminCall(t, "POST", "/admin/revoke_key", {})).status,
    400,
  );
});

Deno.test("generate_key refuses an owner with NUL or a lone surrogate, on every store", async () => {
  await using t = await makeTestApp();
  for (
    const [owner, message] of [
      ["a\u0000b", /owner: must not contain NUL/],
      ["g\ud83d", /owner: must not contain a lone surrogate/],
      ["", /owner: must be 1 to 100 characters/],
      ["x".repeat(101), /owner: must be 1 to 100 characters/],
      [7, /owner: must be a string/],
    ] as const
  ) {
    const res = await adminCall(t, "POST", "/admin/generate_key", { owner });
    assert.equal(res.status, 400, JSON.stringify(owner));
    assert.equal(res.body.error.code, "invalid_request");
    assert.match(res.body.error.message, message);
  }
  assert.deepEqual(await t.sql("SELECT * FROM api_keys"), []);
  const emoji = await adminCall(t, "POST", "/admin/generate_key", {
    owner: "🦀".repeat(100),
  });
  assert.equal(emoji.status, 201);
  assert.equal(emoji.body.owner, "🦀".repeat(100));
});

Deno.test("purge needs confirm true and can be limited to a namespace", async () => {
  await using t = await makeTestApp();
  await publish(t, { namespace: "a" });
  await publish(t, { namespace: "b" });
  const refused = await adminCall(t, "POST", "/admin/purge", {
    namespace: "a",
  });
  assert.equal(refused.status, 400);
  assert.equal(refused.body.error.code, "invalid_request");
  assert.equal((await t.counts()).intents, 2);
  const one = await adminCall(t, "POST", "/admin/purge", {
    confirm: true,
    namespace: "a",
  });
  assert.equal(one.status, 200);
  assert.equal(one.body.deleted, 1);
  const all = await adminCall(t, "POST", "/admin/purge", { confirm: true });
  assert.equal(all.body.deleted, 1);
  assert.equal((await t.counts()).intents, 0);
});

Deno.test("a key revoked through one server stops working on another of the same database within 5 s", async () => {
  await using t = await makeTestApp();
  const other = createApp({
    store: t.store,
    clock: t.clock,
    config: { ...DEFAULT_CONFIG, masterKey: MASTER, adminSecret: ADMIN },
  });
  assert.equal(KEY_CACHE_MS, 5_000, "the delay the README states");
  const key = await t.issueKey();
  const claim = async (app: typeof other) =>
    (await app.request("http://localhost/claim?goal=g", {
      method: "POST",
      headers: { "X-API-KEY": key },
    })).status;
  assert.equal(await claim(other), 204);
  const res = await adminCall(t, "POST", "/admin/revoke_key", { api_key: key });
  assert.equal(res.status, 200);
  assert.equal(await claim(t.app), 401);
  t.clock.advance(KEY_CACHE_MS - 1);
  assert.equal(await claim(other), 204, "the cache's stated delay");
  t.clock.advance(1);
  assert.equal(await claim(other), 401);
});

Deno.test("purge refuses an empty namespace instead of purging default", async () => {
  await using t = await makeTestApp();
  await publish(t);
  const res = await adminCall(t, "POST", "/admin/purge", {
    confirm: true,
    namespace: "",
  });
  assert.equal(res.status, 400);
  assert.equal(res.body.error.code, "invalid_request");
  assert.match(res.body.error.message, /namespace: must not be empty/);
  assert.equal((await t.counts()).intents, 1);
});

Deno.test("purge deletes in chunks of 2,000 rows, each its own write", async () => {
  await using t = await makeTestApp();
  for (let i = 0; i < 4; i++) {
    const intents = Array.from(
      { length: 1000 },
      () => ({ goal: "g", payload: 1, namespace: "a" }),
    );
    const res = await t.call("POST", "/intents", { body: { intents } });
    assert.equal(res.status, 200);
  }
  await publish(t, { goal: "h", namespace: "a", max_attempts: 1 });
  await t.call("POST", "/claim?goal=h&namespace=a");
  await publish(t, { namespace: "b" });
  t.clock.advance(61_000);
  await adminCall(t, "POST", "/admin/cleanup");
  assert.equal((await t.counts()).dead_intents, 1);
  const chunks: number[] = [];
  const purge = t.store.intentPurge.bind(t.store);
  t.store.intentPurge = async (p) => {
    const n = await purge(p);
    chunks.push(n);
    return n;
  };
  const res = await adminCall(t, "POST", "/admin/purge", {
    confirm: true,
    namespace: "a",
  });
  assert.equal(res.status, 200);
  assert.equal(res.body.deleted, 4001);
  // 2,000 live and the dead one, 2,000 live, then none left.
  assert.deepEqual(chunks, [2001, 2000, 0]);
  const counts = await t.counts();
  assert.equal(counts.intents, 1);
  assert.equal(counts.dead_intents, 0);
});

Deno.test("cleanup reaps expired leases now and dead-letters a last attempt", async () => {
  await using t = await makeTestApp();
  const id = await publish(t, { max_attempts: 1 });
  await t.call("POST", "/claim?goal=g");
  t.clock.advance(61_000);
  const res = await adminCall(t, "POST", "/admin/cleanup");
  assert.equal(res.status, 200);
  assert.equal(res.body.ok, true);
  assert.equal(res.body.expired_claims_dead, 1);
  assert.equal((await t.call("GET", `/status/${id}`)).body.status, "dead");
});

Deno.test("admin sees an intent's every field; unknown ids are 404", async () => {
  await using t = await makeTestApp();
  const id = await publish(t);
  const res = await adminCall(t, "GET", `/admin/intents/${id}`);
  assert.equal(res.status, 200);
  assert.equal(res.body.id, id);
  assert.equal(res.body.payload, 1);
  assert.match(res.body.publisher, /^[0-9a-f]{64}$/);
  assert.equal(
    (await adminCall(t, "GET", `/admin/intents/${"f".repeat(32)}`)).status,
    404,
  );
  assert.equal((await adminCall(t, "GET", "/admin/intents/bad")).status, 404);
});

Deno.test("cancel dead-letters an open intent; cancelling a finished one is 409", async () => {
  await using t = await makeTestApp();
  const id = await publish(t);
  const res = await adminCall(t, "POST", `/admin/intents/${id}/cancel`);
  assert.equal(res.status, 200);
  assert.equal(res.body.status, "dead");
  const again = await adminCall(t, "POST", `/admin/intents/${id}/cancel`);
  assert.equal(again.status, 409);
  const done = await publish(t);
  const { claim_token } = (await t.call("POST", "/claim?goal=g")).body;
  await t.call("POST", `/fulfill/${done}`, { body: { claim_token } });
  const late = await adminCall(t, "POST", `/admin/intents/${done}/cancel`);
  assert.equal(late.status, 409);
  assert.equal(late.body.error.code, "invalid_state");
});

Deno.test("retry brings a dead intent back; retrying an open one is 409", async () => {
  await using t = await makeTestApp();
  const id = await publish(t);
  const open = await adminCall(t, "POST", `/admin/intents/${id}/retry`);
  assert.equal(open.status, 409);
  await adminCall(t, "POST", `/admin/intents/${id}/cancel`);
  const res = await adminCall(t, "POST", `/admin/intents/${id}/retry`);
  assert.equal(res.status, 200);
  assert.equal(res.body.status, "open");
  const claimed = await t.call("POST", "/claim?goal=g");
  assert.equal(claimed.body.id, id);
  assert.equal(claimed.body.claim_attempts, 1);
});

Deno.test("the dead letters list and detail show dead intents only", async () => {
  await using t = await makeTestApp();
  const dead = await publish(t, { namespace: "n1" });
  const alive = await publish(t, { namespace: "n1" });
  await adminCall(t, "POST", `/admin/intents/${dead}/cancel`);
  const list = await adminCall(t, "GET", "/admin/dead?namespace=n1");
  assert.equal(list.status, 200);
  assert.deepEqual(list.body.map((d: { intent_id: string }) => d.intent_id), [
    dead,
  ]);
  assert.equal(list.body[0].reason, "cancelled");
  const detail = await adminCall(t, "GET", `/admin/dead/${dead}`);
  assert.equal(detail.status, 200);
  assert.equal(detail.body.payload, 1);
  assert.equal((await adminCall(t, "GET", `/admin/dead/${alive}`)).status, 404);
});

Deno.test("the dead letters list refuses an empty goal, as redrive does", async () => {
  await using t = await makeTestApp();
  for (const goal of ["", "%20%20"]) {
    const list = await adminCall(t, "GET", `/admin/dead?goal=${goal}`);
    assert.equal(list.status, 400);
    assert.equal(list.body.error.code, "invalid_request");
    const redrive = await adminCall(t, "POST", "/admin/dead/redrive", {
      goal: decodeURIComponent(goal),
    });
    assert.equal(redrive.status, 400);
    assert.equal(list.body.error.message, redrive.body.error.message);
  }
});

Deno.test("the dead letters list and detail show when it was created and when it died, alike", async () => {
  await using t = await makeTestApp();
  const created = t.clock.now() / 1000;
  const id = await publish(t);
  t.clock.advance(5_000);
  await adminCall(t, "POST", `/admin/intents/${id}/cancel`);
  const [entry] = (await adminCall(t, "GET", "/admin/dead")).body;
  const detail = (await adminCall(t, "GET", `/admin/dead/${id}`)).body;
  for (const view of [entry, detail]) {
    assert.equal(view.created_at, created);
    assert.equal(view.died_at, created + 5);
  }
});

Deno.test("paging the dead letters with before and before_id lists each once, many deaths in one millisecond too", async () => {
  await using t = await makeTestApp();
  for (let i = 0; i < 6; i++) await publish(t, { goal: "dp", max_attempts: 1 });
  await publish(t, { goal: "other", max_attempts: 1 });
  const { intents } = (await t.call("POST", "/claim?goal=dp&max=10")).body;
  const acks = intents.map((i: { id: string; claim_token: string }) => ({
    id: i.id,
    claim_token: i.claim_token,
    status: "failed",
    error: "boom",
  }));
  assert.equal((await t.call("POST", "/ack", { body: { acks } })).status, 200);
  const seen: string[] = [];
  let page = (await adminCall(t, "GET", "/admin/dead?goal=dp&limit=2")).body;
  const first = page;
  while (page.length > 0) {
    seen.push(...page.map((d: { id: string }) => d.id));
    const last = page[page.length - 1];
    page = (await adminCall(
      t,
      "GET",
      `/admin/dead?goal=dp&limit=2&before=${last.died_at}&before_id=${last.id}`,
    )).body;
  }
  assert.equal(seen.length, 6);
  assert.deepEqual(
    [...seen].sort(),
    intents.map((i: { id: string }) => i.id).sort(),
  );
  // before alone keeps its meaning: what died strictly before that time.
  const old = await adminCall(
    t,
    "GET",
    `/admin/dead?goal=dp&before=${first[0].died_at}`,
  );
  assert.deepEqual(old.body, []);
  for (
    const [query, message] of [
      [`before_id=${first[0].id}`, /needs before/],
      ["before=1&before_id=x", /"x" is not an intent id/],
    ] as const
  ) {
    const bad = await adminCall(t, "GET", `/admin/dead?${query}`);
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, message);
  }
});

Deno.test("maintenance mode answers writes with 503 and still serves reads and admin", async () => {
  await using t = await makeTestApp({ config: { maintenanceMode: true } });
  const res = await t.call("POST", "/intent", {
    body: { goal: "g", payload: 1 },
  });
  assert.equal(res.status, 503);
  assert.equal(res.body.error.code, "maintenance");
  assert.equal((await t.counts()).intents, 0);
  assert.equal((await t.call("GET", "/get/k")).status, 404);
  assert.equal((await adminCall(t, "POST", "/admin/cleanup")).status, 200);
});

Deno.test("with HTTPS enforced, plain HTTP is 403; X-Forwarded-Proto counts only behind a trusted proxy", async () => {
  await using strict = await makeTestApp({ config: { enforceHttps: true } });
  const plain = await strict.call("POST", "/claim?goal=g", {
    headers: { "X-Forwarded-Proto": "https" },
  });
  assert.equal(plain.status, 403);
  assert.equal(plain.body.error.code, "https_required");
  assert.equal((await strict.call("GET", "/health")).status, 200);
  const tls = await strict.app.request("https://bus.example/claim?goal=g", {
    method: "POST",
    headers: { "X-API-KEY": "test-master-key" },
  });
  assert.equal(tls.status, 204);
  await using proxied = await makeTestApp({
    config: { enforceHttps: true, trustProxy: true },
  });
  const viaProxy = await proxied.call("POST", "/claim?goal=g", {
    headers: { "X-Forwarded-Proto": "https" },
  });
  assert.equal(viaProxy.status, 204);
  const upper = await proxied.call("POST", "/claim?goal=g", {
    headers: { "X-Forwarded-Proto": "HTTPS" },
  });
  assert.equal(upper.status, 204);
  const plainViaProxy = await proxied.call("POST", "/claim?goal=g", {
    headers: { "X-Forwarded-Proto": "http" },
  });
  assert.equal(plainViaProxy.status, 403);
});

Deno.test("redrive brings dead intents back by filter or ids, attempts reset", async () => {
  await using t = await makeTestApp();
  const a = await publish(t, { goal: "ga" });
  const b = await publish(t, { goal: "gb" });
  await adminCall(t, "POST", `/admin/intents/${a}/cancel`);
  await adminCall(t, "POST", `/admin/intents/${b}/cancel`);
  const bad = await adminCall(t, "POST", "/admin/dead/redrive", { ids: ["x"] });
  assert.equal(bad.status, 400);
  assert.equal(
    bad.body.error.message,
    'Invalid ids: "x" is not an intent id',
  );
  const many = await adminCall(t, "POST", "/admin/dead/redrive", {
    ids: Array.from({ length: 1001 }, () => a),
  });
  assert.match(many.body.error.message, /up to 1000 intent ids/);
  const one = await adminCall(t, "POST", "/admin/dead/redrive", { goal: "ga" });
  assert.equal(one.status, 200);
  assert.deepEqual(one.body, { ok: true, redriven: 1, ids: [a] });
  const byId = await adminCall(t, "POST", "/admin/dead/redrive", { ids: [b] });
  assert.deepEqual(byId.body.ids, [b]);
  assert.equal((await t.call("GET", `/status/${b}`)).body.status, "open");
});

Deno.test("pause stops claims of one goal and resume restarts them", async () => {
  await using t = await makeTestApp();
  const id = await publish(t, { goal: "g" });
  await publish(t, { goal: "other" });
  const paused = await adminCall(t, "POST", "/admin/pause", { goal: "g" });
  assert.deepEqual(paused.body, {
    ok: true,
    namespace: "default",
    goal: "g",
    paused: true,
  });
  assert.equal((await t.call("POST", "/claim?goal=g")).status, 204);
  assert.equal((await t.call("POST", "/claim?goal=other")).status, 200);
  assert.equal(
    (await t.call("POST", "/intent", { body: { goal: "g", payload: 2 } }))
      .status,
    201,
  );
  await adminCall(t, "POST", "/admin/resume", { goal: "g" });
  assert.equal((await t.call("POST", "/claim?goal=g")).body.id, id);
  assert.equal((await adminCall(t, "POST", "/admin/pause", {})).status, 400);
});

Deno.test("ten wrong admin credentials from an address in a minute: 429 for it until the minute ends, others unaffected", async () => {
  await using t = await makeTestApp();
  const from = (hostname: string, headers: Record<string, string>) =>
    t.app.fetch(new Request("http://localhost/admin/dead", { headers }), {
      remoteAddr: { transport: "tcp", hostname, port: 1 },
    });
  const wrong = { "X-Admin-Token": "guess" };
  const basic = { Authorization: `Basic ${btoa("admin:guess")}` };
  // No credential at all (a browser's first visit) is not a guess.
  for (let i = 0; i < 20; i++) {
    assert.equal((await from("10.0.0.9", {})).status, 401);
  }
  for (let i = 0; i < 10; i++) {
    const res = await from("10.0.0.9", i % 2 ? wrong : basic);
    assert.equal(res.status, 401);
    await res.body?.cancel();
  }
  const held = await from("10.0.0.9", { "X-Admin-Token": ADMIN });
  assert.equal(held.status, 429);
  assert.equal((await held.json()).error.code, "rate_limited");
  assert.ok(Number(held.headers.get("retry-after")) >= 1);
  // Another address is not held; the next minute frees this one.
  assert.equal(
    (await from("10.0.0.7", { "X-Admin-Token": ADMIN })).status,
    200,
  );
  t.clock.advance(60_000);
  assert.equal(
    (await from("10.0.0.9", { "X-Admin-Token": ADMIN })).status,
    200,
  );
});
