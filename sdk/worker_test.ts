import assert from "node:assert/strict";
import { IntentClient } from "./client.ts";
import { startBusServer } from "./testing/bus_server.ts";
import {
  errorReply,
  type Recorded,
  scriptedServer,
} from "./testing/scripted_server.ts";
import type { Ack } from "./types.ts";
import { Worker } from "./worker.ts";
import { until } from "./testing/until.ts";

const ID = "0123456789abcdef0123456789abcdef";

function claimAnswer(lease = 60, id = ID) {
  return {
    id,
    namespace: "default",
    goal: "g",
    payload: { n: 1 },
    claim_attempts: 1,
    priority: 100,
    target_worker: null,
    required_capability: null,
    claim_token: `tok-${id}`,
    claim_timeout: lease,
  };
}

/** A one-intent queue: the first claim gets it, then 204s. */
function oneIntentServer(features: string[], lease = 60) {
  let handedOut = false;
  return scriptedServer((r: Recorded) => {
    const path = r.url.pathname;
    if (path === "/health") return Response.json({ ok: true, features });
    if (path === "/claim") {
      if (handedOut) {
        return new Response(null, {
          status: 204,
          headers: { "Retry-After": "0.01" },
        });
      }
      handedOut = true;
      const one = claimAnswer(lease);
      const max = r.url.searchParams.get("max");
      return Response.json(max ? { intents: [one] } : one);
    }
    if (path === "/ack") {
      const acks = (r.json as { acks: unknown[] }).acks;
      return Response.json({ results: acks.map(() => ({ ok: true })) });
    }
    return Response.json({ ok: true, id: ID });
  });
}

/**
 * A one-intent queue whose acknowledgements (`/ack`, `/fulfill`, `/fail`)
 * first go through `hook`: a response it gives is the answer.
 */
function oneIntentServerWith(
  features: string[],
  hook: (r: Recorded) => Response | undefined,
  lease = 60,
) {
  let handedOut = false;
  return scriptedServer((r: Recorded) => {
    const path = r.url.pathname;
    if (path === "/health") return Response.json({ ok: true, features });
    if (path === "/claim") {
      if (handedOut) {
        return new Response(null, {
          status: 204,
          headers: { "Retry-After": "1" },
        });
      }
      handedOut = true;
      return Response.json(claimAnswer(lease));
    }
    const answer = hook(r);
    if (answer) return answer;
    if (path === "/ack") {
      const acks = (r.json as { acks: unknown[] }).acks;
      return Response.json({ results: acks.map(() => ({ ok: true })) });
    }
    return Response.json({ ok: true, id: ID });
  });
}

const client = (url: string) =>
  new IntentClient({ url, apiKey: "k", retryBaseMs: 1, retryMaxMs: 5 });

Deno.test("against a real server with extensions off the worker polls plainly and fulfils with the handler's result", async () => {
  await using bus = await startBusServer({ args: ["--no-extensions"] });
  const sent: { url: URL; body: unknown }[] = [];
  const recording: typeof fetch = (input, init) => {
    const raw = init?.body;
    const text = raw instanceof Uint8Array
      ? new TextDecoder().decode(raw)
      : typeof raw === "string"
      ? raw
      : "";
    const body = text === "" ? null : JSON.parse(text);
    sent.push({ url: new URL(String(input)), body });
    return fetch(input, init);
  };
  const c = new IntentClient({
    url: bus.url,
    apiKey: bus.masterKey,
    fetch: recording,
  });
  const { id } = await c.publish("g", { n: 1 });
  const worker = new Worker(c, {
    goal: "g",
    signals: false,
    idleMinMs: 1,
    idleMaxMs: 20,
    handler: (intent) => ({ doubled: (intent.payload as { n: number }).n * 2 }),
  });
  const done = worker.start();
  await until(() => worker.stats.fulfilled === 1, "fulfil");
  await until(
    () => sent.filter((r) => r.url.pathname === "/claim").length >= 2,
    "polling after the intent",
  );
  await worker.stop();
  await done;
  const fulfil = sent.find((r) => r.url.pathname === `/fulfill/${id}`);
  assert.equal(
    (fulfil?.body as { claim_token?: string }).claim_token?.length,
    32,
  );
  assert.deepEqual(
    { ...(fulfil?.body as object), claim_token: "t" },
    { claim_token: "t", result: { doubled: 2 }, result_type: "json" },
  );
  for (const r of sent.filter((r) => r.url.pathname === "/claim")) {
    assert.equal(r.url.searchParams.get("wait"), null, "no long-poll");
    assert.equal(r.url.searchParams.get("max"), null, "no batch claim");
  }
  assert.deepEqual((await c.result(id)).result, { doubled: 2 });
});

