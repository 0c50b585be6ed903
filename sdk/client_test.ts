import assert from "node:assert/strict";
import {
  IntentBusError,
  LeaseLostError,
  NotFoundError,
  ValidationError,
} from "../core/errors.ts";
import type { JsonValue } from "../core/intent.ts";
import { BODY_BUDGET } from "./_pack.ts";
import { IntentClient } from "./client.ts";
import type { Ack } from "./types.ts";
import { errorReply, scriptedServer } from "./testing/scripted_server.ts";

const ID = "0123456789abcdef0123456789abcdef";
const claimed = (id = ID) => ({
  id,
  goal: "g",
  claim_token: "t",
  claim_timeout: 60,
});

function client(url: string) {
  return new IntentClient({ url, apiKey: "k", retryBaseMs: 1, retryMaxMs: 2 });
}

/** A server answering `/health` with `features`, and `route` otherwise. */
function serverWith(
  features: string[],
  route: (
    path: string,
    json: unknown,
    q: URLSearchParams,
  ) => Response | Promise<Response>,
) {
  return scriptedServer((r) =>
    r.url.pathname === "/health"
      ? Response.json({ ok: true, features })
      : route(r.url.pathname, r.json, r.url.searchParams)
  );
}

Deno.test("a client needs an explicit http(s) URL", () => {
  // @ts-expect-error: the URL is required.
  assert.throws(() => new IntentClient({}), TypeError);
  assert.throws(() => new IntentClient({ url: "localhost:8080" }), TypeError);
});

Deno.test("the API key comes from INTENT_API_KEY when not given", async () => {
  await using server = serverWith([], () => Response.json({ value: 1 }));
  Deno.env.set("INTENT_API_KEY", "from-env");
  try {
    await new IntentClient({ url: server.url }).kvGet("x");
  } finally {
    Deno.env.delete("INTENT_API_KEY");
  }
  assert.equal(server.requests[0].headers.get("X-API-KEY"), "from-env");
});

Deno.test("publish sends snake_case fields, an idempotency key and worker identity", async () => {
  await using server = serverWith(
    [],
    () =>
      Response.json({ id: ID, status: "published", namespace: "n" }, {
        status: 201,
      }),
  );
  const bus = new IntentClient({
    url: server.url + "/",
    apiKey: "k",
    workerId: "w1",
    capabilities: ["gpu", "ssd"],
  });
  const p = await bus.publish("g", { a: 1 }, {
    namespace: "n",
    maxAttempts: 5,
    targetWorker: "w2",
  });
  assert.deepEqual(p, { id: ID, status: "published", namespace: "n" });
  const [r] = server.requests;
  assert.deepEqual(r.json, {
    goal: "g",
    payload: { a: 1 },
    namespace: "n",
    max_attempts: 5,
    target_worker: "w2",
  });
  assert.match(r.headers.get("Idempotency-Key") ?? "", /^[0-9a-f]{32}$/);
  assert.equal(r.headers.get("X-Worker-ID"), "w1");
  assert.equal(r.headers.get("X-Worker-Capabilities"), "gpu,ssd");
  assert.equal(r.headers.get("Content-Type"), "application/json");
});

Deno.test("claim answers null on 204 and poll exposes Retry-After", async () => {
  await using server = serverWith(
    [],
    () =>
      new Response(null, { status: 204, headers: { "Retry-After": "1.5" } }),
  );
  const bus = client(server.url);
  assert.equal(await bus.claim("g"), null);
  assert.deepEqual(await bus.poll("g"), { intents: [], retryAfter: 1.5 });
  assert.equal(server.requests[0].url.searchParams.get("namespace"), "default");
});

Deno.test("claimMany asks for a batch only when the server offers it", async () => {
  const route = (_p: string, _j: unknown, q: URLSearchParams) =>
    q.get("max")
      ? Response.json({ intents: [claimed(), claimed("f".repeat(32))] })
      : Response.json(claimed());
  await using plain = serverWith([], route);
  const one = await client(plain.url).claimMany("g", 10);
  assert.equal(one.length, 1);
  assert.equal(one[0].claimToken, "t");
  assert.equal(one[0].leaseSeconds, 60);
  await using batch = serverWith(["batch_claim"], route);
  assert.equal(
    (await client(batch.url).claimMany("g", 10, { lease: 30 })).length,
    2,
  );
  assert.equal(batch.requests[1].url.searchParams.get("max"), "10");
  assert.equal(batch.requests[1].url.searchParams.get("lease"), "30");
});

