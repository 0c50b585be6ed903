import assert from "node:assert/strict";
import { ADMIN, makeTestApp } from "../testing.ts";

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
