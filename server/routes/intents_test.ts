import assert from "node:assert/strict";
import { makeTestApp } from "../testing.ts";

const HOUR = 3600_000;

Deno.test("publish answers 201 with id, status published and the namespace", async () => {
  await using t = await makeTestApp();
  const res = await t.call("POST", "/intent", {
    body: { goal: " resize ", payload: { w: 1 }, namespace: "img" },
  });
  assert.equal(res.status, 201);
  assert.match(res.body.id, /^[0-9a-f]{32}$/);
  assert.equal(res.body.status, "published");
  assert.equal(res.body.namespace, "img");
  const status = await t.call("GET", `/status/${res.body.id}`);
  assert.equal(status.body.goal, "resize");
  assert.equal(status.body.status, "open");
  assert.equal(status.body.priority, 100);
  assert.equal(status.body.max_attempts, 3);
  assert.equal(status.body.visibility, "private");
});

Deno.test("publish accepts the Python SDK's body: floats for delay and backoff, all fields", async () => {
  await using t = await makeTestApp();
  const res = await t.call("POST", "/intent", {
    body:
      '{"backoff_base":5.0,"delay":0.0,"goal":"g","max_attempts":3,"namespace":"default","payload":{"k":"\\u00e9"},"priority":100,"visibility":"private"}',
    headers: {
      "Idempotency-Key": "0123456789abcdef",
      "X-Intent-Version": "7.61",
    },
  });
  assert.equal(res.status, 201);
  const status = await t.call("GET", `/status/${res.body.id}`);
  assert.equal(status.body.status, "open");
});

Deno.test("a long delay is kept: the intent expires 24 hours after it becomes due", async () => {
  await using t = await makeTestApp();
  const now = t.clock.now();
  const res = await t.call("POST", "/intent", {
    body: { goal: "later", payload: null, delay: 3 * 24 * 3600 },
  });
  assert.equal(res.status, 201);
  const s = (await t.call("GET", `/status/${res.body.id}`)).body;
  assert.equal(s.run_at, (now + 72 * HOUR) / 1000);
  assert.equal(s.expires_at, (now + 96 * HOUR) / 1000);
  assert.equal((await t.call("POST", "/claim?goal=later")).status, 204);
  t.clock.advance(72 * HOUR);
  assert.equal((await t.call("POST", "/claim?goal=later")).status, 200);
});

Deno.test("bad fields are refused with 400 invalid_request and nothing is stored", async () => {
  await using t = await makeTestApp();
  const before = await t.counts();
  const cases: unknown[] = [
    { payload: {} },
    { goal: "g" },
    { goal: "   ", payload: {} },
    { goal: "x".repeat(257), payload: {} },
    { goal: 5, payload: {} },
    { goal: "g", payload: {}, namespace: "bad ns" },
    { goal: "g", payload: {}, priority: 1001 },
    { goal: "g", payload: {}, priority: 1.5 },
    { goal: "g", payload: {}, priority: "high" },
    { goal: "g", payload: {}, max_attempts: 0 },
    { goal: "g", payload: {}, max_attempts: 21 },
    { goal: "g", payload: {}, backoff_base: 0.5 },
    { goal: "g", payload: {}, delay: -1 },
    { goal: "g", payload: {}, visibility: "secret" },
    { goal: "g", payload: {}, target_worker: "no spaces" },
    { goal: "g", payload: {}, required_capability: "x".repeat(65) },
  ];
  for (const body of cases) {
    const res = await t.call("POST", "/intent", { body });
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.equal(res.body.error.code, "invalid_request", JSON.stringify(body));
  }
  assert.deepEqual(await t.counts(), before);
});

Deno.test("malformed JSON and non-object bodies are JSON 400s that change nothing", async () => {
  await using t = await makeTestApp();
  const before = await t.counts();
  for (
    const [body, code] of [
      ["{bad", "invalid_json"],
      ['{"goal":"g",', "invalid_json"],
      ["[1,2]", "invalid_request"],
      ['"text"', "invalid_request"],
    ]
  ) {
    const res = await t.call("POST", "/intent", { body });
    assert.equal(res.status, 400, body);
    assert.equal(res.body.error.code, code, body);
  }
  assert.deepEqual(await t.counts(), before);
});

