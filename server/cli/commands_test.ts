// publish, status, keys, dead and --help against a real server process.
import assert from "node:assert/strict";
import { IntentClient } from "../../sdk/client.ts";
import { startBusServer } from "../../sdk/testing/bus_server.ts";
import { runCli, spawnCli, until } from "./_testing.ts";

Deno.test("publish prints the id and status prints the intent; exit codes 0, 2, 3 and 4", async () => {
  await using bus = await startBusServer();
  const env = { INTENT_BUS_URL: bus.url, INTENT_API_KEY: bus.masterKey };
  const pub = await runCli([
    "publish",
    "cli.pub",
    '{"w":640}',
    "--priority",
    "500",
    "--max-attempts",
    "2",
    "--idempotency-key",
    "k1",
  ], env);
  assert.equal(pub.code, 0, pub.stderr);
  const id = pub.stdout.trim();
  assert.match(id, /^[0-9a-f]{32}$/);
  const replay = await runCli(
    ["publish", "cli.pub", '{"w":640}', "--priority", "500"].concat(
      ["--max-attempts", "2", "--idempotency-key", "k1"],
    ),
    env,
  );
  assert.equal(replay.stdout.trim(), id, "same key, same intent");

  const status = await runCli(["status", id], env);
  assert.equal(status.code, 0, status.stderr);
  const shown = JSON.parse(status.stdout);
  assert.equal(shown.status, "open");
  assert.equal(shown.priority, 500);
  assert.equal(shown.max_attempts, 2);

  const missing = await runCli(["status", "f".repeat(32)], env);
  assert.equal(missing.code, 3);
  assert.match(missing.stderr, /not_found/);
  const refused = await runCli(["status", id, "--key", "wrong"], env);
  assert.equal(refused.code, 4);
  for (
    const args of [
      ["publish", "cli.pub", "{not json"],
      ["publish", "cli.pub"],
      ["publish", "cli.pub", "1", "--priority", "5000"],
      ["publish", "cli.pub", "1", "--bogus"],
      // Whole numbers only where the server or the worker takes only those.
      ["publish", "cli.pub", "1", "--max-attempts", "2.5"],
      ["publish", "cli.pub", "1", "--priority", "1.5"],
      ["work", "cli.pub", "--concurrency", "2.5", "--", "true"],
      ["work", "cli.pub", "--lease", "30.5", "--", "true"],
      ["dead", "list", "--limit", "2.5"],
      ["status"],
      ["nonsense"],
      [],
    ]
  ) {
    const r = await runCli(args, env);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, /Try --help\.\n$/, args.join(" "));
  }
  const noUrl = await runCli(["status", id], { INTENT_API_KEY: "k" });
  assert.equal(noUrl.code, 2);
  assert.match(noUrl.stderr, /INTENT_BUS_URL/);
  const down = await runCli(["status", id], {
    INTENT_BUS_URL: "http://127.0.0.1:1",
    INTENT_API_KEY: "k",
  });
  assert.equal(down.code, 1, "an unreachable server is a failure");
});

Deno.test("keys create prints a working key and keys revoke refuses it from then on", async () => {
  await using bus = await startBusServer();
  const admin = { INTENT_BUS_URL: bus.url, BUS_ADMIN_SECRET: bus.adminToken };
  const created = await runCli(["keys", "create", "billing"], admin);
  assert.equal(created.code, 0, created.stderr);
  const key = created.stdout.trim();
  const env = { INTENT_BUS_URL: bus.url, INTENT_API_KEY: key };
  assert.equal((await runCli(["publish", "cli.keys", "1"], env)).code, 0);
  const revoked = await runCli(
    ["keys", "revoke", key, "--admin-token", bus.adminToken],
    { INTENT_BUS_URL: bus.url },
  );
  assert.equal(revoked.code, 0, revoked.stderr);
  assert.equal((await runCli(["publish", "cli.keys", "1"], env)).code, 4);
  assert.equal((await runCli(["keys", "revoke", key], admin)).code, 3);
  const noToken = await runCli(["keys", "create", "x"], {
    INTENT_BUS_URL: bus.url,
  });
  assert.equal(noToken.code, 2);
  const badToken = await runCli(["keys", "create", "x"], {
    INTENT_BUS_URL: bus.url,
    INTENT_ADMIN_TOKEN: "wrong",
  });
  assert.equal(badToken.code, 4);
});

