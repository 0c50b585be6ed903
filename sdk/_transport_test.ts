import assert from "node:assert/strict";
import {
  AuthError,
  BusyError,
  IntentBusError,
  ValidationError,
} from "../core/errors.ts";
import { canonicalTarget, verifyRequest } from "../core/signing.ts";
import { queryString, Transport, type TransportOptions } from "./_transport.ts";
import { errorReply, scriptedServer } from "./testing/scripted_server.ts";

function transport(url: string, extra: Partial<TransportOptions> = {}) {
  return new Transport({
    url,
    apiKey: "test-key",
    sign: false,
    timeoutMs: 10_000,
    retries: 3,
    retryBaseMs: 1,
    retryMaxMs: 5,
    fetch: globalThis.fetch,
    ...extra,
  });
}

const created = () =>
  Response.json({ id: "a".repeat(32), status: "published" }, { status: 201 });

Deno.test("a 503 is retried and the idempotency key stays the same", async () => {
  await using server = scriptedServer((_r, n) =>
    n < 2
      ? errorReply(503, "database_busy", { "Retry-After": "0.01" })
      : created()
  );
  const reply = await transport(server.url).request({
    method: "POST",
    path: "/intent",
    body: { goal: "g", payload: 1 },
    idempotencyKey: "key-1",
  });
  assert.equal(reply.status, 201);
  assert.equal(server.requests.length, 3);
  const keys = server.requests.map((r) => r.headers.get("Idempotency-Key"));
  assert.deepEqual(keys, ["key-1", "key-1", "key-1"]);
});

Deno.test("Retry-After is honoured instead of the backoff", async () => {
  await using server = scriptedServer((_r, n) =>
    n === 0
      ? errorReply(429, "rate_limited", { "Retry-After": "0.02" })
      : created()
  );
  // A backoff ceiling of ten minutes: only Retry-After lets this finish, and
  // the signal turns a regression into a failure rather than a hang.
  const t = transport(server.url, {
    retryBaseMs: 600_000,
    retryMaxMs: 600_000,
  });
  const reply = await t.request({
    method: "POST",
    path: "/intent",
    body: {},
    signal: AbortSignal.timeout(20_000),
  });
  assert.equal(reply.status, 201);
  assert.equal(server.requests.length, 2);
});

Deno.test("retries stop after the configured count with the named error", async () => {
  await using server = scriptedServer(() =>
    errorReply(503, "database_busy", { "Retry-After": "0" })
  );
  await assert.rejects(
    transport(server.url, { retries: 2 }).request({
      method: "GET",
      path: "/x",
    }),
    (e) => e instanceof BusyError && e.code === "database_busy",
  );
  assert.equal(server.requests.length, 3);
});

Deno.test("a connection broken mid-answer is retried as a network error", async () => {
  await using server = scriptedServer((_r, n) =>
    n === 0
      ? new Response(
        new ReadableStream({
          pull(c) {
            c.enqueue(new TextEncoder().encode("{"));
            c.error(new Error("cut"));
          },
        }),
      )
      : created()
  );
  const reply = await transport(server.url).request({
    method: "POST",
    path: "/intent",
    body: {},
  });
  assert.equal(reply.status, 201);
  assert.equal(server.requests.length, 2);
});

Deno.test("client errors are not retried", async () => {
  await using server = scriptedServer((_r, n) =>
    n === 0
      ? errorReply(401, "unauthorized")
      : errorReply(400, "invalid_payload")
  );
  const t = transport(server.url);
  await assert.rejects(t.request({ method: "GET", path: "/a" }), AuthError);
  await assert.rejects(
    t.request({ method: "GET", path: "/b" }),
    (e) => e instanceof ValidationError && e.code === "invalid_payload",
  );
  assert.equal(server.requests.length, 2);
});

Deno.test("a slow answer times out with code timeout", async () => {
  const { promise: never, resolve } = Promise.withResolvers<Response>();
  await using server = scriptedServer(() => never);
  await assert.rejects(
    transport(server.url, { retries: 0, timeoutMs: 50 }).request({
      method: "GET",
      path: "/slow",
    }),
    (e) => e instanceof IntentBusError && e.code === "timeout",
  );
  resolve(new Response(null, { status: 204 }));
});

Deno.test("the caller's signal cancels a retry wait", async () => {
  await using server = scriptedServer(() =>
    errorReply(503, "database_busy", { "Retry-After": "600" })
  );
  const controller = new AbortController();
  const pending = transport(server.url).request({
    method: "GET",
    path: "/x",
    signal: controller.signal,
  });
  const deadline = Date.now() + 10_000;
  while (server.requests.length === 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 5));
  }
  controller.abort(new Error("stop now"));
  await assert.rejects(pending, { message: "stop now" });
  assert.equal(server.requests.length, 1);
});

Deno.test("signed requests verify with core/signing and retries get a fresh nonce", async () => {
  const verdicts: boolean[] = [];
  await using server = scriptedServer(async (r, n) => {
    verdicts.push(
      await verifyRequest("test-key", {
        method: r.method,
        target: canonicalTarget(r.target),
        timestamp: r.headers.get("X-Timestamp") ?? "",
        nonce: r.headers.get("X-Nonce") ?? "",
        body: r.body,
      }, r.headers.get("X-Signature") ?? ""),
    );
    return n === 0
      ? errorReply(503, "database_busy", { "Retry-After": "0" })
      : created();
  });
  await transport(server.url, { sign: true }).request({
    method: "POST",
    path: "/claim",
    query: { namespace: "n", goal: "a/b c", wait: 1 },
    body: { "é": [1, 2] },
  });
  assert.deepEqual(verdicts, [true, true]);
  const nonces = server.requests.map((r) => r.headers.get("X-Nonce"));
  assert.equal(new Set(nonces).size, 2);
  assert.match(nonces[0] ?? "", /^[0-9a-f]{32}$/);
  assert.equal(server.requests[0].url.searchParams.get("goal"), "a/b c");
});

Deno.test("query strings are sorted, RFC 3986 encoded and skip empty values", () => {
  assert.equal(
    queryString({
      namespace: "default",
      goal: "a/b c",
      max: undefined,
      wait: 5,
    }),
    "?goal=a%2Fb%20c&namespace=default&wait=5",
  );
  assert.equal(queryString({}), "");
});
