/**
 * The SDK against the real server, started as a child process per test.
 */
import assert from "node:assert/strict";
import { AuthError, IntentBusError, LeaseLostError } from "../core/errors.ts";
import { IntentClient } from "./client.ts";
import { startBusServer } from "./testing/bus_server.ts";
import { Worker } from "./worker.ts";
import type { ClientOptions } from "./types.ts";
import type { JsonValue } from "../core/intent.ts";
import { until } from "./testing/until.ts";

const quiet = () => {};

Deno.test("publish, claim, fulfil and read the result from a real server", async () => {
  await using bus = await startBusServer();
  const c = new IntentClient({ url: bus.url, apiKey: bus.masterKey });
  const { id, namespace } = await c.publish("e2e.basic", { n: 21 });
  assert.equal(namespace, "default");
  assert.equal((await c.status(id)).status, "open");
  const job = await c.claim("e2e.basic");
  assert.ok(job);
  assert.equal(job.id, id);
  assert.deepEqual(job.payload, { n: 21 });
  assert.equal(job.leaseSeconds, 60);
  assert.equal(await c.claim("e2e.basic"), null);
  await c.extend(job.id, job.claimToken, 30);
  await c.fulfil(job.id, job.claimToken, { answer: 42 });
  const done = await c.result(id);
  assert.equal(done.status, "fulfilled");
  assert.deepEqual(done.result, { answer: 42 });
  await assert.rejects(c.fulfil(job.id, "stale-token", 1), LeaseLostError);
  await c.kvSet("k", { deep: [1, "two"] }, { ttl: 60 });
  assert.deepEqual(await c.kvGet("k"), { deep: [1, "two"] });
  assert.equal(await c.kvGet("absent"), undefined);
});

// Compiles only where inputs take interface types (JsonInput): an interface
// has no index signature, so TypeScript refused it as a JsonValue.
interface Thumb {
  src: string;
  width: number;
}
interface Done {
  ok: boolean;
  bytes: number;
}

Deno.test("payloads, results and values typed with an interface go through publish, a worker, fulfil and KV", async () => {
  await using bus = await startBusServer();
  const c = new IntentClient({ url: bus.url, apiKey: bus.masterKey });
  const thumb: Thumb = { src: "a.png", width: 320 };
  const { id } = await c.publish("e2e.iface", thumb);
  const [many] = await c.publishMany([{ goal: "e2e.iface", payload: thumb }]);
  assert.ok(many.ok);
  const worker = new Worker(c, {
    goal: "e2e.iface",
    signals: false,
    idleMinMs: 5,
    onError: quiet,
    handler: (intent): Done => {
      const { width } = intent.payload as unknown as Thumb;
      return { ok: true, bytes: width * 2 };
    },
  });
  worker.start();
  await until(() => worker.stats.fulfilled === 2, "2 fulfilled");
  await worker.stop();
  assert.deepEqual((await c.result(id)).result, { ok: true, bytes: 640 });
  const done: Done = { ok: true, bytes: 1 };
  await c.kvSet("iface", done, { ttl: 60 });
  assert.deepEqual(await c.kvGet("iface"), done);
});

Deno.test("a failed intent comes back with its error and publishMany works either way", async () => {
  await using bus = await startBusServer();
  const c = new IntentClient({ url: bus.url, apiKey: bus.masterKey });
  const results = await c.publishMany([
    { goal: "e2e.many", payload: 1, backoffBase: 1 },
    { goal: "e2e.many", payload: 2, priority: 5000 },
  ]);
  assert.equal(results[0].ok, true);
  assert.ok(!results[1].ok && results[1].error.code === "invalid_request");
  const job = await c.claim("e2e.many");
  assert.ok(job);
  await c.fail(job.id, job.claimToken, new Error("disk full"));
  const s = await c.status(job.id);
  assert.equal(s.status, "open");
  assert.equal(s.last_error, "disk full");
});