/**
 * Issues a key with `keys create --db` while a server runs on that store,
 * checks the server takes it at once, revokes it the same way and waits for
 * the server to refuse it (it trusts a looked-up key for up to 5 s).
 */
async function offlineKeyRoundTrip(url: string, db: string): Promise<void> {
  const publish = async (key: string) => {
    const res = await fetch(`${url}/intent`, {
      method: "POST",
      headers: { "X-API-KEY": key, "Content-Type": "application/json" },
      body: JSON.stringify({ goal: "cli.offline", payload: 1 }),
    });
    await res.body?.cancel();
    return res.status;
  };
  // No server URL, no admin token: only the store.
  const created = await runCli(["keys", "create", "phone", "--db", db]);
  assert.equal(created.code, 0, created.stderr);
  const key = created.stdout.trim();
  assert.match(key, /^ib_[A-Za-z0-9_-]{43}$/);
  assert.equal(await publish(key), 201, "accepted at once by the server");

  const revoked = await runCli(["keys", "revoke", key, "--db", db]);
  assert.equal(revoked.code, 0, revoked.stderr);
  assert.equal(revoked.stdout, "revoked\n");
  await until(async () => await publish(key) === 401, "revoked key refused");
  const again = await runCli(["keys", "revoke", key, "--db", db]);
  assert.equal(again.code, 3, again.stderr);
}

Deno.test("keys create --db issues a key offline that a server on the same SQLite file accepts, and keys revoke --db stops it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "intentbus-keys-" });
  const db = `${dir}/bus.db`;
  // The last --db wins: always this SQLite file, also under
  // INTENTBUS_TEST_STORE=postgres.
  await using bus = await startBusServer({ args: ["--db", db] });
  await offlineKeyRoundTrip(bus.url, db);

  for (
    const args of [
      ["keys", "create", "", "--db", db],
      ["keys", "create", "x".repeat(101), "--db", db],
      ["keys", "revoke", "", "--db", db],
      ["keys", "create", "x", "--db", db, "--url", bus.url],
      ["keys", "create", "x", "--db", db, "--admin-token", "t"],
      ["keys", "create", "x", "--driver", "node:sqlite"],
      ["keys", "create", "x", "--db"],
    ]
  ) {
    const r = await runCli(args, { INTENT_BUS_URL: bus.url });
    assert.equal(r.code, 2, `${JSON.stringify(args)}: ${r.stderr}`);
  }
  const longest = await runCli(["keys", "create", "é".repeat(100), "--db", db]);
  assert.equal(longest.code, 0, "100 code points, as the route allows");
  await bus.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test({
  name:
    "keys create --db and keys revoke --db work the same on a PostgreSQL store a server runs on",
  ignore: !Deno.env.get("INTENTBUS_PG_URL"),
  async fn() {
    const { createDatabase } = await import(
      "../../storage/postgres/_cluster.ts"
    );
    const pg = await createDatabase(Deno.env.get("INTENTBUS_PG_URL")!);
    try {
      await using bus = await startBusServer({ args: ["--db", pg.url] });
      await offlineKeyRoundTrip(bus.url, pg.url);
    } finally {
      await pg.drop();
    }
  },
});

Deno.test("dead list shows a dead intent and dead redrive brings it back", async () => {
  await using bus = await startBusServer();
  const client = new IntentClient({ url: bus.url, apiKey: bus.masterKey });
  const { id } = await client.publish("cli.dead", 1, { maxAttempts: 1 });
  const job = await client.claim("cli.dead");
  await client.fail(id, job!.claimToken, "broken");
  const env = { INTENT_BUS_URL: bus.url, BUS_ADMIN_SECRET: bus.adminToken };
  const list = await runCli(["dead", "list", "--goal", "cli.dead"], env);
  assert.equal(list.code, 0, list.stderr);
  const dead = JSON.parse(list.stdout);
  assert.deepEqual(dead.map((d: { id: string }) => d.id), [id]);
  assert.equal(dead[0].last_error, "broken");
  const none = await runCli(["dead", "list", "--goal", "other"], env);
  assert.deepEqual(JSON.parse(none.stdout), []);
  // The next page after the only one: empty.
  const after = await runCli([
    "dead",
    "list",
    "--goal",
    "cli.dead",
    "--before",
    String(dead[0].died_at),
    "--before-id",
    id,
  ], env);
  assert.equal(after.code, 0, after.stderr);
  assert.deepEqual(JSON.parse(after.stdout), []);
  for (
    const args of [
      ["--before", "1"],
      ["--before-id", id],
      ["--before", "x", "--before-id", id],
    ]
  ) {
    assert.equal((await runCli(["dead", "list", ...args], env)).code, 2);
  }
  assert.equal(
    (await runCli(["dead", "redrive", "--before", "1", "--before-id", id], env))
      .code,
    2,
  );
  const redrive = await runCli(["dead", "redrive", "--id", id], env);
  assert.equal(redrive.code, 0, redrive.stderr);
  assert.deepEqual(JSON.parse(redrive.stdout).ids, [id]);
  assert.equal((await client.status(id)).status, "open");
  assert.equal((await runCli(["dead", "purge"], env)).code, 2);
});

Deno.test("every command has --help, and the help lists the exit codes", async () => {
  const commands = ["publish", "work", "status", "dead", "keys"];
  const runs = await Promise.all([
    runCli(["--help"]),
    ...commands.map((c) => runCli([c, "--help"])),
    runCli(["serve", "--help"]),
  ]);
  const version = await runCli(["--", "--version"]);
  assert.equal(version.code, 0, "a leading -- (deno task cli --) is dropped");
  assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
  for (const r of runs.slice(0, -1)) {
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Exit codes: 0 ok, 1 failure.*2 usage error/s);
    // Every flag's text starts in one column, --url's and --key's included.
    const columns = new Set(
      [...r.stdout.matchAll(/^ {2}--\S+(?: <[^>]+>)? {2,}(?=\S)/gm)]
        .map((m) => m[0].length),
    );
    assert.ok(columns.size <= 1, `${[...columns]}:\n${r.stdout}`);
  }
  const serve = runs.at(-1)!;
  assert.equal(serve.code, 0, serve.stderr);
  assert.match(serve.stdout, /--port/);
  assert.match(serve.stdout, /--no-extensions/);
});

