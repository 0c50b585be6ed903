import assert from "node:assert/strict";
import { serveDeno } from "./deno.ts";
import {
  assertGoneClaimClaimsNothing,
  withApp,
  withSlowRoute,
} from "./_testing.ts";

Deno.test("serves on a free loopback port, finishes in-flight requests on shutdown, then closes", async () => {
  await withApp(async (app) => {
    const slow = withSlowRoute(app);
    const controller = new AbortController();
    let closed = false;
    const server = serveDeno(slow.app, {
      port: 0,
      signal: controller.signal,
      handleSignals: false,
      onClose: () => {
        closed = true;
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

    const inFlight = fetch(`${base}/slow`);
    await slow.inside;
    controller.abort();
    assert.equal(closed, false);
    slow.release();
    assert.equal(await (await inFlight).text(), "done");
    await server.finished;
    assert.equal(closed, true);
  });
});

Deno.test("a long poll or held claim whose client goes away claims nothing", async () => {
  await withApp(async (app) => {
    const server = serveDeno(app, { port: 0, handleSignals: false });
    try {
      await assertGoneClaimClaimsNothing(`http://127.0.0.1:${server.port}`);
    } finally {
      await server.shutdown();
    }
  });
});
