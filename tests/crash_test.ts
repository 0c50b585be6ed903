import assert from "node:assert/strict";
import { openSqliteStore } from "../storage/sqlite/mod.ts";
import { publishThenKill, startServer } from "./_server.ts";

const H = { "X-API-KEY": "e2e-master", "Content-Type": "application/json" };

Deno.test("after SIGKILL mid-publish, every intent that got a 201 is there and the file is sound", async () => {
  const dir = await Deno.makeTempDir({ prefix: "intentbus-crash-" });
  const db = `${dir}/bus.db`;
  const server = await startServer(db);
  const acknowledged = await publishThenKill(server, 500);
  assert.ok(acknowledged.length >= 500);

  const again = await startServer(db);
  for (const id of acknowledged) {
    const res = await fetch(`${again.url}/status/${id}`, { headers: H });
    assert.equal(res.status, 200, id);
    assert.equal((await res.json()).status, "open");
  }
  assert.equal(await again.stop(), 0);
  const store = await openSqliteStore({ path: db });
  assert.equal(
    store.db.prepare("PRAGMA integrity_check").get()?.integrity_check,
    "ok",
  );
  await store.close();
  await Deno.remove(dir, { recursive: true });
});