Deno.test("serve runs the server with its flags and stops cleanly on SIGTERM", async () => {
  const dir = await Deno.makeTempDir();
  const child = spawnCli([
    "serve",
    "--dev",
    "--port",
    "0",
    "--db",
    `${dir}/bus.db`,
    "--no-extensions",
  ]);
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  let url = "";
  while (url === "") {
    const { value, done } = await lines.read();
    if (done) throw new Error(`serve exited: ${seen}`);
    seen += value;
    url = /"url":"([^"]+)"/.exec(seen)?.[1] ?? "";
  }
  const health = await (await fetch(`${url}/health`)).json();
  assert.equal(health.ok, true);
  assert.equal(health.features, undefined, "--no-extensions passed through");
  child.kill("SIGTERM");
  const drained = (async () => {
    while (!(await lines.read()).done) { /* discard */ }
  })();
  const status = await child.status;
  await drained;
  await child.stderr.cancel();
  assert.equal(status.code, 0);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a PostgreSQL URL given by mistake keeps its password out of the CLI's errors (keys --db, --url)", async () => {
  const keys = await runCli(
    ["keys", "create", "o", "--db", "postgres://u3:hunter2@[bad/db"],
    {},
  );
  assert.equal(keys.code, 1);
  assert.match(keys.stderr, /u3:\*\*\*@/);
  assert.doesNotMatch(keys.stderr, /hunter2/);
  const url = await runCli(["dead", "list"], {
    INTENT_BUS_URL: "postgres://u3:hunter2@host/db",
    INTENT_ADMIN_TOKEN: "t",
  });
  assert.equal(url.code, 2);
  assert.match(url.stderr, /u3:\*\*\*@host/);
  assert.doesNotMatch(url.stderr, /hunter2/);
});