Deno.test("a worker runs 4 handlers at once over 40 intents, each exactly once", async () => {
  await using bus = await startBusServer();
  const c = new IntentClient({ url: bus.url, apiKey: bus.masterKey });
  const ids = new Set<string>();
  for (let i = 0; i < 40; i++) ids.add((await c.publish("e2e.conc", { i })).id);
  const seen = new Map<string, number>();
  let running = 0;
  let peak = 0;
  const worker = new Worker(c, {
    goal: "e2e.conc",
    concurrency: 4,
    signals: false,
    idleMinMs: 5,
    onError: quiet,
    handler: async (intent) => {
      seen.set(intent.id, (seen.get(intent.id) ?? 0) + 1);
      running++;
      peak = Math.max(peak, running);
      // The first handlers wait for each other: proof that 4 run at once.
      if (seen.size <= 4) await until(() => peak >= 4, "4 concurrent handlers");
      running--;
      return { i: (intent.payload as { i: number }).i };
    },
  });
  worker.start();
  await until(() => worker.stats.fulfilled === 40, "40 fulfilled", 60_000);
  await worker.stop();
  assert.equal(peak, 4);
  assert.equal(seen.size, 40);
  assert.ok([...seen.values()].every((n) => n === 1), "each handled once");
  assert.deepEqual(new Set(seen.keys()), ids);
  for (const id of ids) assert.equal((await c.status(id)).status, "fulfilled");
});

Deno.test("heartbeats keep a long job's lease past its length", async () => {
  await using bus = await startBusServer();
  const c = new IntentClient({ url: bus.url, apiKey: bus.masterKey });
  const { id } = await c.publish("e2e.long", {});
  const lapses: string[] = [];
  let checks = 0;
  const worker = new Worker(c, {
    goal: "e2e.long",
    leaseSeconds: 10,
    signals: false,
    onError: quiet,
    handler: async () => {
      const began = Date.now();
      // Work for longer than the 10 s lease, checking the lease stays live.
      while (Date.now() - began < 12_500) {
        const s = await c.status(id);
        const end = Number(s.claim_expires_at) * 1000;
        if (s.status !== "claimed" || !(end > Date.now())) {
          lapses.push(`${s.status} until ${end}`);
        }
        checks++;
        await new Promise((r) => setTimeout(r, 250));
      }
      return "finished";
    },
  });
  worker.start();
  await until(() => worker.stats.fulfilled === 1, "long job done", 30_000);
  await worker.stop();
  assert.ok(checks > 20);
  assert.deepEqual(lapses, []);
  const r = await c.result(id);
  assert.equal(r.status, "fulfilled");
  assert.equal(r.result, "finished");
  assert.equal(r.claim_attempts, 1);
});

Deno.test("a cancelled intent's heartbeat fails and the handler is aborted", async () => {
  await using bus = await startBusServer();
  const c = new IntentClient({
    url: bus.url,
    apiKey: bus.masterKey,
    adminToken: bus.adminToken,
  });
  const { id } = await c.publish("e2e.cancel", {});
  let reason: unknown;
  const worker = new Worker(c, {
    goal: "e2e.cancel",
    leaseSeconds: 10,
    signals: false,
    onError: quiet,
    handler: async (_i, { signal }) => {
      await c.adminCancel(id);
      await new Promise((r) => signal.addEventListener("abort", r));
      reason = signal.reason;
      return "too late";
    },
  });
  worker.start();
  await until(() => worker.stats.lost === 1, "lease lost", 30_000);
  await worker.stop();
  assert.ok(reason instanceof LeaseLostError);
  assert.equal((await c.status(id)).status, "dead");
});

