// Under Node, from the installed packages: start the server with its `bin`
// (`intentbus serve`) on a free port with a temporary database, publish,
// claim and fulfil with @intentbus/sdk, then stop it with SIGTERM.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { test } from "node:test";

// Resolved at run time (by Node, through the package's export map), so that
// `deno check .` in the repository does not look for the installed package.
const { IntentClient, Worker } = await import(
  import.meta.resolve("@intentbus/sdk")
);
const { defaultDriver } = await import(
  import.meta.resolve("@intentbus/server/storage")
);

const BIN = join(process.cwd(), "node_modules", ".bin", "intentbus");

/** Starts `intentbus serve`; resolves with its URL and log lines. */
async function startServer(db, extraArgs = []) {
  const child = spawn(
    process.execPath,
    [BIN, "serve", "--port", "0", "--db", db, ...extraArgs],
    {
      env: { ...process.env, BUS_SECRET: "e2e-master-key" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const lines = [];
  const exited = new Promise((r) => child.once("exit", (code) => r(code)));
  // The listening line goes to stdout, the log to stderr: read both.
  const url = await new Promise((resolve, reject) => {
    for (const input of [child.stdout, child.stderr]) {
      createInterface({ input }).on("line", (line) => {
        const entry = JSON.parse(line);
        lines.push(entry);
        if (entry.msg === "listening") resolve(entry.url);
      });
    }
    exited.then((code) => reject(new Error(`server exited with ${code}`)));
  });
  return { child, url, lines, exited };
}

/**
 * Runs `fn` with a fresh `intentbus serve` on a temporary database and a
 * client with its master key; then SIGTERM, which must exit 0.
 */
async function withServer(fn) {
  const dir = mkdtempSync(join(tmpdir(), "intentbus_e2e_"));
  const server = await startServer(join(dir, "bus.db"));
  try {
    const client = new IntentClient({
      url: server.url,
      apiKey: "e2e-master-key",
    });
    await fn(server, client);
  } finally {
    server.child.kill("SIGTERM");
    assert.equal(await server.exited, 0);
    rmSync(dir, { recursive: true });
  }
}

test("intentbus serve under Node: publish, claim and fulfil with the SDK, then SIGTERM", async () => {
  const dir = mkdtempSync(join(tmpdir(), "intentbus_e2e_"));
  const server = await startServer(join(dir, "bus.db"));
  try {
    const open = server.lines.find((l) => l.msg === "database open");
    // better-sqlite3 when installed, else node:sqlite (Node 22.13+).
    assert.equal(open.driver, defaultDriver());
    const client = new IntentClient({
      url: server.url,
      apiKey: "e2e-master-key",
    });
    assert.equal((await client.health()).ok, true);
    const { id } = await client.publish("resize", { file: "a.png" });
    const leased = await client.claim("resize");
    assert.equal(leased.id, id);
    assert.deepEqual(leased.payload, { file: "a.png" });
    await client.fulfil(leased.id, leased.claimToken, { width: 320 });
    const done = await client.result(id);
    assert.equal(done.status, "fulfilled");
    assert.deepEqual(done.result, { width: 320 });
    assert.equal(await client.claim("resize"), null);
  } finally {
    server.child.kill("SIGTERM");
    assert.equal(await server.exited, 0);
    assert.ok(server.lines.some((l) => l.msg === "database closed"));
    rmSync(dir, { recursive: true });
  }
});

test("an SDK Worker under Node drains a batch from the Node server", async () => {
  await withServer(async (_server, client) => {
    const ids = [];
    for (let n = 0; n < 20; n++) {
      ids.push((await client.publish("square", { n })).id);
    }
    const seen = new Set();
    const worker = new Worker(client, {
      goal: "square",
      concurrency: 4,
      signals: false,
      waitSeconds: 1,
      handler: (intent) => {
        seen.add(intent.id);
        return { square: intent.payload.n ** 2 };
      },
    });
    const running = worker.start();
    const deadline = Date.now() + 20_000;
    let statuses = [];
    while (Date.now() < deadline) {
      statuses = await Promise.all(ids.map((id) => client.result(id)));
      if (statuses.every((s) => s.status === "fulfilled")) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await worker.stop();
    await running;
    assert.deepEqual(statuses.map((s) => s.status), ids.map(() => "fulfilled"));
    assert.deepEqual(
      statuses.map((s) => s.result.square),
      ids.map((_, n) => n * n),
    );
    assert.equal(seen.size, 20);
  });
});

test("a Worker stopped during its long poll leaves the next intent open, under Node", async () => {
  await withServer(async (_server, client) => {
    const worker = new Worker(client, {
      goal: "later",
      signals: false,
      waitSeconds: 20,
      handler: () => assert.fail("nothing was published while it ran"),
    });
    const running = worker.start();
    await new Promise((r) => setTimeout(r, 1000));
    await worker.stop();
    await running;
    // The server has seen the poll's connection close before this publish.
    await new Promise((r) => setTimeout(r, 300));
    const { id } = await client.publish("later", {});
    const status = await client.status(id);
    assert.equal(status.status, "open");
    const leased = await client.claim("later");
    assert.equal(leased.id, id);
    assert.equal(leased.claimAttempts, 1);
  });
});

test("under Node, a client that hangs up mid-body is no error, and the server serves on", async () => {
  await withServer(async (server, client) => {
    const { port } = new URL(server.url);
    const socket = connect(Number(port), "127.0.0.1");
    await new Promise((r) => socket.once("connect", r));
    socket.write(
      "POST /intent HTTP/1.1\r\nHost: x\r\nX-API-KEY: e2e-master-key\r\n" +
        "Content-Type: application/json\r\nContent-Length: 500\r\n\r\n" +
        '{"goal":"g","payload":1',
    );
    await new Promise((r) => setTimeout(r, 100));
    socket.destroy();
    await new Promise((r) => setTimeout(r, 200));
    assert.equal((await client.health()).ok, true);
    assert.deepEqual(
      server.lines.filter((l) => l.level === "error" || l.level === "warn")
        .map((l) => l.msg)
        .filter((m) => !m.startsWith("admin routes disabled")),
      [],
    );
  });
});

test("intentbus serve under Node on PostgreSQL: two servers share one queue", {
  skip: !process.env.INTENTBUS_PG_URL && "INTENTBUS_PG_URL not set",
}, async () => {
  const url = process.env.INTENTBUS_PG_URL;
  const a = await startServer(url);
  const b = await startServer(url);
  try {
    const open = a.lines.find((l) => l.msg === "database open");
    assert.equal(open.store, "postgres");
    const key = "e2e-master-key";
    const onA = new IntentClient({ url: a.url, apiKey: key });
    const onB = new IntentClient({ url: b.url, apiKey: key });
    const goal = `shared-${process.pid}-${Date.now()}`;
    const { id } = await onA.publish(goal, { file: "b.png" });
    const leased = await onB.claim(goal);
    assert.equal(leased.id, id);
    assert.equal(await onA.claim(goal), null);
    await onA.fulfil(leased.id, leased.claimToken, { ok: true });
    const done = await onB.result(id);
    assert.equal(done.status, "fulfilled");
    assert.deepEqual(done.result, { ok: true });
  } finally {
    for (const s of [a, b]) {
      s.child.kill("SIGTERM");
      assert.equal(await s.exited, 0);
    }
  }
});

test(
  "intentbus serve --driver node:sqlite on a Node without it exits 2 saying which Node it needs",
  // Node 20 never has it, nor Node 22 before 22.13.
  { skip: process.getBuiltinModule?.("node:sqlite") !== undefined },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), "intentbus_e2e_"));
    try {
      const child = spawn(
        process.execPath,
        [
          BIN,
          "serve",
          "--port",
          "0",
          "--driver",
          "node:sqlite",
          "--db",
          join(dir, "b.db"),
        ],
        {
          env: { ...process.env, BUS_SECRET: "k" },
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
      let err = "";
      child.stderr.on("data", (b) => err += b);
      const code = await new Promise((r) => child.once("exit", r));
      assert.equal(code, 2);
      assert.match(
        err,
        /node:sqlite needs Node 22\.13 or later \(this is Node v\d+/,
      );
      assert.match(err, /--driver better-sqlite3/);
    } finally {
      rmSync(dir, { recursive: true });
    }
  },
);
