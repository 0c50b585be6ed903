// Two real servers on one PostgreSQL database share one queue: what is
// published on either is claimed once, by a worker on either, and can be
// fulfilled through the other.

import assert from "node:assert/strict";
import {
  createDatabase,
  runOnce,
  startCluster,
} from "../storage/postgres/_cluster.ts";
import { sha256Hex } from "../server/auth/keys.ts";
import { publishThenKill, type ServerChild, startServer } from "./_server.ts";

const TOTAL = 1000;
const CLAIMERS = 30;
const H = { "X-API-KEY": "e2e-master", "Content-Type": "application/json" };

Deno.test("two servers on one PostgreSQL queue: 1,000 intents, 30 claimers, each fulfilled exactly once", async () => {
  const cluster = startCluster();
  const db = await createDatabase(cluster.url);
  const servers: ServerChild[] = [];
  try {
    servers.push(await startServer(db.url));
    servers.push(await startServer(db.url));
    const [a, b] = servers;
    const published = new Set<string>();
    const fulfilled = new Map<string, number>();
    let publishing = true;

    const publisher = async (p: number) => {
      for (let i = p; i < TOTAL; i += 4) {
        const res = await fetch(`${servers[i % 2].url}/intent`, {
          method: "POST",
          headers: H,
          body: JSON.stringify({ goal: "work", payload: { i } }),
        });
        assert.equal(res.status, 201);
        published.add((await res.json()).id);
      }
    };
    const claimer = async (k: number) => {
      const mine = servers[k % 2].url;
      const other = servers[(k + 1) % 2].url;
      for (;;) {
        const res = await fetch(`${mine}/claim?goal=work&wait=1`, {
          method: "POST",
          headers: H,
        });
        if (res.status === 204) {
          await res.body?.cancel();
          if (!publishing && fulfilled.size >= published.size) return;
          continue;
        }
        assert.equal(res.status, 200);
        const job = await res.json();
        const done = await fetch(`${other}/fulfill/${job.id}`, {
          method: "POST",
          headers: H,
          body: JSON.stringify({ claim_token: job.claim_token, result: k }),
        });
        assert.equal(done.status, 200, await done.clone().text());
        await done.body?.cancel();
        fulfilled.set(job.id, (fulfilled.get(job.id) ?? 0) + 1);
      }
    };
    const claimers = Array.from({ length: CLAIMERS }, (_, k) => claimer(k));
    await Promise.all([0, 1, 2, 3].map(publisher));
    publishing = false;
    await Promise.all(claimers);

    assert.equal(published.size, TOTAL);
    assert.equal(fulfilled.size, TOTAL);
    assert.deepEqual([...fulfilled.values()].filter((n) => n !== 1), []);
    for (const [i, id] of [...published].slice(0, 20).entries()) {
      const res = await fetch(`${servers[i % 2].url}/status/${id}`, {
        headers: H,
      });
      assert.equal((await res.json()).status, "fulfilled");
    }
    // A long poll on one server is answered by a publish on the other: the
    // waiter re-checks the shared database at least once a second.
    const waiting = fetch(`${b.url}/claim?goal=late&wait=10`, {
      method: "POST",
      headers: H,
    });
    await new Promise((r) => setTimeout(r, 200));
    const pub = await fetch(`${a.url}/intent`, {
      method: "POST",
      headers: H,
      body: JSON.stringify({ goal: "late", payload: { late: true } }),
    });
    const { id } = await pub.json();
    const got = await waiting;
    assert.equal(got.status, 200);
    assert.equal((await got.json()).id, id);
  } finally {
    for (const s of servers) assert.equal(await s.stop(), 0);
    await db.drop();
    cluster.stop();
  }
});

Deno.test("after SIGKILL of one of two servers mid-publish, every intent that got a 201 is served by the other", async () => {
  const cluster = startCluster();
  const db = await createDatabase(cluster.url);
  const survivor = await startServer(db.url);
  const victim = await startServer(db.url);
  try {
    const acknowledged = await publishThenKill(victim, 300, "crash");
    assert.ok(acknowledged.length >= 300);
    for (const id of acknowledged) {
      const res = await fetch(`${survivor.url}/status/${id}`, { headers: H });
      assert.equal(res.status, 200, id);
      assert.equal((await res.json()).status, "open");
    }
  } finally {
    assert.equal(await survivor.stop(), 0);
    await victim.stop();
    await db.drop();
    cluster.stop();
  }
});