Deno.test("with extensions the worker long-polls, batch-claims and acks through /ack", async () => {
  await using server = oneIntentServer([
    "longpoll",
    "batch_claim",
    "batch_ack",
  ]);
  const worker = new Worker(client(server.url), {
    goal: "g",
    concurrency: 8,
    waitSeconds: 5,
    leaseSeconds: 30,
    signals: false,
    handler: () => {
      throw new Error("x".repeat(600));
    },
  });
  worker.start();
  await until(() => worker.stats.failed === 1, "failure acknowledged");
  await worker.stop();
  const claim = server.requests.find((r) => r.url.pathname === "/claim");
  assert.equal(claim?.url.searchParams.get("wait"), "5");
  assert.equal(claim?.url.searchParams.get("max"), "8");
  assert.equal(claim?.url.searchParams.get("lease"), "30");
  const ack = server.requests.find((r) => r.url.pathname === "/ack");
  const [item] = (ack?.json as { acks: Record<string, string>[] }).acks;
  assert.equal(item.status, "failed");
  assert.equal(item.claim_token, `tok-${ID}`);
  assert.equal(item.error.length, 500);
});

Deno.test("a refused heartbeat aborts the handler and nothing is acknowledged", async () => {
  const server = scriptedServer((r) => {
    const path = r.url.pathname;
    if (path === "/health") return Response.json({ ok: true, features: [] });
    if (path === "/claim") {
      // A lease of 0.03 s makes the heartbeat come after 10 ms.
      return r.url.searchParams.get("lease") && server.requests.length < 3
        ? Response.json(claimAnswer(0.03))
        : new Response(null, { status: 204, headers: { "Retry-After": "1" } });
    }
    return Response.json({ error: { code: "not_found", message: "gone" } }, {
      status: 404,
    });
  });
  await using _ = server;
  let reason: unknown;
  const worker = new Worker(client(server.url), {
    goal: "g",
    signals: false,
    onError: () => {},
    handler: (_i, { signal }) =>
      new Promise((resolve) => {
        signal.addEventListener("abort", () => {
          reason = signal.reason;
          resolve({ late: true });
        });
      }),
  });
  worker.start();
  await until(() => worker.stats.lost === 1, "lease loss");
  await worker.stop();
  assert.equal((reason as Error).name, "LeaseLostError");
  const paths = server.requests.map((r) => r.url.pathname);
  assert.ok(paths.includes(`/extend_claim/${ID}`));
  assert.ok(!paths.some((p) => p.startsWith("/fulfill")), "no fulfil");
});

Deno.test("stop lets handlers finish within the grace period, then releases the rest", async () => {
  await using server = oneIntentServer(["release"]);
  let aborted = false;
  const worker = new Worker(client(server.url), {
    goal: "g",
    signals: false,
    gracePeriodMs: 50,
    idleMinMs: 1,
    handler: (_i, { signal }) =>
      new Promise((resolve) => {
        signal.addEventListener("abort", () => {
          aborted = true;
          resolve();
        });
      }),
  });
  worker.start();
  await until(() => worker.running === 1, "handler running");
  await worker.stop();
  assert.equal(worker.stats.released, 1);
  assert.ok(aborted, "the handler's signal fired");
  const release = server.requests.find((r) =>
    r.url.pathname === `/release/${ID}`
  );
  assert.deepEqual(release?.json, { claim_token: `tok-${ID}` });
  assert.ok(
    !server.requests.some((r) => r.url.pathname.startsWith("/fulfill")),
  );
});

Deno.test("a handler that finishes within the grace period is fulfilled after stop", async () => {
  await using server = oneIntentServer([]);
  let finish = () => {};
  const worker = new Worker(client(server.url), {
    goal: "g",
    signals: false,
    gracePeriodMs: 10_000,
    handler: () => new Promise<string>((r) => (finish = () => r("done"))),
  });
  worker.start();
  await until(() => worker.running === 1, "handler running");
  const stopped = worker.stop();
  finish();
  await stopped;
  assert.equal(worker.stats.fulfilled, 1);
  assert.equal(worker.stats.released, 0);
});