Deno.test("signed requests are accepted and a tampered body is refused", async () => {
  await using bus = await startBusServer({
    env: { BUS_REQUIRE_SIGNATURES: "true" },
  });
  const opts: ClientOptions = {
    url: bus.url,
    apiKey: bus.masterKey,
    sign: true,
    retries: 0,
  };
  const signed = new IntentClient(opts);
  const { id } = await signed.publish("e2e.sig", { a: "é/b" });
  const job = await signed.claim("e2e.sig", { namespace: "default" });
  assert.equal(job?.id, id);
  await assert.rejects(
    new IntentClient({ ...opts, sign: false }).status(id),
    (e) => e instanceof AuthError && e.code === "invalid_signature",
  );
  // Changes the body after it was signed.
  const tamper: typeof fetch = (input, init) => {
    const body = init?.body as Uint8Array | undefined;
    const forged = body
      ? new TextEncoder().encode(
        new TextDecoder().decode(body).replace("1", "2"),
      )
      : body;
    return fetch(input, { ...init, body: forged });
  };
  await assert.rejects(
    new IntentClient({ ...opts, fetch: tamper }).publish("e2e.sig", 1),
    (e) => e instanceof AuthError && e.code === "invalid_signature",
  );
});

/** A fetch that records every URL it sends; answers pass through unchanged. */
function recording(seen: URL[]): typeof fetch {
  return (input, init) => {
    seen.push(new URL(input instanceof Request ? input.url : String(input)));
    return fetch(input, init);
  };
}

Deno.test("against a server with extensions off the client publishes, claims and acks one by one", async () => {
  await using bus = await startBusServer({ args: ["--no-extensions"] });
  const seen: URL[] = [];
  const c = new IntentClient({
    url: bus.url,
    apiKey: bus.masterKey,
    fetch: recording(seen),
  });
  assert.equal((await c.health()).features, undefined);
  assert.deepEqual([...await c.features()], []);
  const published = await c.publishMany(
    Array.from({ length: 3 }, (_, i) => ({ goal: "e2e.off", payload: i })),
  );
  assert.ok(published.every((r) => r.ok));
  await assert.rejects(
    c.publishMany([{ goal: "e2e.off", payload: 9 }], { atomic: true }),
    (e) => e instanceof IntentBusError && e.code === "unsupported",
  );
  const first = await c.claimMany("e2e.off", 10, { lease: 20, wait: 5 });
  assert.equal(first.length, 1, "no batch claim: one at a time");
  assert.equal(first[0].leaseSeconds, 60, "the server ignores lease");
  const second = await c.claimMany("e2e.off", 10);
  const acks = await c.ack([
    { id: first[0].id, claimToken: first[0].claimToken, status: "fulfilled" },
    {
      id: second[0].id,
      claimToken: second[0].claimToken,
      status: "failed",
      error: "nope",
    },
  ]);
  assert.deepEqual(acks.map((a) => a.ok), [true, true]);
  assert.equal((await c.status(first[0].id)).status, "fulfilled");
  assert.equal((await c.status(second[0].id)).last_error, "nope");
  const paths = seen.map((u) => u.pathname);
  assert.equal(paths.filter((p) => p === "/intent").length, 3);
  assert.ok(paths.includes(`/fulfill/${first[0].id}`));
  assert.ok(paths.includes(`/fail/${second[0].id}`));
  assert.ok(!paths.includes("/intents") && !paths.includes("/ack"));
  for (const u of seen.filter((u) => u.pathname === "/claim")) {
    assert.equal(u.searchParams.get("max"), null, "no batch asked");
  }
});

