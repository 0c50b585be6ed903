import assert from "node:assert/strict";
import { systemClock } from "../../core/clock.ts";
import { openSqliteStore } from "../../storage/sqlite/mod.ts";
import { createApp } from "../app.ts";
import { DEFAULT_CONFIG } from "../config.ts";
import { serveDeno } from "./deno.ts";
import { assertGoneClaimClaimsNothing } from "./_testing.ts";

Deno.test("serves on a free loopback port, finishes in-flight requests on shutdown, then closes", async () => {
  const dir = await Deno.makeTempDir();
  const store = await openSqliteStore({ path: `${dir}/bus.db` });
  const app = createApp({
    store,
    clock: systemClock,
    config: { ...DEFAULT_CONFIG, masterKey: "k" },
  });
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  let entered!: () => void;
  const inside = new Promise<void>((r) => entered = r);
  const slowApp = {
    fetch: async (req: Request, env?: unknown) => {
      if (new URL(req.url).pathname === "/slow") {
        entered();
        await gate;
        return new Response("done");
      }
      return app.fetch(req, env);
    },
  };
  const controller = new AbortController();
  let closed = false;
  const server = serveDeno(slowApp, {
    port: 0,
    signal: controller.signal,
    handleSignals: false,
    onClose: async () => {
      closed = true;
      await store.close();
    },
  });
  const base = `http://127.0.0.1:${server.port}`;
  const health = await fetch(`${base}/health`);
  assert.equal(health.status, 200);
  assert.equal((await health.json()).ok, true);
  const published = await fetch(`${base}/intent`, {
    method: "POST",
    headers: { "X-API-KEY": "k" },
    body: '{"goal":"g","payload":1}',
  });
  assert.equal(published.status, 201);
  await published.body?.cancel();

  const slow = fetch(`${base}/slow`);
  await inside;
  controller.abort();
  assert.equal(closed, false);
  release();
  assert.equal(await (await slow).text(), "done");
  await server.finished;
  assert.equal(closed, true);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a long poll or held claim whose client goes away claims nothing", async () => {
  const dir = await Deno.makeTempDir();
  const store = await openSqliteStore({ path: `${dir}/bus.db` });
  const app = createApp({
    store,
    clock: systemClock,
    config: { ...DEFAULT_CONFIG, masterKey: "k" },
  });
  const server = serveDeno(app, {
    port: 0,
    handleSignals: false,
    onClose: () => store.close(),
  });
  try {
    await assertGoneClaimClaimsNothing(`http://127.0.0.1:${server.port}`);
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