Deno.test("a payload nested deeper than 10 levels is 400 invalid_payload; 10 levels pass", async () => {
  await using t = await makeTestApp();
  const nest = (n: number): unknown => n === 0 ? 1 : [nest(n - 1)];
  const before = await t.counts();
  const deep = await t.call("POST", "/intent", {
    body: { goal: "g", payload: nest(11) },
  });
  assert.equal(deep.status, 400);
  assert.equal(deep.body.error.code, "invalid_payload");
  assert.deepEqual(await t.counts(), before);
  const ok = await t.call("POST", "/intent", {
    body: { goal: "g", payload: nest(10) },
  });
  assert.equal(ok.status, 201);
});

Deno.test("a payload over 7 KiB compact is 413 payload_too_large", async () => {
  await using t = await makeTestApp();
  const before = await t.counts();
  const res = await t.call("POST", "/intent", {
    body: { goal: "g", payload: { s: "x".repeat(7 * 1024) } },
  });
  assert.equal(res.status, 413);
  assert.equal(res.body.error.code, "payload_too_large");
  assert.deepEqual(await t.counts(), before);
  const fits = await t.call("POST", "/intent", {
    body: { goal: "g", payload: "x".repeat(7 * 1024 - 2) },
  });
  assert.equal(fits.status, 201);
});

Deno.test("a body over the size limit is 413, by Content-Length and by actual length", async () => {
  await using t = await makeTestApp({ config: { bodyBytes: 1000 } });
  const before = await t.counts();
  const big = JSON.stringify({ goal: "g", payload: "x".repeat(2000) });
  const declared = await t.call("POST", "/intent", {
    body: big,
    headers: { "Content-Length": String(big.length) },
  });
  assert.equal(declared.status, 413);
  assert.equal(declared.body.error.code, "payload_too_large");
  // A chunked body has no Content-Length: the bytes are counted as they come.
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      for (let i = 0; i < 4; i++) {
        c.enqueue(new TextEncoder().encode(big.slice(i * 600, (i + 1) * 600)));
      }
      c.close();
    },
  });
  const res = await t.app.request("http://localhost/intent", {
    method: "POST",
    headers: {
      "X-API-KEY": "test-master-key",
      "Content-Type": "application/json",
    },
    body: stream,
  });
  assert.equal(res.status, 413);
  assert.equal((await res.json()).error.code, "payload_too_large");
  assert.deepEqual(await t.counts(), before);
});

Deno.test("an idempotent replay returns the stored 201; other fields with the key are 409", async () => {
  await using t = await makeTestApp();
  const headers = { "Idempotency-Key": "order-42" };
  const body = { goal: "g", payload: { a: 1, b: 2 } };
  const first = await t.call("POST", "/intent", { body, headers });
  assert.equal(first.status, 201);
  const replay = await t.call("POST", "/intent", {
    body: '{"payload":{"b":2,"a":1},"goal":"g"}',
    headers,
  });
  assert.equal(replay.status, 201);
  assert.deepEqual(replay.body, first.body);
  const before = await t.counts();
  const conflict = await t.call("POST", "/intent", {
    body: { goal: "g", payload: { a: 2 } },
    headers,
  });
  assert.equal(conflict.status, 409);
  assert.equal(conflict.body.error.code, "idempotency_conflict");
  assert.deepEqual(await t.counts(), before);
  // Durable: still a replay a week later.
  t.clock.advance(6 * 24 * HOUR);
  const late = await t.call("POST", "/intent", { body, headers });
  assert.equal(late.body.id, first.body.id);
});

Deno.test("an issued key is capped at its open-intent quota with 429 limit_exceeded", async () => {
  await using t = await makeTestApp({ config: { openQuota: 2 } });
  const key = await t.issueKey();
  for (let i = 0; i < 2; i++) {
    const r = await t.call("POST", "/intent", {
      key,
      body: { goal: "g", payload: i },
    });
    assert.equal(r.status, 201);
  }
  const before = await t.counts();
  const res = await t.call("POST", "/intent", {
    key,
    body: { goal: "g", payload: 3 },
  });
  assert.equal(res.status, 429);
  assert.equal(res.body.error.code, "limit_exceeded");
  assert.deepEqual(await t.counts(), before);
  // The master key has no quota.
  for (let i = 0; i < 3; i++) {
    assert.equal(
      (await t.call("POST", "/intent", { body: { goal: "g", payload: i } }))
        .status,
      201,
    );
  }
});

Deno.test("a missing or unknown API key is 401 unauthorized", async () => {
  await using t = await makeTestApp();
  for (const key of [null, "", "nope"]) {
    const res = await t.call("POST", "/intent", {
      key,
      body: { goal: "g", payload: 1 },
    });
    assert.equal(res.status, 401);
    assert.equal(res.body.error.code, "unauthorized");
  }
  assert.equal((await t.counts()).intents, 0);
});

