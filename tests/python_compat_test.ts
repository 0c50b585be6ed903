import assert from "node:assert/strict";
import { createDatabase, startCluster } from "../storage/postgres/_cluster.ts";
import { startServer } from "./_server.ts";

const SCRIPT = new URL("./python_client.py", import.meta.url).pathname;

function hasPython(): boolean {
  try {
    return new Deno.Command("python3", { args: ["--version"] }).outputSync()
      .success;
  } catch {
    return false;
  }
}

/** Runs the Python client against a server on `db`; fails on its output. */
async function pythonAgainst(db: string): Promise<void> {
  const server = await startServer(db);
  try {
    const out = await new Deno.Command("python3", {
      args: [SCRIPT, server.url, "e2e-master"],
    }).output();
    const text = new TextDecoder().decode(out.stdout) +
      new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, text);
    assert.match(text, /^OK$/m);
  } finally {
    assert.equal(await server.stop(), 0);
  }
}

Deno.test({
  name:
    "a client signing like the Python SDK 2.x works unchanged over real HTTP",
  ignore: !hasPython(),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "intentbus-py-" });
    try {
      await pythonAgainst(`${dir}/bus.db`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "the same Python client works unchanged against a server on PostgreSQL",
  ignore: !hasPython(),
  async fn() {
    const cluster = startCluster();
    const db = await createDatabase(cluster.url);
    try {
      await pythonAgainst(db.url);
    } finally {
      await db.drop();
      cluster.stop();
    }
  },
});