Deno.test("against a server with extensions off a worker polls with backoff and acks one by one", async () => {
  await using bus = await startBusServer({ env: { BUS_EXTENSIONS: "false" } });
  const seen: URL[] = [];
  const c = new IntentClient({
    url: bus.url,
    apiKey: bus.masterKey,
    fetch: recording(seen),
  });
  const results = await c.publishMany(
    Array.from({ length: 12 }, (_, i) => ({ goal: "e2e.plain", payload: i })),
  );
  assert.ok(results.every((r) => r.ok));
  const worker = new Worker(c, {
    goal: "e2e.plain",
    concurrency: 3,
    signals: false,
    idleMinMs: 5,
    idleMaxMs: 50,
    onError: quiet,
    handler: (i) => i.payload,
  });
  worker.start();
  await until(() => worker.stats.fulfilled === 12, "12 fulfilled");
  // Idle now: the worker keeps polling plainly (no long-poll to wait in).
  const claimsBefore = seen.filter((u) => u.pathname === "/claim").length;
  await until(
    () =>
      seen.filter((u) => u.pathname === "/claim").length >= claimsBefore + 3,
    "idle polls",
  );
  await worker.stop();
  assert.equal(worker.stats.failed, 0);
  const paths = seen.map((u) => u.pathname);
  assert.equal(paths.filter((p) => p.startsWith("/fulfill/")).length, 12);
  assert.ok(!paths.includes("/intents") && !paths.includes("/ack"));
  for (const u of seen.filter((u) => u.pathname === "/claim")) {
    assert.equal(u.searchParams.get("wait"), null, "no long-poll");
    assert.equal(u.searchParams.get("max"), null, "no batch claim");
  }
  for (const r of results) {
    assert.ok(r.ok);
    assert.equal((await c.result(r.id)).status, "fulfilled");
  }
});

Deno.test("with extensions an idle worker long-polls and wakes on publish", async () => {
  await using bus = await startBusServer();
  const claims: number[] = [];
  const counting: typeof fetch = (input, init) => {
    if (String(input).includes("/claim?")) claims.push(Date.now());
    return fetch(input, init);
  };
  const c = new IntentClient({
    url: bus.url,
    apiKey: bus.masterKey,
    fetch: counting,
  });
  assert.ok(
    (await c.features()).has("longpoll"),
    "our server offers long-poll",
  );
  const worker = new Worker(c, {
    goal: "e2e.wake",
    concurrency: 2,
    waitSeconds: 30,
    signals: false,
    onError: quiet,
    handler: (i) => ({ echo: i.payload }),
  });
  worker.start();
  // Publish once the first long-poll is out: the server must wake it, since
  // it would otherwise hold it for 30 s, beyond the deadline below.
  await until(() => claims.length === 1, "first long-poll sent");
  const published = await c.publishMany([
    { goal: "e2e.wake", payload: 1 },
    { goal: "e2e.wake", payload: 2 },
  ]);
  await until(() => worker.stats.fulfilled === 2, "woken and done", 10_000);
  await worker.stop();
  assert.ok(claims.length <= 3, `few claims, not polling: ${claims.length}`);
  for (const p of published) {
    assert.ok(p.ok);
    const r = await c.result(p.id);
    assert.equal(r.status, "fulfilled");
  }
});

Deno.test("with extensions claimMany, ack and release work against the server", async () => {
  await using bus = await startBusServer();
  const c = new IntentClient({ url: bus.url, apiKey: bus.masterKey });
  const features = await c.features();
  for (const f of ["batch_claim", "batch_ack", "release"]) {
    assert.ok(features.has(f), `our server offers ${f}`);
  }
  await c.publishMany(
    Array.from({ length: 5 }, (_, i) => ({ goal: "e2e.batch", payload: i })),
    { atomic: true },
  );
  const jobs = await c.claimMany("e2e.batch", 10, { lease: 20 });
  assert.equal(jobs.length, 5);
  assert.equal(jobs[0].leaseSeconds, 20);
  const [a, b, d, ...rest] = jobs;
  const acks = await c.ack([
    { id: a.id, claimToken: a.claimToken, status: "fulfilled", result: "ok" },
    { id: b.id, claimToken: b.claimToken, status: "failed", error: "nope" },
    { id: d.id, claimToken: "stale", status: "fulfilled" },
  ]);
  assert.deepEqual(acks.map((x) => x.ok), [true, true, false]);
  assert.ok(!acks[2].ok && acks[2].error instanceof LeaseLostError);
  for (const j of rest) await c.release(j.id, j.claimToken);
  const again = await c.claimMany("e2e.batch", 10);
  assert.deepEqual(
    new Set(again.map((j) => j.id)),
    new Set(rest.map((j) => j.id)),
    "released intents are claimable again; the others are not",
  );
  for (const j of again) {
    assert.equal(j.claimAttempts, 1, "release burns no attempt");
  }
  for (const j of rest) assert.equal((await c.status(j.id)).status, "claimed");
  assert.equal((await c.result(a.id)).result, "ok");
});

