import assert from "node:assert/strict";
import { openSqliteStore } from "../storage/sqlite/mod.ts";
import { startServer } from "./_server.ts";

const TOTAL = 2000;
const PUBLISHERS = 5;
const CLAIMERS = 50;
const H = { "X-API-KEY": "e2e-master", "Content-Type": "application/json" };

Deno.test("50 claimers and 5 publishers over 2,000 intents: each fulfilled exactly once", async () => {
  const dir = await Deno.makeTempDir({ prefix: "intentbus-e2e-" });
  const db = `${dir}/bus.db`;
  const server = await startServer(db);
  const published = new Set<string>();
  const fulfilled = new Map<string, number>();
  const tokens = new Set<string>();
  let replaysAccepted = 0;
  let publishing = true;

  const publisher = async (p: number) => {
    for (let i = p; i < TOTAL; i += PUBLISHERS) {
      const res = await fetch(`${server.url}/intent`, {
        method: "POST",
        headers: H,
        body: JSON.stringify({ goal: "work", payload: { i } }),
      });
      assert.equal(res.status, 201);
      published.add((await res.json()).id);
    }
  };

  const claimer = async () => {
    for (;;) {
      const res = await fetch(`${server.url}/claim?goal=work&wait=1`, {
        method: "POST",
        headers: H,
      });
      if (res.status === 204) {
        await res.body?.cancel();
        if (!publishing && fulfilled.size >= TOTAL) return;
        continue;
      }
      assert.equal(res.status, 200);
      const job = await res.json();
      assert.equal(tokens.has(job.claim_token), false, "token issued twice");
      tokens.add(job.claim_token);
      const body = JSON.stringify({ claim_token: job.claim_token, result: 1 });
      const done = await fetch(`${server.url}/fulfill/${job.id}`, {
        method: "POST",
        headers: H,
        body,
      });
      assert.equal(done.status, 200);
      await done.body?.cancel();
      fulfilled.set(job.id, (fulfilled.get(job.id) ?? 0) + 1);
      // The same token a second time is a replay (a retry after a lost
      // answer): accepted, and it changes nothing.
      const again = await fetch(`${server.url}/fulfill/${job.id}`, {
        method: "POST",
        headers: H,
        body,
      });
      if (again.status === 200) replaysAccepted++;
      await again.body?.cancel();
    }
  };

  const claimers = Array.from({ length: CLAIMERS }, claimer);
  await Promise.all(Array.from({ length: PUBLISHERS }, (_, p) => publisher(p)));
  publishing = false;
  await Promise.all(claimers);

  assert.equal(published.size, TOTAL);
  assert.equal(fulfilled.size, TOTAL);
  for (const id of published) assert.equal(fulfilled.get(id), 1, id);
  assert.equal(replaysAccepted, TOTAL);
  assert.equal(tokens.size, TOTAL);
  assert.equal(await server.stop(), 0);

  const store = await openSqliteStore({ path: db });
  const stats = await store.statsGet({ now: Date.now() });
  assert.equal(stats.states.open, 0);
  assert.equal(stats.states.claimed, 0);
  assert.equal(stats.states.fulfilled, TOTAL);
  assert.equal(
    store.db.prepare("PRAGMA integrity_check").get()?.integrity_check,
    "ok",
  );
  await store.close();
  await Deno.remove(dir, { recursive: true });
});
