import assert from "node:assert/strict";
import { createLogger } from "../log.ts";
import { serveNode } from "./node.ts";
import {
  assertGoneClaimClaimsNothing,
  withApp,
  withSlowRoute,
} from "./_testing.ts";

// Deno runs node:http too; the packed build runs this listener under Node 20
// in npm-build/node_test/ (deno task test:node).

// false first: the light Response, once installed, stays the global.
for (const lightObjects of [false, true]) {
  Deno.test(`node listener (light objects ${lightObjects}): serves the app on a free port, finishes in-flight requests on shutdown, then closes`, async () => {
    await withApp(async (app) => {
      const slow = withSlowRoute(app);
      const controller = new AbortController();
      let closed = false;
      const server = await serveNode(slow.app, {
        port: 0,
        lightObjects,
        signal: controller.signal,
        handleSignals: false,
        onClose: () => {
          closed = true;
        },
      });
      assert.ok(server.port > 0);
      const base = `http://127.0.0.1:${server.port}`;
      const health = await fetch(`${base}/health`);
      assert.equal(health.status, 200);
      assert.equal((await health.json()).ok, true);
      const published = await fetch(`${base}/intent`, {
        method: "POST",
        headers: { "X-API-KEY": "k" },
        body: '{"goal":"g","payload":{"text":"héllo"}}',
      });
      assert.equal(published.status, 201);
      const { id } = await published.json();
      const claimed = await fetch(`${base}/claim?goal=g`, {
        method: "POST",
        headers: { "X-API-KEY": "k" },
      });
      assert.equal(claimed.status, 200);
      const body = await claimed.json();
      assert.equal(body.id, id);
      assert.deepEqual(body.payload, { text: "héllo" });

      const inFlight = fetch(`${base}/slow`);
      await slow.inside;
      controller.abort();
      assert.equal(closed, false);
      slow.release();
      const last = await inFlight;
      assert.equal(await last.text(), "done");
      assert.equal(last.headers.get("connection"), "close");
      await server.finished;
      assert.equal(closed, true);
    });
  });
}

Deno.test("node listener: bad JSON, bodies over the app's limit or the listener's cap, and an unknown route get protocol errors", async () => {
  await withApp(async (app) => {
    const server = await serveNode(app, {
      port: 0,
      handleSignals: false,
      maxBodyBytes: 400_000,
    });
    try {
      const base = `http://127.0.0.1:${server.port}`;
      const headers = { "X-API-KEY": "k" };
      const bad = await fetch(`${base}/intent`, {
        method: "POST",
        headers,
        body: "{not json",
      });
      assert.equal(bad.status, 400);
      assert.equal((await bad.json()).error.code, "invalid_json");
      const big = await fetch(`${base}/intent`, {
        method: "POST",
        headers,
        body: JSON.stringify({ goal: "g", payload: "x".repeat(300_000) }),
      });
      assert.equal(big.status, 413);
      assert.equal((await big.json()).error.code, "payload_too_large");
      const huge = await fetch(`${base}/intent`, {
        method: "POST",
        headers,
        body: "x".repeat(500_000),
      });
      assert.equal(huge.status, 413);
      assert.equal((await huge.json()).error.code, "payload_too_large");
      const missing = await fetch(`${base}/nope`);
      assert.equal(missing.status, 404);
      await missing.body?.cancel();
    } finally {
      await server.shutdown();
    }
  });
});

for (const lightObjects of [false, true]) {
  Deno.test(`node listener (light objects ${lightObjects}): a long poll or held claim whose client goes away claims nothing`, async () => {
    await withApp(async (app) => {
      const server = await serveNode(app, {
        port: 0,
        lightObjects,
        handleSignals: false,
      });
      try {
        await assertGoneClaimClaimsNothing(
          `http://127.0.0.1:${server.port}`,
        );
      } finally {
        await server.shutdown();
      }
    });
  });
}

Deno.test("node listener: a client that hangs up mid-body is no error, and the server serves on", async () => {
  await withApp(async (app) => {
    const lines: string[] = [];
    const server = await serveNode(app, {
      port: 0,
      handleSignals: false,
      log: createLogger({ level: "warn", write: (l) => lines.push(l) }),
    });
    try {
      const conn = await Deno.connect({ port: server.port });
      await conn.write(new TextEncoder().encode(
        "POST /intent HTTP/1.1\r\nHost: x\r\nX-API-KEY: k\r\n" +
          "Content-Type: application/json\r\nContent-Length: 500\r\n\r\n" +
          '{"goal":"g","payload":1',
      ));
      await new Promise((r) => setTimeout(r, 100));
      conn.close();
      await new Promise((r) => setTimeout(r, 200));
      const health = await fetch(`http://127.0.0.1:${server.port}/health`);
      assert.equal(health.status, 200);
      await health.body?.cancel();
      assert.deepEqual(lines, []);
    } finally {
      await server.shutdown();
    }
  });
});
