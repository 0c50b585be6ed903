// Under Node, from the installed packages: a Node program of the user's own
// serves the app with `@intentbus/server/node` (the module example of
// server/runtime/node.ts), and the SDK drives it.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

// Resolved at run time (by Node, through the package's export map), so that
// `deno check .` in the repository does not look for the installed package.
const server = await import(import.meta.resolve("@intentbus/server"));
const { serveNode } = await import(
  import.meta.resolve("@intentbus/server/node")
);
const { IntentClient } = await import(import.meta.resolve("@intentbus/sdk"));

test("a Node program serves the app with @intentbus/server/node, maintenance beside it", async () => {
  const dir = mkdtempSync(join(tmpdir(), "intentbus_embed_"));
  const store = await server.openSqliteStore({ path: join(dir, "bus.db") });
  const maintenance = new server.Maintenance({
    store,
    clock: server.systemClock,
  });
  const app = server.createApp({
    store,
    clock: server.systemClock,
    maintenance,
    config: { ...server.DEFAULT_CONFIG, masterKey: "embed-master-key" },
  });
  maintenance.start();
  let closed = false;
  const running = await serveNode(app, {
    port: 0,
    handleSignals: false,
    onClose: async () => {
      await maintenance.stop();
      await store.close();
      closed = true;
    },
  });
  try {
    const client = new IntentClient({
      url: `http://127.0.0.1:${running.port}`,
      apiKey: "embed-master-key",
    });
    const { id } = await client.publish("resize", { file: "a.png" });
    const leased = await client.claim("resize");
    assert.equal(leased.id, id);
    await client.fulfil(id, leased.claimToken, { width: 320 });
    const done = await client.result(id);
    assert.equal(done.status, "fulfilled");
    assert.deepEqual(done.result, { width: 320 });
    // The listener answers the app's errors in the protocol's shape.
    const res = await fetch(`http://127.0.0.1:${running.port}/claim`, {
      method: "POST",
      headers: { "X-API-KEY": "embed-master-key" },
    });
    assert.equal(res.status, 400);
    assert.equal((await res.json()).error.code, "invalid_request");
  } finally {
    await running.shutdown();
    rmSync(dir, { recursive: true });
  }
  assert.equal(closed, true);
});
