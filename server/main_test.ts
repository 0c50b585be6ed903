import assert from "node:assert/strict";
import { openNodeSqlite } from "../storage/sqlite/drivers/node_sqlite.ts";
import { openSqliteStore } from "../storage/sqlite/mod.ts";
import { SECOND_SIGNAL } from "./runtime/signals.ts";

const MAIN = new URL("./main.ts", import.meta.url).pathname;
const CONFIG = new URL("../deno.json", import.meta.url).pathname;

function spawn(args: string[], env: Record<string, string>, cwd?: string) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", CONFIG, MAIN, ...args],
    env,
    cwd,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Reads stdout lines until one parses as JSON with `port`. */
async function addressLine(child: Deno.ChildProcess) {
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  const lines: Record<string, unknown>[] = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`exited before listening: ${buf}`);
    buf += value;
    let nl;
    while ((nl = buf.indexOf("\n")) !== -1) {
      const line = JSON.parse(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
      lines.push(line);
      if (typeof line.port === "number") {
        reader.releaseLock();
        child.stdout.cancel().catch(() => {});
        return { port: line.port as number, lines };
      }
    }
  }
}

Deno.test("main refuses to start without BUS_SECRET", async () => {
  const dir = await Deno.makeTempDir();
  const child = spawn(["--port", "0", "--db", `${dir}/x.db`], {});
  const out = await child.output();
  assert.equal(out.code, 2);
  assert.match(new TextDecoder().decode(out.stderr), /BUS_SECRET is not set/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("main ends with one error line and exit 2 for a bad variable, and for a port in use after closing the database", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const bad = await spawn(["--port", "0", "--db", `${dir}/a.db`], {
      BUS_SECRET: "k",
      BUS_RATE_LIMIT: "abc",
    }).output();
    assert.equal(bad.code, 2);
    const err = new TextDecoder().decode(bad.stderr).trim();
    assert.equal(err.split("\n").length, 1, err);
    assert.match(JSON.parse(err).msg, /Invalid BUS_RATE_LIMIT: "abc"/);

    const first = spawn(["--port", "0", "--db", `${dir}/b.db`], {
      BUS_SECRET: "k",
    });
    const { port } = await addressLine(first);
    await (await fetch(`http://127.0.0.1:${port}/health`)).body?.cancel();
    try {
      const taken = await spawn(
        ["--port", String(port), "--db", `${dir}/c.db`],
        { BUS_SECRET: "k" },
      ).output();
      assert.equal(taken.code, 2);
      const lines = new TextDecoder().decode(taken.stderr).trim().split("\n")
        .map((l) => JSON.parse(l));
      assert.match(lines.at(-1).msg, new RegExp(`Cannot listen on .*:${port}`));
      assert.ok(lines.some((l) => l.msg === "database closed"));
      // Closed cleanly: nothing of the WAL is left behind.
      assert.equal(await Deno.stat(`${dir}/c.db-wal`).catch(() => null), null);
    } finally {
      first.kill("SIGTERM");
      assert.equal((await first.status).code, 0);
      await first.stderr.cancel();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * Serves `path` with `--no-extensions` until it answers `/health` (its signal
 * handlers are then in place), stops it with SIGTERM (exit 0), and returns
 * its log lines.
 */
async function noExtensionsRun(
  path: string,
): Promise<Record<string, string>[]> {
  const child = spawn(
    ["--port", "0", "--db", path, "--no-extensions"],
    { BUS_SECRET: "k" },
  );
  const { port } = await addressLine(child);
  await (await fetch(`http://127.0.0.1:${port}/health`)).body?.cancel();
  child.kill("SIGTERM");
  assert.equal((await child.status).code, 0);
  return (await new Response(child.stderr).text()).trim().split("\n")
    .map((l) => JSON.parse(l));
}

Deno.test("main --no-extensions warns of goals left paused, which it cannot resume", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const store = await openSqliteStore({ path: `${dir}/p.db` });
    await store.goalPause({ namespace: "default", goal: "held", now: 1 });
    await store.close();
    const lines = await noExtensionsRun(`${dir}/p.db`);
    const warned = lines.find((l) => l.msg.startsWith("paused goals stay"));
    assert.deepEqual(warned?.paused, ["default/held"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "a server out of file descriptors (idle connections held open) listens again once they are gone, instead of exiting",
  ignore: Deno.build.os !== "linux",
}, async () => {
  const dir = await Deno.makeTempDir();
  const child = new Deno.Command("sh", {
    args: [
      "-c",
      'ulimit -n 64 && exec "$0" run -A --config "$1" "$2" --port 0 --db "$3"',
      Deno.execPath(),
      CONFIG,
      MAIN,
      `${dir}/fd.db`,
    ],
    env: { BUS_SECRET: "k" },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const held: Deno.Conn[] = [];
  try {
    const { port } = await addressLine(child);
    // Each sends half a request head and waits: Deno never times them out.
    let refused = false;
    for (let i = 0; i < 100 && !refused; i++) {
      try {
        const c = await Deno.connect({ port });
        await c.write(new TextEncoder().encode("GET /health HTTP/1.1\r\n"));
        held.push(c);
      } catch {
        refused = true;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.ok(refused, "the descriptors ran out");
    for (const c of held.splice(0)) c.close();
    let status = 0;
    for (const end = Date.now() + 15_000; status !== 200;) {
      assert.ok(Date.now() < end, "not listening again within 15 s");
      await new Promise((r) => setTimeout(r, 200));
      status = await fetch(`http://127.0.0.1:${port}/health`)
        .then(async (r) => (await r.body?.cancel(), r.status), () => 0);
    }
    child.kill("SIGTERM");
    assert.equal((await child.status).code, 0);
    const log = await new Response(child.stderr).text();
    assert.match(log, /listener failed; listening again/);
  } finally {
    for (const c of held) c.close();
    try {
      child.kill("SIGKILL");
    } catch {
      // Already exited.
    }
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a second SIGTERM during a graceful shutdown says so in one line and exits at once with 143", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/two.db`;
  const child = spawn(["--port", "0", "--db", path], { BUS_SECRET: "k" });
  const other = openNodeSqlite({ path });
  try {
    const { port } = await addressLine(child);
    await (await fetch(`http://127.0.0.1:${port}/health`)).body?.cancel();
    // A publish waits for the lock held here: the shutdown waits for it.
    other.exec("PRAGMA busy_timeout = 0; BEGIN IMMEDIATE");
    const publish = fetch(`http://127.0.0.1:${port}/intent`, {
      method: "POST",
      headers: { "X-API-KEY": "k" },
      body: '{"goal":"g","payload":1}',
    }).then(async (r) => (await r.body?.cancel(), r.status), () => 0);
    await new Promise((r) => setTimeout(r, 200));
    child.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 300));
    child.kill("SIGTERM");
    assert.equal((await child.status).code, 143);
    assert.equal(await publish, 0, "cut, not answered");
    const lines = (await new Response(child.stderr).text()).trim().split("\n")
      .map((l) => JSON.parse(l));
    const last = lines.at(-1);
    assert.equal(last.msg, SECOND_SIGNAL);
    assert.equal(last.signal, "SIGTERM");
  } finally {
    other.exec("ROLLBACK");
    other.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("main --help names the command that started it", async () => {
  const { main } = await import("./main.ts");
  const shown: string[] = [];
  const log = console.log;
  console.log = (s: string) => shown.push(s);
  try {
    await main(["--help"], {});
    await main(["--help"], {}, { usage: "intentbus serve [flags]" });
  } finally {
    console.log = log;
  }
  assert.match(shown[0], /Usage: deno task start \[flags\]/);
  assert.match(shown[1], /Usage: intentbus serve \[flags\]/);
});

Deno.test("main prints its address, serves, and closes the database on SIGTERM", async () => {
  const dir = await Deno.makeTempDir();
  const db = `${dir}/bus.db`;
  const child = spawn(["--port", "0", "--db", db], { BUS_SECRET: "s3cret" });
  const { port } = await addressLine(child);
  const res = await fetch(`http://127.0.0.1:${port}/intent`, {
    method: "POST",
    headers: { "X-API-KEY": "s3cret", "Content-Type": "application/json" },
    body: '{"goal":"g","payload":{"n":1}}',
  });
  assert.equal(res.status, 201);
  const { id } = await res.json();
  child.kill("SIGTERM");
  const status = await child.status;
  assert.equal(status.code, 0);
  const stderr = await new Response(child.stderr).text();
  assert.match(stderr, /database closed/);
  // The checkpoint thread closed first, so the store's connection, closing
  // last, copied the WAL into the file and removed it.
  await assert.rejects(Deno.stat(`${db}-wal`), Deno.errors.NotFound);
  const store = await openSqliteStore({ path: db });
  assert.equal((await store.intentGet({ id }))?.goal, "g");
  await store.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("main --dev generates and prints a master key that works", async () => {
  const dir = await Deno.makeTempDir();
  const child = spawn(["--dev", "--port", "0", "--db", `${dir}/bus.db`], {});
  const { port, lines } = await addressLine(child);
  const key = lines.find((l) => typeof l.master_key === "string")!
    .master_key as string;
  const res = await fetch(`http://127.0.0.1:${port}/claim?goal=g`, {
    method: "POST",
    headers: { "X-API-KEY": key },
  });
  assert.equal(res.status, 204);
  await res.body?.cancel();
  child.kill("SIGINT");
  assert.equal((await child.status).code, 0);
  await child.stderr.cancel();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("SIGTERM ends a waiting long poll with 204 and the server exits cleanly", async () => {
  const dir = await Deno.makeTempDir();
  const child = spawn(
    ["--port", "0", "--db", `${dir}/bus.db`, "--log-level", "debug"],
    { BUS_SECRET: "s3cret" },
  );
  const { port } = await addressLine(child);
  const poll = fetch(`http://127.0.0.1:${port}/claim?goal=g&wait=30`, {
    method: "POST",
    headers: { "X-API-KEY": "s3cret" },
  });
  // Wait until the server logs that the poll is waiting, then stop it.
  const lines = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!seen.includes("long poll waiting")) {
    const { done, value } = await lines.read();
    if (done) throw new Error(`server exited: ${seen}`);
    seen += value;
  }
  child.kill("SIGTERM");
  const res = await poll;
  assert.equal(res.status, 204);
  await res.body?.cancel();
  assert.equal((await child.status).code, 0);
  await lines.cancel();
  await Deno.remove(dir, { recursive: true });
});

const BAD_FLAGS: [string[], RegExp][] = [
  [["--driver", "nope"], /Unknown SQLite driver/],
  [["--checkpoint", "sometimes"], /Invalid --checkpoint: "sometimes"/],
  // SQLite would run on a private temporary database, lost at exit.
  [["--db", ""], /Invalid --db: ""/],
  [["--db", "  "], /Invalid --db: " {2}"/],
  // Number() takes all of these; a port is decimal digits.
  [["--port", ""], /Invalid --port: ""/],
  [["--port", "0x6b8c"], /Invalid --port: "0x6b8c"/],
  [["--port", "1e3"], /Invalid --port: "1e3"/],
  [["--port", " 27614 "], /Invalid --port: " 27614 "/],
  [["--port", "27615.0"], /Invalid --port: "27615.0"/],
  [["--port", "65536"], /Invalid --port: "65536"/],
  // The URL parser's message quotes the URL: its password is hidden too.
  [
    ["--db", "postgres://u:secretpw@[bad/db"],
    /Invalid URL: 'postgres:\/\/u:\*\*\*@\[bad\/db'/,
  ],
  [["--db", "postgres://u:secretpw@host:99999/db"], /u:\*\*\*@host:99999/],
];

const BAD_ENV: [Record<string, string>, RegExp][] = [
  [{ BUS_REQUIRE_SIGNATURES: "ture" }, /Invalid BUS_REQUIRE_SIGNATURES/],
  [{ BUS_EXTENSIONS: "enabled" }, /Invalid BUS_EXTENSIONS: "enabled"/],
  [{ BUS_OPEN_QUOTA: "9007199254740993" }, /Invalid BUS_OPEN_QUOTA/],
  [{ BUS_RATE_LIMIT: "0x10" }, /Invalid BUS_RATE_LIMIT: "0x10"/],
  [{ BUS_EMPTY_HOLD_MS: "60000" }, /Invalid BUS_EMPTY_HOLD_MS: "60000"/],
  [{ BUS_RETENTION_DAYS: "0" }, /Invalid BUS_RETENTION_DAYS: "0"/],
  [{ BUS_PG_POOL: "1e3" }, /Invalid BUS_PG_POOL: "1e3"/],
  // Named as the variable it came from, not as a flag never passed.
  [{ BUS_CHECKPOINT: "x" }, /Invalid BUS_CHECKPOINT: "x"/],
];

for (
  const [flags, env, message] of [
    ...BAD_FLAGS.map(([f, m]) => [f, {}, m] as const),
    ...BAD_ENV.map(([e, m]) => [[], e, m] as const),
  ]
) {
  const shown = [
    ...flags.map((f) => JSON.stringify(f)),
    ...Object.entries(env)
      .map(([k, v]) => `${k}=${v}`),
  ].join(" ");
  Deno.test(`main reports ${shown} as one JSON error line and exits 2`, async () => {
    const dir = await Deno.makeTempDir();
    const child = spawn(
      ["--port", "0", "--db", `${dir}/x.db`, ...flags],
      { BUS_SECRET: "s", ...env },
    );
    // A server that wrongly starts is stopped, failing the test.
    const stop = setTimeout(() => child.kill("SIGKILL"), 60_000);
    const out = await child.output();
    clearTimeout(stop);
    const err = new TextDecoder().decode(out.stderr).trim();
    assert.equal(out.code, 2, err);
    assert.doesNotMatch(err, /secretpw/);
    const line = JSON.parse(err);
    assert.equal(line.level, "error");
    assert.match(line.msg, message);
    await Deno.remove(dir, { recursive: true });
  });
}

for (const dbPath of ["", "  "]) {
  Deno.test(`empty BUS_DB_PATH (${JSON.stringify(dbPath)}), BUS_PG_POOL, BUS_PG_TIMEOUT_MS and BUS_CHECKPOINT count as unset: the server keeps its intents in ./intentbus.db`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      const child = spawn(["--port", "0"], {
        BUS_SECRET: "k",
        BUS_DB_PATH: dbPath,
        BUS_PG_POOL: "",
        BUS_PG_TIMEOUT_MS: "",
        BUS_CHECKPOINT: "",
        BUS_REQUIRE_SIGNATURES: "",
      }, dir);
      const { port } = await addressLine(child);
      const res = await fetch(`http://127.0.0.1:${port}/intent`, {
        method: "POST",
        headers: { "X-API-KEY": "k" },
        body: '{"goal":"keep","payload":1}',
      });
      assert.equal(res.status, 201);
      const { id } = await res.json();
      child.kill("SIGTERM");
      assert.equal((await child.status).code, 0);
      await child.stderr.cancel();
      const store = await openSqliteStore({ path: `${dir}/intentbus.db` });
      assert.equal((await store.intentGet({ id }))?.goal, "keep");
      await store.close();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

/**
 * Runs main.ts to its end as an unprivileged user: as the user itself, or,
 * under root (whom no file mode stops), as `nobody` with a cache of its own.
 * Killed after 60 s, so a server that wrongly starts fails the test.
 */
async function runUnprivileged(dir: string, args: string[]) {
  const root = Deno.uid() === 0;
  const env: Record<string, string> = { BUS_SECRET: "k" };
  if (root) {
    env.DENO_DIR = `${dir}/deno_dir`;
    await Deno.mkdir(env.DENO_DIR, { recursive: true });
    await Deno.chmod(env.DENO_DIR, 0o777);
  }
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", CONFIG, MAIN, ...args],
    env,
    clearEnv: true,
    ...(root ? { uid: 65534, gid: 65534 } : {}),
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr).trim(),
  };
}

Deno.test({
  name:
    "main refuses at startup, in one line with exit 2, a database it may read but not write: a 0444 file, or -wal and -shm files of another user",
  ignore: Deno.build.os === "windows",
}, async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.chmod(dir, 0o777);
    const path = `${dir}/ro.db`;
    await (await openSqliteStore({ path })).close();
    await Deno.chmod(path, 0o444);
    const ro = await runUnprivileged(dir, ["--port", "0", "--db", path]);
    assert.equal(ro.code, 2, ro.stderr);
    assert.doesNotMatch(ro.stdout, /listening/);
    assert.equal(ro.stderr.split("\n").length, 1, ro.stderr);
    assert.match(JSON.parse(ro.stderr).msg, /readonly database.*-wal/);

    if (Deno.uid() !== 0) return;
    // Root's server was killed: the file is nobody's, its -wal and -shm
    // (held open here, as the killed server left them) stay root's.
    const held = await openSqliteStore({ path: `${dir}/rw.db` });
    try {
      await Deno.chown(`${dir}/rw.db`, 65534, 65534);
      const rw = await runUnprivileged(dir, ["--db", `${dir}/rw.db`]);
      assert.equal(rw.code, 2, rw.stderr);
      assert.match(JSON.parse(rw.stderr).msg, /readonly database/);
    } finally {
      await held.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("main --no-extensions on a damaged database warns that it could not check for paused goals, and serves", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/damaged.db`;
  try {
    await (await openSqliteStore({ path })).close();
    // Overwrite every page of the intents table and its indexes.
    const db = openNodeSqlite({ path });
    const size = Number(db.prepare("PRAGMA page_size").get()?.page_size);
    const roots = db.prepare(
      "SELECT rootpage FROM sqlite_master WHERE tbl_name = 'intents' AND rootpage > 0",
    ).all().map((r) => Number(r.rootpage));
    db.close();
    const file = await Deno.open(path, { write: true });
    for (const page of roots) {
      await file.seek((page - 1) * size, Deno.SeekMode.Start);
      await file.write(new Uint8Array(size).fill(0x55));
    }
    file.close();
    const lines = await noExtensionsRun(path);
    const warned = lines.find((l) =>
      l.msg === "could not check for paused goals"
    );
    assert.match(String(warned?.error), /malformed/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
