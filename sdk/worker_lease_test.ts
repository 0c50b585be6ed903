// The Worker against a real server behind a real TCP proxy that stalls or
// cuts requests: leases that run out, slow acknowledgements, and a server
// that loses its extensions.
import assert from "node:assert/strict";
import { LeaseLostError } from "../core/errors.ts";
import { IntentClient } from "./client.ts";
import { startBusServer } from "./testing/bus_server.ts";
import { startTcpProxy } from "./testing/tcp_proxy.ts";
import { Worker } from "./worker.ts";
import { until } from "./testing/until.ts";

Deno.test("with every heartbeat stalled the handler is aborted before its lease ends, so no other worker runs the intent at the same time", async () => {
  await using bus = await startBusServer();
  await using proxy = await startTcpProxy(bus.url);
  const direct = new IntentClient({ url: bus.url, apiKey: bus.masterKey });
  const { id } = await direct.publish("lease.stall", 1, { maxAttempts: 5 });
  proxy.stall("/extend_claim/");
  let started = false;
  let reason: unknown;
  const errors: unknown[] = [];
  const a: Worker = new Worker(
    new IntentClient({ url: proxy.url, apiKey: bus.masterKey }),
    {
      goal: "lease.stall",
      leaseSeconds: 10,
      waitSeconds: 1,
      signals: false,
      gracePeriodMs: 0,
      onError: (e) => errors.push(e),
      handler: (_intent, { signal }) =>
        new Promise((_, reject) => {
          started = true;
          signal.addEventListener("abort", () => {
            reason = signal.reason;
            // A claims no more, so that B may get the intent.
            a.stop();
            reject(signal.reason);
          });
        }),
    },
  );
  const run = a.start();
  await until(() => started, "A's handler started");
  // B claims as soon as the server lets it: once A's lease has ended.
  let claimed = null;
  await until(
    async () => {
      claimed = await direct.claim("lease.stall", { wait: 2, lease: 10 });
      return claimed !== null;
    },
    "B claims the intent",
    30_000,
  );
  assert.ok(reason !== undefined, "A's handler was aborted before B claimed");
  assert.ok(reason instanceof LeaseLostError, String(reason));
  assert.ok(proxy.seen("/extend_claim/") >= 1, "A did try to extend");
  await a.stop();
  await run;
  assert.equal(a.stats.lost, 1);
  assert.equal(a.stats.fulfilled + a.stats.failed, 0, "A acknowledged nothing");
  assert.ok(errors.some((e) => e instanceof LeaseLostError));
  const b = claimed as unknown as { id: string; claimToken: string };
  assert.equal(b.id, id);
  await direct.fulfil(b.id, b.claimToken, "by B");
  assert.equal((await direct.result(id)).result, "by B");
});

Deno.test("the heartbeat goes on while an acknowledgement is held up, so the lease outlasts its length until the ack is answered", async () => {
  await using bus = await startBusServer();
  await using proxy = await startTcpProxy(bus.url);
  const direct = new IntentClient({ url: bus.url, apiKey: bus.masterKey });
  const { id } = await direct.publish("lease.ack", 1);
  proxy.stall("/ack");
  let claimedAt = 0;
  const a = new Worker(
    new IntentClient({ url: proxy.url, apiKey: bus.masterKey }),
    {
      goal: "lease.ack",
      leaseSeconds: 10,
      waitSeconds: 1,
      signals: false,
      handler: () => {
        claimedAt = Date.now();
        return "by A";
      },
    },
  );
  const run = a.start();
  await until(() => proxy.seen("/ack") >= 1, "A's ack is held");
  // Past the first lease's end (10 s), nobody else may claim the intent.
  while (Date.now() < claimedAt + 12_000) {
    const other = await direct.claim("lease.ack", { wait: 1, lease: 10 });
    assert.equal(other, null, "the intent was claimed while A's ack waited");
  }
  assert.ok(proxy.seen("/extend_claim/") >= 2, "A kept extending");
  proxy.pass();
  await until(
    async () => (await direct.status(id)).status === "fulfilled",
    "fulfilled",
  );
  await a.stop();
  await run;
  assert.equal(a.stats.fulfilled, 1);
  assert.equal(a.stats.lost, 0);
  assert.equal((await direct.result(id)).result, "by A");
});

Deno.test("a worker whose server comes back without extensions forgets them and acknowledges one by one", async () => {
  const env = {
    BUS_SECRET: "lease-test-master-key",
    BUS_ADMIN_SECRET: "lease-test-admin-token",
  };
  await using ext = await startBusServer({ env });
  await using plain = await startBusServer({
    env: { ...env, BUS_EXTENSIONS: "false" },
  });
  await using proxy = await startTcpProxy(ext.url);
  const key = ext.masterKey;
  assert.equal(plain.masterKey, key);
  const errors: string[] = [];
  const w = new Worker(new IntentClient({ url: proxy.url, apiKey: key }), {
    goal: "lease.down",
    concurrency: 2,
    waitSeconds: 1,
    signals: false,
    onError: (e) => errors.push(String(e)),
    handler: (intent) => ({ n: intent.payload as number }),
  });
  const run = w.start();
  await until(() => proxy.seen("/claim") >= 1, "the worker claims");
  // The server "restarts" without its extensions.
  proxy.retarget(plain.url);
  const client = new IntentClient({ url: plain.url, apiKey: key });
  const ids: string[] = [];
  for (let n = 0; n < 4; n++) {
    ids.push((await client.publish("lease.down", n)).id);
  }
  await until(async () => {
    const all = await Promise.all(ids.map((id) => client.status(id)));
    return all.every((s) => s.status === "fulfilled");
  }, `all fulfilled; errors: ${errors.join("; ")}`);
  await w.stop();
  await run;
  assert.equal(w.stats.fulfilled, 4);
  for (const [n, id] of ids.entries()) {
    assert.deepEqual((await client.result(id)).result, { n });
  }
  assert.ok(proxy.seen("/fulfill/") >= 1, "acknowledged through /fulfill");
});

Deno.test("publishMany to a server that came back without extensions publishes one by one and reads the features again", async () => {
  const env = {
    BUS_SECRET: "lease-test-master-key",
    BUS_ADMIN_SECRET: "lease-test-admin-token",
  };
  await using ext = await startBusServer({ env });
  await using plain = await startBusServer({
    env: { ...env, BUS_EXTENSIONS: "false" },
  });
  await using proxy = await startTcpProxy(ext.url);
  const client = new IntentClient({ url: proxy.url, apiKey: ext.masterKey });
  assert.ok((await client.features()).has("batch_publish"));
  proxy.retarget(plain.url);
  const items = [1, 2, 3].map((n) => ({ goal: "lease.many", payload: n }));
  const results = await client.publishMany(items);
  assert.ok(results.every((r) => r.ok), JSON.stringify(results));
  assert.equal(proxy.seen("POST /intent HTTP"), 3, "one by one");
  assert.ok(!(await client.features()).has("batch_publish"), "read again");
  for (const [n, r] of results.entries()) {
    const id = (r as { id: string }).id;
    assert.equal((await client.status(id)).goal, "lease.many", `item ${n}`);
  }
});