Deno.test("status and result are for the publisher, the claimer and the master; others get 404", async () => {
  await using t = await makeTestApp();
  const publisher = await t.issueKey("pub");
  const worker = await t.issueKey("worker");
  const stranger = await t.issueKey("stranger");
  const { id } = (await t.call("POST", "/intent", {
    key: publisher,
    body: { goal: "g", payload: 1, visibility: "public" },
  })).body;
  assert.equal(
    (await t.call("GET", `/status/${id}`, { key: publisher })).status,
    200,
  );
  assert.equal((await t.call("GET", `/status/${id}`)).status, 200);
  const hidden = await t.call("GET", `/result/${id}`, { key: worker });
  assert.equal(hidden.status, 404);
  assert.equal(hidden.body.error.code, "not_found");
  assert.equal(
    (await t.call("POST", "/claim?goal=g", { key: worker })).status,
    200,
  );
  assert.equal(
    (await t.call("GET", `/status/${id}`, { key: worker })).status,
    200,
  );
  assert.equal(
    (await t.call("GET", `/result/${id}`, { key: stranger })).status,
    404,
  );
});

Deno.test("result omits result_type until there is a result, and never sends null", async () => {
  await using t = await makeTestApp();
  const { id } =
    (await t.call("POST", "/intent", { body: { goal: "g", payload: 1 } })).body;
  const open = await t.call("GET", `/result/${id}`);
  assert.equal(open.status, 200);
  assert.equal(open.body.status, "open");
  assert.equal("result_type" in open.body, false);
  const claim = (await t.call("POST", "/claim?goal=g")).body;
  await t.call("POST", `/fulfill/${id}`, {
    body: {
      claim_token: claim.claim_token,
      result: "done",
      result_type: "text",
    },
  });
  const done = (await t.call("GET", `/result/${id}`)).body;
  assert.equal(done.status, "fulfilled");
  assert.equal(done.result, "done");
  assert.equal(done.result_type, "text");
  assert.equal(typeof done.completed_at, "number");
});

Deno.test("a malformed id is 404 not_found on status and result", async () => {
  await using t = await makeTestApp();
  for (
    const path of [
      "/status/xyz",
      "/result/ABCDEF0123456789ABCDEF0123456789",
      "/status/0",
    ]
  ) {
    const res = await t.call("GET", path);
    assert.equal(res.status, 404, path);
    assert.equal(res.body.error.code, "not_found");
  }
});

Deno.test("a goal or a KV key with a NUL character is refused with 400 invalid_request, and a fail's NUL kept as U+FFFD", async () => {
  // node:sqlite reads text back only up to a NUL ("a\u0000b" came back as
  // "a"); PostgreSQL refuses it.
  await using t = await makeTestApp();
  const before = await t.counts();
  const res = await t.call("POST", "/intent", {
    body: { goal: "a\u0000b", payload: 1 },
  });
  assert.equal(res.status, 400);
  assert.equal(res.body.error.code, "invalid_request");
  const kv = await t.call("POST", "/set/k%00", { body: { value: 1 } });
  assert.equal(kv.status, 400);
  assert.equal(kv.body.error.code, "invalid_request");
  assert.deepEqual(await t.counts(), before);
  const id = (await t.call("POST", "/intent", {
    body: { goal: "g", payload: { s: "x\u0000y" }, max_attempts: 2 },
  })).body.id;
  const c = await t.call("POST", "/claim?goal=g");
  assert.deepEqual(c.body.payload, { s: "x\u0000y" });
  const failed = await t.call("POST", `/fail/${id}`, {
    body: { claim_token: c.body.claim_token, error: "bad\u0000byte" },
  });
  assert.equal(failed.status, 200, failed.text);
  const got = await t.call("GET", `/result/${id}`);
  assert.equal(got.body.error, "bad\uFFFDbyte");
});