Deno.test("admin helpers: keys, pause and resume, dead list and redrive", async () => {
  await using bus = await startBusServer();
  const admin = new IntentClient({
    url: bus.url,
    apiKey: bus.masterKey,
    adminToken: bus.adminToken,
  });
  const { api_key } = await admin.adminGenerateKey("sdk-test");
  const user = new IntentClient({ url: bus.url, apiKey: api_key });
  const { id } = await user.publish("e2e.admin", { x: 1 }, { maxAttempts: 1 });

  await admin.adminPause("e2e.admin");
  assert.equal(
    await user.claim("e2e.admin"),
    null,
    "paused goal gives nothing",
  );
  await admin.adminResume("e2e.admin");
  const job = await user.claim("e2e.admin");
  assert.equal(job?.id, id);
  await user.fail(id, job!.claimToken, "once is enough");
  assert.equal((await user.status(id)).status, "dead");

  const dead = await admin.adminDeadList({ goal: "e2e.admin" });
  assert.deepEqual(dead.map((d) => d.id), [id]);
  const redriven = await admin.adminRedrive({ ids: [id] });
  assert.equal(redriven.redriven, 1);
  assert.equal((await user.status(id)).status, "open");

  await admin.adminRevokeKey(api_key);
  await assert.rejects(user.status(id), AuthError);
  await assert.rejects(
    new IntentClient({ url: bus.url, adminToken: "wrong" }).adminDeadList(),
    AuthError,
  );
});

Deno.test("adminDeadList pages through intents that died in the same millisecond, each once", async () => {
  await using bus = await startBusServer();
  const c = new IntentClient({
    url: bus.url,
    apiKey: bus.masterKey,
    adminToken: bus.adminToken,
  });
  const ids = new Set<string>();
  for (let i = 0; i < 5; i++) {
    ids.add((await c.publish("e2e.page", { i }, { maxAttempts: 1 })).id);
  }
  const jobs = await c.claimMany("e2e.page", 5);
  // One /ack: the five die together.
  await c.ack(jobs.map((j) => ({
    id: j.id,
    claimToken: j.claimToken,
    status: "failed" as const,
    error: "no",
  })));
  const seen: string[] = [];
  let page = await c.adminDeadList({ goal: "e2e.page", limit: 2 });
  while (page.length > 0) {
    seen.push(...page.map((d) => String(d.id)));
    const last = page.at(-1)!;
    page = await c.adminDeadList({
      goal: "e2e.page",
      limit: 2,
      before: Number(last.died_at),
      beforeId: String(last.id),
    });
  }
  assert.equal(seen.length, 5);
  assert.deepEqual(new Set(seen), ids);
});

Deno.test("publishMany of 1,000 payloads of 6 KiB, far over one request's 1 MiB, publishes them all", async () => {
  await using bus = await startBusServer();
  const c = new IntentClient({ url: bus.url, apiKey: bus.masterKey });
  const text = "x".repeat(6 * 1024);
  const results = await c.publishMany(
    Array.from({ length: 1000 }, (_, i) => ({
      goal: "e2e.big",
      payload: { i, text },
    })),
  );
  assert.equal(results.filter((r) => r.ok).length, 1000);
  const ids = results.map((r) => r.ok && r.id);
  assert.equal(new Set(ids).size, 1000);
  const job = await c.claim("e2e.big");
  assert.equal((job?.payload as { text: string }).text.length, text.length);
});

