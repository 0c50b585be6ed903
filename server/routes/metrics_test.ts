import assert from "node:assert/strict";
import { ADMIN, makeTestApp, TEST_STORE } from "../testing.ts";

Deno.test("metrics need the bearer token or an admin credential", async () => {
  await using t = await makeTestApp({ config: { metricsToken: "m-token" } });
  const attempts: Record<string, string>[] = [
    {},
    { Authorization: "Bearer wrong" },
    { "X-API-KEY": "test-master-key" },
  ];
  for (const headers of attempts) {
    const res = await t.call("GET", "/metrics", { key: null, headers });
    assert.equal(res.status, 401);
    assert.equal(res.body.error.code, "unauthorized");
  }
  const bearer = await t.call("GET", "/metrics", {
    key: null,
    headers: { Authorization: "Bearer m-token" },
  });
  assert.equal(bearer.status, 200);
  const admin = await t.call("GET", "/metrics", {
    key: null,
    headers: { "X-Admin-Token": ADMIN },
  });
  assert.equal(admin.status, 200);
});

Deno.test("metrics report queue gauges and request counters in Prometheus text", async () => {
  await using t = await makeTestApp({ config: { metricsToken: "m" } });
  await t.call("POST", "/intent", { body: { goal: "g", payload: 1 } });
  await t.call("POST", "/intent", { body: { goal: "g", payload: 2 } });
  await t.call("POST", "/claim?goal=g");
  const res = await t.call("GET", "/metrics", {
    key: null,
    headers: { Authorization: "Bearer m" },
  });
  assert.match(res.headers.get("content-type")!, /^text\/plain/);
  assert.match(res.text, /^intent_bus_intents\{state="open"\} 1$/m);
  assert.match(res.text, /^intent_bus_intents\{state="claimed"\} 1$/m);
  assert.match(
    res.text,
    /^intent_bus_http_requests_total\{route="\/intent",method="POST",status="201"\} 2$/m,
  );
  assert.match(res.text, /^intent_bus_http_request_duration_seconds_count 3$/m);
});

Deno.test("metrics report the store's own: the WAL and its checkpoint thread, or PostgreSQL's pool", async () => {
  await using t = await makeTestApp({
    config: { metricsToken: "m" },
    checkpoint: "thread",
  });
  for (let i = 0; i < 3; i++) {
    await t.call("POST", "/intent", { body: { goal: "g", payload: i } });
  }
  const read = async () =>
    (await t.call("GET", "/metrics", {
      key: null,
      headers: { Authorization: "Bearer m" },
    })).text;
  const value = (text: string, name: string) => {
    const m = text.match(new RegExp(`^intent_bus_${name} (\\d+)$`, "m"));
    assert.ok(m, `no intent_bus_${name} in\n${text}`);
    assert.match(text, new RegExp(`^# HELP intent_bus_${name} \\S`, "m"));
    assert.match(
      text,
      new RegExp(`^# TYPE intent_bus_${name} (gauge|counter)$`, "m"),
    );
    return Number(m[1]);
  };
  if (TEST_STORE === "postgres") {
    const text = await read();
    const open = value(text, "pg_pool_connections");
    assert.ok(open >= 1);
    assert.ok(value(text, "pg_pool_idle_connections") <= open);
    assert.equal(value(text, "pg_pool_waiting"), 0);
    assert.doesNotMatch(text, /intent_bus_sqlite_/);
    return;
  }
  // The commits started a pass on the thread; it answers shortly.
  let text = await read();
  const deadline = Date.now() + 10_000;
  while (value(text, "sqlite_checkpoint_passes_total") === 0) {
    assert.ok(Date.now() < deadline, "no checkpoint pass within 10 s");
    await new Promise((r) => setTimeout(r, 20));
    text = await read();
  }
  const peak = value(text, "sqlite_wal_peak_frames");
  assert.ok(peak > 0);
  assert.ok(value(text, "sqlite_wal_frames") <= peak);
  assert.equal(value(text, "sqlite_wal_rewinds_total"), 0);
  assert.equal(value(text, "sqlite_wal_rewinds_missed_total"), 0);
  assert.equal(value(text, "sqlite_write_stalls_total"), 0);
  assert.equal(value(text, "sqlite_checkpoint_errors_total"), 0);
  assert.doesNotMatch(text, /intent_bus_pg_/);
});

Deno.test("metrics and the dashboard list at most 500 goals, those holding the most, and count the rest", async () => {
  await using t = await makeTestApp({ config: { metricsToken: "m" } });
  const items = Array.from({ length: 520 }, (_, i) => ({
    goal: `g${i}`,
    payload: i,
  }));
  for (let i = 0; i < items.length; i += 260) {
    const res = await t.call("POST", "/intents", {
      body: { intents: items.slice(i, i + 260) },
    });
    assert.equal(
      res.body.results.filter((r: { status: string }) =>
        r.status === "published"
      ).length,
      260,
    );
  }
  // One goal with more: it must be among those listed.
  await t.call("POST", "/intent", { body: { goal: "g519", payload: "more" } });
  const res = await t.call("GET", "/metrics", {
    key: null,
    headers: { Authorization: "Bearer m" },
  });
  const goals = new Set(
    [...res.text.matchAll(/^intent_bus_goal_intents\{[^}]*goal="([^"]+)"/gm)]
      .map((m) => m[1]),
  );
  assert.equal(goals.size, 500);
  assert.ok(goals.has("g519"));
  assert.match(res.text, /^intent_bus_goals_unlisted 20$/m);
  const page = await t.call("GET", "/admin/dashboard", {
    key: null,
    headers: { "X-Admin-Token": ADMIN },
  });
  assert.equal(page.text.match(/<tr><td>/g)?.length, 500);
  assert.match(
    page.text,
    /20 more goals, holding fewer intents, are not shown/,
  );
});