Deno.test("publishMany uses /intents when offered and publishes one by one otherwise", async () => {
  const items = [{ goal: "g", payload: 1 }, { goal: "", payload: 2 }];
  await using plain = serverWith(
    [],
    (_p, j) =>
      (j as { goal: string }).goal === ""
        ? errorReply(400, "invalid_request")
        : Response.json({ id: ID, status: "published" }, { status: 201 }),
  );
  const seq = await client(plain.url).publishMany(items);
  assert.equal(seq[0].ok, true);
  assert.ok(!seq[1].ok && seq[1].error instanceof ValidationError);
  await assert.rejects(
    client(plain.url).publishMany(items, { atomic: true }),
    IntentBusError,
  );

  await using batch = serverWith(
    ["batch_publish"],
    () =>
      Response.json({
        results: [{ id: ID, status: "published" }, {
          error: { code: "invalid_request", message: "goal" },
        }],
      }),
  );
  const res = await client(batch.url).publishMany(items, { atomic: false });
  assert.deepEqual(res[0], { ok: true, id: ID, status: "published" });
  assert.ok(!res[1].ok && res[1].error.code === "invalid_request");
  const sent = batch.requests[1].json as { intents: Record<string, unknown>[] };
  assert.equal(sent.intents.length, 2);
  assert.notEqual(
    sent.intents[0].idempotency_key,
    sent.intents[1].idempotency_key,
  );
});

Deno.test("publishMany keeps the ids of the requests that went through when a later one fails", async () => {
  const text = "x".repeat(400_000);
  const items = [0, 1, 2].map((n) => ({ goal: "g", payload: { n, text } }));
  let calls = 0;
  await using server = serverWith(["batch_publish"], (_p, j) => {
    if (++calls > 1) return errorReply(500, "internal_error");
    return Response.json({
      results: (j as { intents: { payload: { n: number } }[] }).intents.map(
        (it) => ({ id: String(it.payload.n).repeat(32), status: "published" }),
      ),
    });
  });
  const res = await client(server.url).publishMany(items);
  assert.deepEqual(res.slice(0, 2).map((r) => r.ok && r.id[0]), ["0", "1"]);
  assert.ok(!res[2].ok && res[2].error.code === "internal_error");
  // Atomic is one request: its failure is thrown.
  calls = 1;
  await assert.rejects(
    client(server.url).publishMany(items.slice(0, 2), { atomic: true }),
    (e) => e instanceof IntentBusError && e.code === "internal_error",
  );
});

Deno.test("publishMany keeps each request under the body limit and refuses alone what cannot go", async () => {
  const text = "x".repeat(400_000);
  const items = [
    { goal: "g", payload: { n: 0, text } },
    { goal: "g", payload: { n: 1, text } },
    { goal: "g", payload: { n: 2, text } },
    { goal: "g", payload: "y".repeat(BODY_BUDGET) },
    { goal: "g", payload: { n: 1n } as unknown as JsonValue },
  ];
  await using server = serverWith(["batch_publish"], (_p, j) =>
    Response.json({
      results: (j as { intents: { payload: { n: number } }[] }).intents.map(
        (it) => ({ id: String(it.payload.n).repeat(32), status: "published" }),
      ),
    }));
  const res = await client(server.url).publishMany(items);
  assert.deepEqual(
    res.slice(0, 3).map((r) => r.ok && r.id[0]),
    ["0", "1", "2"],
  );
  assert.ok(!res[3].ok && res[3].error.code === "payload_too_large");
  assert.ok(!res[4].ok && res[4].error.code === "invalid_json");
  assert.match(
    (res[4] as { error: Error }).error.message,
    /^Payload is not JSON: .*BigInt/,
  );
  const sent = server.requests.filter((r) => r.url.pathname === "/intents");
  assert.deepEqual(
    sent.map((r) => (r.json as { intents: unknown[] }).intents.length),
    [2, 1],
  );
  for (const r of sent) assert.ok(r.body.length <= BODY_BUDGET);
  // Atomic needs one request and nothing bad: it sends nothing at all.
  for (const some of [items.slice(0, 3), items.slice(3, 4), items.slice(4)]) {
    await assert.rejects(
      client(server.url).publishMany(some, { atomic: true }),
      IntentBusError,
    );
  }
  assert.equal(
    server.requests.filter((r) => r.url.pathname === "/intents").length,
    2,
  );
});

Deno.test("a 404 on a lease route is LeaseLostError, elsewhere NotFoundError", async () => {
  await using server = serverWith([], () => errorReply(404, "not_found"));
  const bus = client(server.url);
  await assert.rejects(bus.fulfil(ID, "t", 1), LeaseLostError);
  await assert.rejects(bus.fail(ID, "t", new Error("x")), LeaseLostError);
  await assert.rejects(bus.extend(ID, "t", 30), LeaseLostError);
  await assert.rejects(bus.release(ID, "t"), LeaseLostError);
  await assert.rejects(bus.status(ID), NotFoundError);
  assert.equal(await bus.kvGet("missing"), undefined);
});

