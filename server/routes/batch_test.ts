import assert from "node:assert/strict";
import { makeTestApp } from "../testing.ts";

Deno.test("health advertises the additions clients may use", async () => {
  await using t = await makeTestApp();
  const res = await t.call("GET", "/health", { key: null });
  assert.deepEqual(
    [...res.body.features].sort(),
    ["batch_ack", "batch_claim", "batch_publish", "longpoll", "release"],
  );
});

Deno.test("batch publish answers one result per item, in order, errors in place", async () => {
  await using t = await makeTestApp();
  const res = await t.call("POST", "/intents", {
    body: {
      intents: [
        { goal: "g", payload: 1, idempotency_key: "k1" },
        { goal: "", payload: 2 },
        { goal: "g", payload: 3, priority: 5 },
      ],
    },
  });
  assert.equal(res.status, 200);
  const [a, bad, c] = res.body.results;
  assert.match(a.id, /^[0-9a-f]{32}$/);
  assert.equal(a.status, "published");
  assert.equal(bad.error.code, "invalid_request");
  assert.equal(c.namespace, "default");
  assert.equal((await t.counts()).intents, 2);
  const replay = await t.call("POST", "/intents", {
    body: { intents: [{ goal: "g", payload: 1, idempotency_key: "k1" }] },
  });
  assert.equal(replay.body.results[0].id, a.id);
});

Deno.test("an atomic batch with one bad item stores nothing", async () => {
  await using t = await makeTestApp();
  const res = await t.call("POST", "/intents", {
    body: {
      atomic: true,
      intents: [{ goal: "g", payload: 1 }, { goal: "g" }],
    },
  });
  assert.equal(res.status, 400);
  assert.equal(res.body.error.code, "invalid_request");
  assert.equal((await t.counts()).intents, 0);
});

Deno.test("an atomic that is not a boolean is refused, naming it, and nothing is stored", async () => {
  await using t = await makeTestApp();
  for (const atomic of ["true", 1, 0, "false", {}, []]) {
    const res = await t.call("POST", "/intents", {
      body: {
        atomic,
        intents: [{ goal: "a", payload: 1 }, { goal: "" }],
      },
    });
    assert.equal(res.status, 400, JSON.stringify(atomic));
    assert.equal(res.body.error.code, "invalid_request");
    assert.match(res.body.error.message, /^Invalid atomic: /);
  }
  assert.equal((await t.counts()).intents, 0);
  // Absent, null and false all mean one item at a time.
  for (const atomic of [undefined, null, false]) {
    const res = await t.call("POST", "/intents", {
      body: { atomic, intents: [{ goal: "a", payload: 1 }, { goal: "" }] },
    });
    assert.equal(res.status, 200);
    assert.equal(res.body.results[1].error.code, "invalid_request");
  }
  assert.equal((await t.counts()).intents, 3);
});

Deno.test("a batch item's idempotency key with a lone surrogate or NUL is refused; it is counted in code points", async () => {
  await using t = await makeTestApp();
  // "k\ud83d" and "k\ud83e" were both stored as "k\uFFFD": the second was
  // answered as a replay of the first.
  const res = await t.call("POST", "/intents", {
    body: {
      intents: ["k\ud83d", "k\ud83e", "\udc00", "a\u0000b", "", 5].map((
        idempotency_key,
      ) => ({ goal: "g", payload: 1, idempotency_key })),
    },
  });
  assert.equal(res.status, 200);
  const messages = res.body.results.map((r: { error: { message: string } }) =>
    r.error.message
  );
  assert.deepEqual(messages, [
    "Invalid idempotency_key: must not contain a lone surrogate (U+D800 to U+DFFF)",
    "Invalid idempotency_key: must not contain a lone surrogate (U+D800 to U+DFFF)",
    "Invalid idempotency_key: must not contain a lone surrogate (U+D800 to U+DFFF)",
    "Invalid idempotency_key: must not contain NUL (U+0000)",
    "Invalid idempotency_key: must be 1 to 256 characters",
    "Invalid idempotency_key: must be a string",
  ]);
  assert.equal((await t.counts()).idempotency_keys, 0);
  const emoji = "\u{1F600}".repeat(256);
  const ok = await t.call("POST", "/intents", {
    body: {
      intents: [
        { goal: "g", payload: 1, idempotency_key: emoji },
        { goal: "g", payload: 1, idempotency_key: emoji + "a" },
      ],
    },
  });
  const [a, long] = ok.body.results;
  assert.equal(a.status, "published");
  assert.equal(long.error.code, "invalid_request");
  const replay = await t.call("POST", "/intents", {
    body: { intents: [{ goal: "g", payload: 1, idempotency_key: emoji }] },
  });
  assert.equal(replay.body.results[0].id, a.id);
});

Deno.test("batch publish refuses an empty or oversized list", async () => {
  await using t = await makeTestApp();
  for (
    const intents of [[], "x", Array(1001).fill({ goal: "g", payload: 1 })]
  ) {
    const res = await t.call("POST", "/intents", { body: { intents } });
    assert.equal(res.status, 400);
  }
});

Deno.test("batch ack fulfils and fails each item on its own", async () => {
  await using t = await makeTestApp();
  await t.call("POST", "/intents", {
    body: { intents: [1, 2, 3].map((n) => ({ goal: "g", payload: n })) },
  });
  const claimed = (await t.call("POST", "/claim?goal=g&max=3")).body.intents;
  const [a, b, c] = claimed;
  const res = await t.call("POST", "/ack", {
    body: {
      acks: [
        {
          id: a.id,
          claim_token: a.claim_token,
          status: "fulfilled",
          result: { n: 1 },
        },
        { id: b.id, claim_token: b.claim_token, status: "failed", error: "no" },
        { id: c.id, claim_token: "0".repeat(32), status: "fulfilled" },
        { id: "bad", claim_token: "x", status: "fulfilled" },
        { id: c.id, claim_token: c.claim_token, status: "maybe" },
      ],
    },
  });
  assert.equal(res.status, 200);
  const r = res.body.results;
  assert.deepEqual(r[0], { ok: true, id: a.id, status: "fulfilled" });
  assert.deepEqual(r[1], { ok: true, id: b.id, status: "open" });
  assert.equal(r[2].error.code, "lease_lost");
  assert.equal(r[3].error.code, "not_found");
  assert.equal(r[4].error.code, "invalid_request");
  assert.equal((await t.call("GET", `/status/${c.id}`)).body.status, "claimed");
});