Deno.test("a worker refuses nonsense options", () => {
  const c = new IntentClient({ url: "http://127.0.0.1:1", apiKey: "k" });
  const handler = () => {};
  assert.throws(() => new Worker(c, { goal: "", handler }), TypeError);
  assert.throws(
    () => new Worker(c, { goal: "g", handler, concurrency: 0 }),
    RangeError,
  );
  assert.throws(
    () => new Worker(c, { goal: "g", handler, leaseSeconds: 5 }),
    RangeError,
  );
  assert.throws(
    () => new Worker(c, { goal: "g", handler, waitSeconds: 31 }),
    RangeError,
  );
  assert.throws(
    () => new Worker(c, { goal: "g", handler, batch: 101 }),
    RangeError,
  );
  // The server takes only whole numbers here: every claim would fail.
  for (
    const bad of [
      { leaseSeconds: 30.5 },
      { batch: 2.5 },
      { concurrency: 1.5 },
      { waitSeconds: NaN },
      { gracePeriodMs: -1 },
      { gracePeriodMs: Infinity },
      { idleMinMs: 500, idleMaxMs: 100 },
    ]
  ) {
    assert.throws(
      () => new Worker(c, { goal: "g", handler, ...bad }),
      RangeError,
      JSON.stringify(bad),
    );
  }
  assert.ok(new Worker(c, { goal: "g", handler, waitSeconds: 2.5 }));
  // A large concurrency claims in batches of at most 100.
  assert.ok(new Worker(c, { goal: "g", handler, concurrency: 500 }));
});

Deno.test("errors the worker survives go to onError, even when onError throws", async () => {
  let claims = 0;
  await using server = scriptedServer((r) => {
    const path = r.url.pathname;
    if (path === "/health") return Response.json({ ok: true });
    if (path === "/claim") {
      return claims++ === 0
        ? Response.json(claimAnswer())
        : new Response(null, {
          status: 204,
          headers: { "Retry-After": "0.01" },
        });
    }
    return Response.json({ error: { code: "internal", message: "boom" } }, {
      status: 500,
    });
  });
  const seen: string[] = [];
  const worker = new Worker(client(server.url), {
    goal: "g",
    signals: false,
    onError: (e) => {
      seen.push((e as { code?: string }).code ?? "?");
      throw new Error("careless callback");
    },
    handler: () => "result",
  });
  worker.start();
  await until(() => seen.length === 1, "fulfil error reported");
  await worker.stop();
  assert.deepEqual(seen, ["internal"]);
  assert.equal(worker.stats.fulfilled, 0);
});

Deno.test("a result the server refuses becomes a failure", async () => {
  let handedOut = false;
  await using server = scriptedServer((r) => {
    const path = r.url.pathname;
    if (path === "/health") return Response.json({ ok: true });
    if (path === "/claim") {
      if (handedOut) return new Response(null, { status: 204 });
      handedOut = true;
      return Response.json(claimAnswer());
    }
    if (path.startsWith("/fulfill")) {
      return Response.json({
        error: { code: "payload_too_large", message: "Result over 7 KiB" },
      }, { status: 413 });
    }
    return Response.json({ ok: true });
  });
  const acked: Ack[] = [];
  const worker = new Worker(client(server.url), {
    goal: "g",
    signals: false,
    handler: () => "x".repeat(10_000),
    onAck: (intent, ack) => {
      assert.equal(intent.id, ack.id);
      acked.push(ack);
    },
  });
  worker.start();
  await until(() => worker.stats.failed === 1, "failure sent");
  await worker.stop();
  assert.equal(worker.stats.fulfilled, 0);
  assert.deepEqual(acked.map((a) => a.status), ["failed"], "one ack counted");
  const fail = server.requests.find((r) => r.url.pathname === `/fail/${ID}`);
  assert.deepEqual(fail?.json, {
    claim_token: `tok-${ID}`,
    error: "Result refused: Result over 7 KiB",
  });
});

Deno.test("a worker that cannot reach its server still stops at once", async () => {
  const gone = scriptedServer(() => new Response(null, { status: 204 }));
  await gone.close();
  const errors: unknown[] = [];
  const worker = new Worker(
    new IntentClient({ url: gone.url, apiKey: "k", retries: 0 }),
    {
      goal: "g",
      signals: false,
      handler: () => {},
      onError: (e) => void errors.push(e),
    },
  );
  worker.start();
  await until(() => errors.length >= 1, "connection error reported");
  await worker.stop();
  assert.equal((errors[0] as { code?: string }).code, "network_error");
  assert.equal(worker.stats.claimed, 0);
});

