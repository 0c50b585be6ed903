import assert from "node:assert/strict";
import { makeTestApp } from "../testing.ts";

Deno.test("a request signed like the Python SDK is accepted, %2F in the query included", async () => {
  await using t = await makeTestApp();
  const pub = await t.signed("POST", "/intent", {
    body:
      '{"goal":"a/b","max_attempts":3,"namespace":"default","payload":{"k":"\\u00e9"},"priority":100}',
    headers: { "Idempotency-Key": "f".repeat(32) },
  });
  assert.equal(pub.status, 201, pub.text);
  const claim = await t.signed("POST", "/claim?goal=a%2Fb&namespace=default", {
    headers: { "X-Worker-ID": "w1" },
  });
  assert.equal(claim.status, 200, claim.text);
  assert.equal(claim.body.goal, "a/b");
  const status = await t.signed("GET", `/status/${pub.body.id}`);
  assert.equal(status.status, 200);
  const fulfil = await t.signed("POST", `/fulfill/${pub.body.id}`, {
    body:
      `{"claim_token":"${claim.body.claim_token}","result":{"ok":true},"result_type":"json"}`,
  });
  assert.equal(fulfil.status, 200, fulfil.text);
});

Deno.test("a signed request from an issued key is accepted", async () => {
  await using t = await makeTestApp();
  const key = await t.issueKey();
  const res = await t.signed("POST", "/claim?goal=g&namespace=default", {
    key,
  });
  assert.equal(res.status, 204);
});

Deno.test("a tampered body, path or signature is 403 invalid_signature and changes nothing", async () => {
  await using t = await makeTestApp();
  const base = await t.signed("POST", "/intent", {
    body: '{"goal":"g","payload":1}',
  });
  assert.equal(base.status, 201);
  const before = await t.counts();
  const timestamp = String(Math.floor(t.clock.now() / 1000));
  const sigFor = async (body: string, path: string) => {
    const { signRequest } = await import("../../core/signing.ts");
    return signRequest("test-master-key", {
      method: "POST",
      target: path,
      timestamp,
      nonce: "n".repeat(32),
      body: new TextEncoder().encode(body),
    });
  };
  const good = await sigFor('{"goal":"g","payload":1}', "/intent");
  const cases = [
    { body: '{"goal":"g","payload":2}', path: "/intent", sig: good },
    { body: '{"goal":"g","payload":1}', path: "/intent?x=1", sig: good },
    { body: '{"goal":"g","payload":1}', path: "/intent", sig: "0".repeat(64) },
  ];
  for (const c of cases) {
    const res = await t.call("POST", c.path, {
      body: c.body,
      headers: {
        "X-Timestamp": timestamp,
        "X-Nonce": "n".repeat(32),
        "X-Signature": c.sig,
      },
    });
    assert.equal(res.status, 403);
    assert.equal(res.body.error.code, "invalid_signature");
  }
  assert.deepEqual(await t.counts(), before);
});

Deno.test("a replayed nonce is 403 invalid_signature", async () => {
  await using t = await makeTestApp();
  const nonce = "0123456789abcdef0123456789abcdef";
  const first = await t.signed("POST", "/claim?goal=g", { nonce });
  assert.equal(first.status, 204);
  const replay = await t.signed("POST", "/claim?goal=g", { nonce });
  assert.equal(replay.status, 403);
  assert.equal(replay.body.error.code, "invalid_signature");
  assert.match(replay.body.error.message, /Replay/);
});

Deno.test("a timestamp more than 300 s away is 403 invalid_signature", async () => {
  await using t = await makeTestApp();
  const now = Math.floor(t.clock.now() / 1000);
  for (const ts of [now - 301, now + 301]) {
    const res = await t.signed("POST", "/claim?goal=g", {
      timestamp: String(ts),
    });
    assert.equal(res.status, 403);
    assert.equal(res.body.error.code, "invalid_signature");
  }
  const edge = await t.signed("POST", "/claim?goal=g", {
    timestamp: String(now - 300),
  });
  assert.equal(edge.status, 204);
});

Deno.test("a signature without timestamp or nonce is 403", async () => {
  await using t = await makeTestApp();
  const res = await t.call("POST", "/claim?goal=g", {
    headers: { "X-Signature": "ab" },
  });
  assert.equal(res.status, 403);
  assert.equal(res.body.error.code, "invalid_signature");
});

Deno.test("with signatures required, an unsigned request is 403 and a signed one passes", async () => {
  await using t = await makeTestApp({ config: { requireSignatures: true } });
  const unsigned = await t.call("POST", "/claim?goal=g");
  assert.equal(unsigned.status, 403);
  assert.equal(unsigned.body.error.code, "invalid_signature");
  assert.equal((await t.signed("POST", "/claim?goal=g")).status, 204);
  assert.equal((await t.call("GET", "/health")).status, 200);
});

Deno.test("the signature is checked against the key sent: someone else's signature fails", async () => {
  await using t = await makeTestApp();
  const a = await t.issueKey("a");
  const b = await t.issueKey("b");
  const { signRequest } = await import("../../core/signing.ts");
  const timestamp = String(Math.floor(t.clock.now() / 1000));
  const sig = await signRequest(a, {
    method: "POST",
    target: "/claim?goal=g",
    timestamp,
    nonce: "m".repeat(32),
    body: new Uint8Array(),
  });
  const res = await t.call("POST", "/claim?goal=g", {
    key: b,
    headers: {
      "X-Timestamp": timestamp,
      "X-Nonce": "m".repeat(32),
      "X-Signature": sig,
    },
  });
  assert.equal(res.status, 403);
});