for (const extensions of [true, false]) {
  Deno.test(
    `a result that cannot be encoded fails its intent alone, with the encoder's message${
      extensions ? "" : " (extensions off)"
    }`,
    async () => {
      await using bus = await startBusServer({
        args: extensions ? [] : ["--no-extensions"],
      });
      const acks: { acks: { status: string }[] }[] = [];
      const c = new IntentClient({
        url: bus.url,
        apiKey: bus.masterKey,
        fetch: (input, init) => {
          if (new URL(String(input)).pathname === "/ack") {
            const body = new TextDecoder().decode(init?.body as Uint8Array);
            acks.push(JSON.parse(body));
          }
          return fetch(input, init);
        },
      });
      const kinds = ["ok1", "bigint", "ok2", "circular", "ok3"];
      const ids = new Map<string, string>();
      for (const k of kinds) {
        ids.set(k, (await c.publish("e2e.enc", k, { maxAttempts: 1 })).id);
      }
      let started = 0;
      let allRunning = () => {};
      const together = new Promise<void>((r) => allRunning = r);
      const worker = new Worker(c, {
        goal: "e2e.enc",
        concurrency: kinds.length,
        signals: false,
        idleMinMs: 5,
        onError: quiet,
        handler: async (intent) => {
          // All five return in one turn, so their acks share one batch.
          if (++started === kinds.length) allRunning();
          await together;
          const k = intent.payload as string;
          if (k === "bigint") return { n: 1n } as unknown as JsonValue;
          if (k === "circular") {
            const o: Record<string, unknown> = {};
            o.o = o;
            return o as JsonValue;
          }
          return { k };
        },
      });
      worker.start();
      await until(
        () => worker.stats.fulfilled + worker.stats.failed === kinds.length,
        "all acknowledged",
      );
      await worker.stop();
      assert.deepEqual(worker.stats, {
        claimed: 5,
        fulfilled: 3,
        failed: 2,
        released: 0,
        lost: 0,
      });
      for (const k of ["ok1", "ok2", "ok3"]) {
        assert.deepEqual((await c.result(ids.get(k)!)).result, { k });
      }
      const bigint = await c.status(ids.get("bigint")!);
      assert.equal(bigint.status, "dead");
      assert.match(String(bigint.last_error), /^Result is not JSON: .*BigInt/);
      const circular = await c.status(ids.get("circular")!);
      assert.equal(circular.status, "dead");
      assert.match(
        String(circular.last_error),
        /^Result is not JSON: .*circular/,
      );
      if (extensions) {
        // The good three went in one request: the bad two did not sink it.
        assert.deepEqual(acks[0].acks.map((a) => a.status), [
          "fulfilled",
          "fulfilled",
          "fulfilled",
        ]);
      }
    },
  );
}

Deno.test("an explicit extend outlasts the heartbeats that follow it", async () => {
  await using bus = await startBusServer();
  const c = new IntentClient({ url: bus.url, apiKey: bus.masterKey });
  const { id } = await c.publish("e2e.extend", {});
  const left = async () =>
    Number((await c.status(id)).claim_expires_at) - Date.now() / 1000;
  const seen: number[] = [];
  const worker = new Worker(c, {
    goal: "e2e.extend",
    leaseSeconds: 10,
    signals: false,
    onError: quiet,
    handler: async (_i, ctx) => {
      await ctx.extend(600);
      seen.push(await left());
      // Past the heartbeat at a third of the 10 s lease.
      await new Promise((r) => setTimeout(r, 4_000));
      seen.push(await left());
    },
  });
  worker.start();
  await until(() => worker.stats.fulfilled === 1, "done", 30_000);
  await worker.stop();
  assert.ok(seen[0] > 595, `after extend(600): ${seen[0]}`);
  assert.ok(seen[1] > 590, `4 s later: ${seen[1]}`);
});