/** A body that breaks off mid-answer: a network error to the client. */
const cut = () =>
  new Response(
    new ReadableStream({
      pull(c) {
        c.enqueue(new TextEncoder().encode("{"));
        c.error(new Error("cut"));
      },
    }),
  );

for (const features of [[], ["batch_ack"]]) {
  Deno.test(
    `an acknowledgement the server cannot take yet is tried again while the lease lasts${
      features.length ? " (batch ack)" : ""
    }`,
    async () => {
      let acks = 0;
      await using server = oneIntentServerWith(features, () => {
        // The client's own four attempts all break, then one 507.
        acks++;
        if (acks <= 4) return cut();
        if (acks === 5) return errorReply(507, "storage_full");
        return undefined;
      });
      const errors: unknown[] = [];
      const worker = new Worker(client(server.url), {
        goal: "g",
        signals: false,
        onError: (e) => void errors.push(e),
        handler: () => "kept",
      });
      worker.start();
      await until(() => worker.stats.fulfilled === 1, "fulfilled at last");
      await worker.stop();
      assert.equal(acks, 6);
      assert.deepEqual(errors, [], "nothing given up");
    },
  );
}

Deno.test("an acknowledgement is given up once the lease it needs has ended", async () => {
  let acks = 0;
  // A lease of 3 s: room for the worker's own tries after the client's (its
  // first comes within 1 s, the next within 2), and retrying past it would be
  // pointless. With 1 s, a loaded machine left no time for one.
  await using server = oneIntentServerWith([], (r) => {
    // Heartbeats are answered: what is given up is the acknowledgement.
    if (r.url.pathname.startsWith("/extend_claim/")) return undefined;
    acks++;
    return errorReply(503, "database_busy");
  }, 3);
  const errors: { code?: string }[] = [];
  const worker = new Worker(client(server.url), {
    goal: "g",
    signals: false,
    onError: (e) => void errors.push(e as { code?: string }),
    handler: () => "lost",
  });
  const began = Date.now();
  worker.start();
  await until(() => errors.length === 1, "given up", 10_000);
  // Given up at the lease's end, not after the retries' full course.
  assert.ok(Date.now() - began < 6_000, `${Date.now() - began} ms`);
  assert.equal(errors[0].code, "database_busy");
  const sent = acks;
  assert.ok(sent > 4, "tried again after the client's own retries");
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(acks, sent, "no attempt after giving up");
  await worker.stop();
  assert.equal(worker.stats.fulfilled, 0);
});

Deno.test("after the grace period a server that does not answer is given up within seconds", async () => {
  const hung: (() => void)[] = [];
  const hang = () =>
    new Promise<Response>((r) =>
      hung.push(() => r(Response.json({ ok: true })))
    );
  let claims = 0;
  await using server = scriptedServer((r) => {
    const path = r.url.pathname;
    if (path === "/health") {
      return Response.json({ ok: true, features: ["release"] });
    }
    if (path === "/claim") {
      return claims < 2
        ? Response.json(claimAnswer(60, String(claims++).repeat(32)))
        : new Response(null, { status: 204, headers: { "Retry-After": "1" } });
    }
    // Neither the fulfil nor the release is ever answered.
    return hang();
  });
  const errors: { code?: string }[] = [];
  const worker = new Worker(client(server.url), {
    goal: "g",
    concurrency: 2,
    signals: false,
    gracePeriodMs: 50,
    onError: (e) => void errors.push(e as { code?: string }),
    // The first returns at once (its fulfil hangs); the second never does.
    handler: (i) => i.id[0] === "0" ? "done" : new Promise(() => {}),
  });
  try {
    worker.start();
    await until(() => hung.length === 1 && worker.running === 1, "stuck");
    const began = Date.now();
    await worker.stop();
    const took = Date.now() - began;
    // Before: the client's four 30 s attempts, for each request.
    assert.ok(took > 4_000 && took < 7_000, `stopped after ${took} ms`);
    assert.deepEqual(errors.map((e) => e.code), ["timeout", "timeout"]);
    assert.deepEqual(worker.stats.released, 0);
    assert.ok(
      server.requests.some((r) => r.url.pathname.startsWith("/release")),
    );
  } finally {
    for (const answer of hung) answer();
  }
});