Deno.test("a lone surrogate in a goal, namespace or routing label is refused with 400 invalid_request; in a payload it is kept", async () => {
  // Stores keep text as UTF-8, where a lone surrogate has no form: a goal
  // "g\ud83d" was stored as "g\uFFFD".
  await using t = await makeTestApp();
  const before = await t.counts();
  const cases: Record<string, unknown>[] = [
    { goal: "g\ud83d" },
    { goal: "\udc00g" },
    { goal: "g\udc00\ud83d" }, // a pair in the wrong order
    { goal: " g\ud83d " },
    { goal: "g", namespace: "n\ud83d" },
    { goal: "g", target_worker: "w\ud83d" },
    { goal: "g", required_capability: "c\udfff" },
  ];
  for (const fields of cases) {
    // JSON.stringify writes a lone surrogate as its escape, "\ud83d".
    const body = JSON.stringify({ payload: 1, ...fields });
    assert.match(body, /\\ud[89a-f][0-9a-f]{2}/);
    const res = await t.call("POST", "/intent", { body });
    assert.equal(res.status, 400, body);
    assert.equal(res.body.error.code, "invalid_request", body);
  }
  const goal = await t.call("POST", "/intent", {
    body: '{"goal":"g\\ud83d","payload":1}',
  });
  assert.equal(
    goal.body.error.message,
    "Invalid goal: must not contain a lone surrogate (U+D800 to U+DFFF)",
  );
  assert.deepEqual(await t.counts(), before);
  // Pairs are whole characters, and a payload may hold any string.
  const ok = await t.call("POST", "/intent", {
    body: '{"goal":"g\\ud83d\\ude00","payload":{"s\\udc00":"a\\ud83d"}}',
  });
  assert.equal(ok.status, 201, ok.text);
  const c = await t.call("POST", "/claim?goal=g%F0%9F%98%80");
  assert.equal(c.body.goal, "g\u{1F600}");
  assert.deepEqual(c.body.payload, { "s\udc00": "a\ud83d" });
});

Deno.test("goal length is counted in code points, as the original server did: 256 emoji pass, 257 do not", async () => {
  await using t = await makeTestApp();
  for (const n of [1, 129, 200, 256]) {
    const goal = "\u{1F600}".repeat(n);
    const res = await t.call("POST", "/intent", { body: { goal, payload: n } });
    assert.equal(res.status, 201, `${n} emoji: ${res.text}`);
    const s = await t.call("GET", `/status/${res.body.id}`);
    assert.equal(s.body.goal, goal);
  }
  const mixed = "a".repeat(255) + "\u{1F600}";
  const res = await t.call("POST", "/intent", {
    body: { goal: mixed, payload: 0 },
  });
  assert.equal(res.status, 201, res.text);
  const before = await t.counts();
  for (
    const goal of [
      "\u{1F600}".repeat(257),
      "a".repeat(256) + "\u{1F600}",
      "\u{1F600}".repeat(256) + "a",
      "\u{1F600}".repeat(600),
    ]
  ) {
    const res = await t.call("POST", "/intent", { body: { goal, payload: 1 } });
    assert.equal(res.status, 400, `${goal.length} code units`);
    assert.equal(
      res.body.error.message,
      "Invalid goal: must be 1 to 256 characters",
    );
  }
  assert.deepEqual(await t.counts(), before);
  // The claim's goal, from the query, is counted the same way.
  const claim = await t.call(
    "POST",
    `/claim?goal=${encodeURIComponent("\u{1F600}".repeat(200))}`,
  );
  assert.equal(claim.status, 200, claim.text);
  assert.equal(claim.body.goal, "\u{1F600}".repeat(200));
});

Deno.test("a fail's error text is cut to 500 characters on a code-point boundary: an emoji at the cut is kept whole or dropped, never U+FFFD", async () => {
  await using t = await makeTestApp();
  const id = (await t.call("POST", "/intent", {
    body: { goal: "g", payload: 1, max_attempts: 2 },
  })).body.id;
  const c = await t.call("POST", "/claim?goal=g");
  const error = "a".repeat(499) + "\u{1F600}" + "b".repeat(100);
  const failed = await t.call("POST", `/fail/${id}`, {
    body: { claim_token: c.body.claim_token, error },
  });
  assert.equal(failed.status, 200, failed.text);
  const got = await t.call("GET", `/result/${id}`);
  assert.equal(got.body.error, "a".repeat(499) + "\u{1F600}");
});

Deno.test("a payload number out of range (1e999) is 400 invalid_payload and nothing is stored", async () => {
  await using t = await makeTestApp();
  const before = await t.counts();
  const res = await t.call("POST", "/intent", {
    body: '{"goal":"g","payload":{"x":1e999}}',
  });
  assert.equal(res.status, 400);
  assert.equal(res.body.error.code, "invalid_payload");
  assert.deepEqual(await t.counts(), before);
});
