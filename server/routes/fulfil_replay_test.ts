// Idempotent acknowledgements over HTTP: a fulfil replayed after a lost
// answer succeeds; another claim's token is still a lost lease (404).
import assert from "node:assert/strict";
import { makeTestApp, type TestApp } from "../testing.ts";

async function claimed(t: TestApp, goal: string) {
  const pub = await t.call("POST", "/intent", { body: { goal, payload: 1 } });
  assert.equal(pub.status, 201, pub.text);
  const res = await t.call("POST", `/claim?goal=${goal}`);
  assert.equal(res.status, 200, res.text);
  return { id: res.body.id as string, token: res.body.claim_token as string };
}

Deno.test("a fulfil replayed with the same token answers 200 and keeps the first result", async () => {
  await using t = await makeTestApp();
  const { id, token } = await claimed(t, "replay");
  const body = { claim_token: token, result: { n: 1 }, result_type: "json" };
  const first = await t.call("POST", `/fulfill/${id}`, { body });
  assert.equal(first.status, 200, first.text);
  const again = await t.call("POST", `/fulfill/${id}`, {
    body: { ...body, result: "other" },
  });
  assert.equal(again.status, 200, again.text);
  assert.deepEqual(again.body, { ok: true, id });
  const result = await t.call("GET", `/result/${id}`);
  assert.equal(result.body.status, "fulfilled");
  assert.deepEqual(result.body.result, { n: 1 });
});

Deno.test("a replay through /ack succeeds too, and another token is lease lost", async () => {
  await using t = await makeTestApp();
  const { id, token } = await claimed(t, "replay.ack");
  const ack = { id, claim_token: token, status: "fulfilled", result: 2 };
  for (let i = 0; i < 2; i++) {
    const res = await t.call("POST", "/ack", { body: { acks: [ack] } });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body.results, [{ ok: true, id, status: "fulfilled" }]);
  }
  const stale = await t.call("POST", `/fulfill/${id}`, {
    body: { claim_token: "b".repeat(32), result: 3 },
  });
  assert.equal(stale.status, 404, stale.text);
  assert.equal(stale.body.error.code, "lease_lost");
});