Deno.test("BUS_PG_SCHEMA keeps a server's queue in a schema of its own", async () => {
  const cluster = startCluster();
  const db = await createDatabase(cluster.url);
  const server = await startServer(db.url, { BUS_PG_SCHEMA: "jobs" });
  try {
    const res = await fetch(`${server.url}/intent`, {
      method: "POST",
      headers: H,
      body: JSON.stringify({ goal: "g", payload: 1 }),
    });
    assert.equal(res.status, 201);
    await res.body?.cancel();
    assert.deepEqual(
      await runOnce(
        db.url,
        "SELECT table_schema, count(*) AS n FROM information_schema.tables WHERE table_name = 'intents' GROUP BY table_schema",
      ),
      [{ table_schema: "jobs", n: "1" }],
    );
    const live = await runOnce(
      db.url,
      "SELECT count(*) AS n FROM jobs.intents",
    );
    assert.equal(live[0].n, "1");
  } finally {
    assert.equal(await server.stop(), 0);
    await db.drop();
    cluster.stop();
  }
});

/** A publish to `server`, given up after 20 s (past that, it hung). */
function publishTo(server: ServerChild, headers: Record<string, string> = H) {
  return fetch(`${server.url}/intent`, {
    method: "POST",
    headers,
    body: JSON.stringify({ goal: "g", payload: 1 }),
    signal: AbortSignal.timeout(20_000),
  });
}

/** Publishes every 100 ms until `server` answers 201 again, for up to 20 s. */
async function untilPublishes(server: ServerChild): Promise<void> {
  let status = 0;
  for (let i = 0; i < 200 && status !== 201; i++) {
    const res = await publishTo(server);
    status = res.status;
    await res.body?.cancel();
    if (status !== 201) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(status, 201);
}

Deno.test("a PostgreSQL that stops answering costs a request BUS_PG_TIMEOUT_MS and a 503, and the server serves again when it answers", async () => {
  const cluster = startCluster({ fresh: true });
  const server = await startServer(cluster.url, { BUS_PG_TIMEOUT_MS: "1000" });
  const publish = () => publishTo(server);
  try {
    const first = await publish();
    assert.equal(first.status, 201);
    await first.body?.cancel();
    cluster.freeze(true);
    try {
      const busy = await publish();
      assert.equal(busy.status, 503);
      assert.ok(busy.headers.get("retry-after"));
      assert.equal((await busy.json()).error.code, "database_busy");
    } finally {
      cluster.freeze(false);
    }
    await untilPublishes(server);
  } finally {
    cluster.freeze(false);
    assert.equal(await server.stop(), 0);
    cluster.stop();
  }
});

Deno.test("a server frozen inside a transaction loses its session after BUS_PG_TIMEOUT_MS, and with it the locks it held", async () => {
  const cluster = startCluster({ fresh: true });
  const server = await startServer(cluster.url, { BUS_PG_TIMEOUT_MS: "5000" });
  const { default: pg } = await import("pg");
  const holder = new pg.Client({ connectionString: cluster.url });
  const other = new pg.Client({ connectionString: cluster.url });
  await holder.connect();
  await other.connect();
  let frozen = false;
  try {
    // The advisory lock a publish with this idempotency key takes inside its
    // transaction (storage/postgres/insert_ops.ts), held here first.
    const key = `idem\n${await sha256Hex("e2e-master")}\nk1`;
    const lock = "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))";
    await holder.query("BEGIN");
    await holder.query(lock, [key]);
    const publish = publishTo(server, { ...H, "Idempotency-Key": "k1" })
      .then((r) => r.status, () => 0);
    // Once the server's transaction waits for the lock, freeze the server,
    // then let its transaction have the lock it will never release.
    for (let i = 0;; i++) {
      const { rows } = await other.query(
        "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted",
      );
      if (rows[0].n > 0) break;
      assert.ok(i < 400, "the server's publish never waited for the lock");
      await new Promise((r) => setTimeout(r, 10));
    }
    server.child.kill("SIGSTOP");
    frozen = true;
    await holder.query("COMMIT");
    // Another session gets the lock once PostgreSQL ends the frozen
    // server's idle transaction; without the limit it would wait forever.
    await other.query("SET lock_timeout = '20s'");
    await other.query("BEGIN");
    await other.query(lock, [key]);
    await other.query("COMMIT");
    server.child.kill("SIGCONT");
    frozen = false;
    assert.notEqual(await publish, 201); // its session was ended under it
    // The server serves again, on a new connection.
    await untilPublishes(server);
  } finally {
    if (frozen) server.child.kill("SIGCONT");
    await holder.end().catch(() => {});
    await other.end().catch(() => {});
    assert.equal(await server.stop(), 0);
    cluster.stop();
  }
});