Deno.test("ack goes through /ack when offered and one by one otherwise", async () => {
  const acks = [
    {
      id: ID,
      claimToken: "t",
      status: "fulfilled" as const,
      result: "r",
      resultType: "text" as const,
    },
    {
      id: "f".repeat(32),
      claimToken: "u",
      status: "failed" as const,
      error: "bad",
    },
  ];
  await using batch = serverWith(
    ["batch_ack"],
    () =>
      Response.json({
        results: [{ id: ID, ok: true }, {
          error: { code: "not_found", message: "lost" },
        }],
      }),
  );
  const r = await client(batch.url).ack(acks);
  assert.deepEqual(r[0], { ok: true, id: ID });
  assert.ok(!r[1].ok && r[1].error instanceof LeaseLostError);
  assert.deepEqual((batch.requests[1].json as { acks: unknown[] }).acks[0], {
    id: ID,
    claim_token: "t",
    status: "fulfilled",
    result: "r",
    result_type: "text",
  });

  await using plain = serverWith(
    [],
    (p) =>
      p.startsWith("/fail")
        ? errorReply(404, "not_found")
        : Response.json({ ok: true }),
  );
  const s = await client(plain.url).ack(acks);
  assert.deepEqual(s.map((x) => x.ok), [true, false]);
  assert.deepEqual(plain.requests.slice(1).map((x) => x.url.pathname), [
    `/fulfill/${ID}`,
    `/fail/${"f".repeat(32)}`,
  ]);
});

Deno.test("ack refuses a result that cannot be encoded alone and sends the others", async () => {
  const circular: Record<string, unknown> = {};
  circular.self = circular;
  const acks: Ack[] = ["a", "b", "c", "d"].map((x, i) => ({
    id: x.repeat(32),
    claimToken: x,
    status: "fulfilled",
    result: [{ ok: i }, { n: 1n }, "fine", circular][i] as JsonValue,
  }));
  const allOk = (j: unknown) =>
    Response.json({
      results: (j as { acks: { id: string }[] }).acks.map(({ id }) => ({
        ok: true,
        id,
      })),
    });
  for (const features of [["batch_ack"], []]) {
    await using server = serverWith(
      features,
      (_p, j) => j && "acks" in (j as object) ? allOk(j) : Response.json({}),
    );
    const r = await client(server.url).ack(acks);
    assert.deepEqual(
      r.map((x) => x.ok),
      [true, false, true, false],
      `${features}`,
    );
    for (const bad of [r[1], r[3]]) {
      assert.ok(!bad.ok && bad.error instanceof ValidationError);
      assert.equal(bad.error.code, "invalid_json");
      assert.match(bad.error.message, /^Result is not JSON: /);
    }
    const sent = server.requests.slice(1).flatMap((x) =>
      x.url.pathname === "/ack"
        ? (x.json as { acks: { id: string }[] }).acks.map((a) => a.id[0])
        : [x.url.pathname.split("/")[2][0]]
    );
    assert.deepEqual(sent, ["a", "c"]);
    // A lone bad result is refused without a request.
    const before = server.requests.length;
    const [lone] = await client(server.url).ack([acks[1]]);
    assert.ok(!lone.ok && lone.error.code === "invalid_json");
    assert.equal(server.requests.length, before + 1, "only /health");
  }
});

Deno.test("ack keeps each request under the body limit and a failed request fails only its own acks", async () => {
  const text = "x".repeat(400_000);
  const acks: Ack[] = ["a", "b", "c", "d"].map((x) => ({
    id: x.repeat(32),
    claimToken: x,
    status: "fulfilled",
    result: x === "d" ? "y".repeat(BODY_BUDGET) : text,
  }));
  let n = 0;
  await using server = serverWith(
    ["batch_ack"],
    (_p, j) =>
      n++ === 0
        ? Response.json({
          results: (j as { acks: unknown[] }).acks.map(() => ({ ok: true })),
        })
        : errorReply(500, "internal"),
  );
  const r = await client(server.url).ack(acks);
  assert.deepEqual(r.map((x) => x.ok), [true, true, false, false]);
  assert.ok(!r[2].ok && r[2].error.code === "internal");
  assert.ok(!r[3].ok && r[3].error.code === "payload_too_large");
  const sent = server.requests.filter((x) => x.url.pathname === "/ack");
  assert.deepEqual(
    sent.map((x) => (x.json as { acks: unknown[] }).acks.length),
    [2, 1],
  );
  for (const x of sent) assert.ok(x.body.length <= BODY_BUDGET);
});

Deno.test("admin calls carry the admin token", async () => {
  await using server = serverWith(
    [],
    () => Response.json({ api_key: "new", owner: "o" }, { status: 201 }),
  );
  const bus = new IntentClient({ url: server.url, adminToken: "adm" });
  assert.deepEqual(await bus.adminGenerateKey("o"), {
    api_key: "new",
    owner: "o",
  });
  assert.equal(server.requests[0].headers.get("X-Admin-Token"), "adm");
  assert.equal(server.requests[0].headers.get("X-API-KEY"), null);
});

Deno.test("a long-poll's timeout grows by its wait", async () => {
  await using server = serverWith(["longpoll"], async () => {
    await new Promise((r) => setTimeout(r, 300));
    return new Response(null, { status: 204 });
  });
  const bus = new IntentClient({
    url: server.url,
    apiKey: "k",
    timeoutMs: 50,
    retries: 0,
  });
  assert.equal(await bus.claim("g", { wait: 2 }), null);
  assert.equal(server.requests[0].url.searchParams.get("wait"), "2");
  await assert.rejects(
    bus.claim("g"),
    (e) => e instanceof IntentBusError && e.code === "timeout",
  );
});
