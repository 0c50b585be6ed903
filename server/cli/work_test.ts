// `intentbus work` running real shell commands against a real server.
import assert from "node:assert/strict";
import { IntentClient } from "../../sdk/client.ts";
import { startBusServer } from "../../sdk/testing/bus_server.ts";
import { startTcpProxy } from "../../sdk/testing/tcp_proxy.ts";
import { spawnCli, until } from "./_testing.ts";

async function stopped(child: Deno.ChildProcess) {
  child.kill("SIGTERM");
  const out = await child.output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

/**
 * Waits until the command wrote its pid to `dir/pid`; returns whether that
 * process is alive (not a zombie).
 */
async function startedCommand(dir: string): Promise<() => Promise<boolean>> {
  let pid = "";
  await until(async () => {
    pid = (await Deno.readTextFile(`${dir}/pid`).catch(() => "")).trim();
    return pid !== "";
  }, "command started");
  return () =>
    Deno.readTextFile(`/proc/${pid}/stat`).then(
      (stat) => !/^\d+ \(.*\) Z/.test(stat),
      () => false,
    );
}

for (const extensions of [true, false]) {
  const mode = extensions ? "" : " (extensions off)";

  Deno.test(`work pipes each payload to sh -c 'cat; echo done' and stores stdout as the result${mode}`, async () => {
    await using bus = await startBusServer({
      env: extensions ? {} : { BUS_EXTENSIONS: "false" },
    });
    const client = new IntentClient({ url: bus.url, apiKey: bus.masterKey });
    const ids: string[] = [];
    for (let n = 0; n < 3; n++) {
      ids.push((await client.publish("cli.echo", { n })).id);
    }
    const json = (await client.publish("cli.json", { n: 9 })).id;
    const env = { INTENT_BUS_URL: bus.url, INTENT_API_KEY: bus.masterKey };
    const echo = spawnCli(
      [
        "work",
        "cli.echo",
        "--concurrency",
        "2",
        "--",
        "sh",
        "-c",
        "cat; echo done",
      ],
      env,
    );
    // Stdout that parses as JSON is a JSON result; the env carries the intent.
    const script = 'printf \'{"id":"%s","goal":"%s","payload":%s}\' ' +
      '"$INTENT_ID" "$INTENT_GOAL" "$INTENT_PAYLOAD"';
    const structured = spawnCli(
      ["work", "cli.json", "--", "sh", "-c", script],
      env,
    );
    await until(async () => {
      const all = await Promise.all(
        [...ids, json].map((id) => client.result(id)),
      );
      return all.every((r) => r.status === "fulfilled");
    }, "all fulfilled");
    for (const [n, id] of ids.entries()) {
      const r = await client.result(id);
      assert.equal(r.result, `{"n":${n}}done`);
      assert.equal(r.result_type, "text");
    }
    const r = await client.result(json);
    assert.deepEqual(r.result, {
      id: json,
      goal: "cli.json",
      payload: { n: 9 },
    });
    assert.equal(r.result_type, "json");
    let log = "";
    for (const child of [echo, structured]) {
      const end = await stopped(child);
      assert.equal(end.code, 0, end.stderr);
      assert.match(end.stderr, /stopped: \d fulfilled, 0 failed/);
      log += end.stderr;
    }
    // One line per intent, after its acknowledgement.
    for (const id of [...ids, json]) {
      assert.match(log, new RegExp(`${id} done\n`));
    }
  });
}

Deno.test("a failing command fails its intent with the end of its stderr", async () => {
  await using bus = await startBusServer();
  const client = new IntentClient({ url: bus.url, apiKey: bus.masterKey });
  const { id } = await client.publish("cli.fail", 1, { maxAttempts: 1 });
  const loud = (await client.publish("cli.fail", 2, { maxAttempts: 1 })).id;
  const quiet = (await client.publish("cli.fail", 3, { maxAttempts: 1 })).id;
  const script =
    'read p; if [ "$p" = 1 ]; then echo "disk full" >&2; exit 3; fi; ' +
    'if [ "$p" = 2 ]; then head -c 2000 /dev/zero | tr "\\0" x >&2; echo END >&2; exit 1; fi; ' +
    "kill -9 $$";
  const worker = spawnCli(["work", "cli.fail", "--", "sh", "-c", script], {
    INTENT_BUS_URL: bus.url,
    INTENT_API_KEY: bus.masterKey,
  });
  await until(async () => {
    const all = await Promise.all(
      [id, loud, quiet].map((i) => client.status(i)),
    );
    return all.every((s) => s.status === "dead");
  }, "all dead");
  assert.equal((await client.status(id)).last_error, "disk full");
  const long = (await client.status(loud)).last_error as string;
  assert.equal(long.length, 500);
  assert.ok(
    long.endsWith("xxxEND"),
    `the end of stderr is kept: ${long.slice(-20)}`,
  );
  assert.equal((await client.status(quiet)).last_error, "Exited with SIGKILL");
  const end = await stopped(worker);
  assert.equal(end.code, 0);
  assert.match(end.stderr, new RegExp(`${id} failed \\(3\\)\n`));
  assert.match(end.stderr, new RegExp(`${loud} failed \\(1\\)\n`));
  assert.match(end.stderr, new RegExp(`${quiet} failed \\(SIGKILL\\)\n`));
  assert.doesNotMatch(end.stderr, / done\n/);
});

Deno.test("a command running past --timeout is killed and its intent failed", async () => {
  await using bus = await startBusServer();
  const client = new IntentClient({ url: bus.url, apiKey: bus.masterKey });
  const { id } = await client.publish("cli.slow", 1, { maxAttempts: 1 });
  const marker = await Deno.makeTempFile();
  // The shell starts a child sleep: the kill must reach the whole group,
  // or the sleep would keep the output pipes open for 30 s.
  const worker = spawnCli([
    "work",
    "cli.slow",
    "--timeout",
    "0.5",
    "--",
    "sh",
    "-c",
    `sleep 30; echo late > ${marker}`,
  ], { INTENT_BUS_URL: bus.url, INTENT_API_KEY: bus.masterKey });
  await until(async () => (await client.status(id)).status === "dead", "dead");
  assert.equal((await client.status(id)).last_error, "Timed out after 0.5 s");
  const end = await stopped(worker);
  assert.equal(end.code, 0);
  assert.match(end.stderr, new RegExp(`${id} failed \\(timed out\\)\n`));
  assert.equal(
    await Deno.readTextFile(marker),
    "",
    "the command never finished",
  );
  await Deno.remove(marker);
});

Deno.test("a result refused as too large and a command that cannot start are logged failed, never done", async () => {
  await using bus = await startBusServer();
  const client = new IntentClient({ url: bus.url, apiKey: bus.masterKey });
  const env = { INTENT_BUS_URL: bus.url, INTENT_API_KEY: bus.masterKey };
  const big = (await client.publish("cli.big", 1, { maxAttempts: 1 })).id;
  const missing = (await client.publish("cli.nocmd", 1, { maxAttempts: 1 }))
    .id;
  const large = spawnCli(
    [
      "work",
      "cli.big",
      "--",
      "sh",
      "-c",
      "head -c 9000 /dev/zero | tr '\\0' x",
    ],
    env,
  );
  const absent = spawnCli(["work", "cli.nocmd", "--", "/no/such/command"], env);
  await until(async () => {
    const all = await Promise.all([big, missing].map((i) => client.status(i)));
    return all.every((s) => s.status === "dead");
  }, "both dead");
  assert.match(
    String((await client.status(big)).last_error),
    /^Result refused: /,
  );
  assert.match(
    String((await client.status(missing)).last_error),
    /^Cannot run "\/no\/such\/command"/,
  );
  const a = await stopped(large);
  assert.match(a.stderr, new RegExp(`${big} failed \\(result refused\\)\n`));
  assert.doesNotMatch(a.stderr, / done\n/);
  const b = await stopped(absent);
  assert.match(b.stderr, new RegExp(`${missing} failed \\(not started\\)\n`));
});

Deno.test("work exits 4 when its key is refused and 2 without a command", async () => {
  await using bus = await startBusServer();
  const refused = await spawnCli(["work", "g", "--", "true"], {
    INTENT_BUS_URL: bus.url,
    INTENT_API_KEY: "not-a-key",
  }).output();
  assert.equal(refused.code, 4);
  const env = { INTENT_BUS_URL: bus.url, INTENT_API_KEY: bus.masterKey };
  for (
    const args of [
      ["work", "g"],
      ["work", "g", "--"],
      ["work", "--", "true"],
      ["work", "", "--", "cat"],
      ["work", " ", "--", "cat"],
    ]
  ) {
    assert.equal((await spawnCli(args, env).output()).code, 2, args.join(" "));
  }
});

Deno.test("SIGTERM lets a running command finish within --grace, then kills it and releases its intent", async () => {
  await using bus = await startBusServer();
  const client = new IntentClient({ url: bus.url, apiKey: bus.masterKey });
  const { id } = await client.publish("cli.grace", 1);
  const worker = spawnCli(
    ["work", "cli.grace", "--grace", "0.3", "--", "sleep", "30"],
    { INTENT_BUS_URL: bus.url, INTENT_API_KEY: bus.masterKey },
  );
  await until(
    async () => (await client.status(id)).status === "claimed",
    "claimed",
  );
  const end = await stopped(worker);
  assert.equal(end.code, 0, end.stderr);
  assert.match(end.stderr, /0 fulfilled, 0 failed, 1 released/);
  const s = await client.status(id);
  assert.equal(s.status, "open", "given back");
  assert.equal(s.claim_attempts, 0, "without using up an attempt");
});

Deno.test("a lost lease kills the running command and acknowledges nothing", async () => {
  await using bus = await startBusServer();
  const admin = new IntentClient({
    url: bus.url,
    apiKey: bus.masterKey,
    adminToken: bus.adminToken,
  });
  const { id } = await admin.publish("cli.lost", 1);
  const dir = await Deno.makeTempDir();
  const worker = spawnCli(
    [
      "work",
      "cli.lost",
      "--lease",
      "10",
      "--",
      "sh",
      "-c",
      `echo $$ > ${dir}/pid; exec sleep 30`,
    ],
    { INTENT_BUS_URL: bus.url, INTENT_API_KEY: bus.masterKey },
  );
  let pid = "";
  await until(async () => {
    pid = await Deno.readTextFile(`${dir}/pid`).catch(() => "");
    return pid.trim() !== "";
  }, "command started");
  const alive = () =>
    Deno.stat(`/proc/${pid.trim()}`).then(() => true, () => false);
  assert.ok(await alive());
  await admin.adminCancel(id);
  // The next heartbeat (a third of the 10 s lease) finds the lease gone.
  await until(async () => !(await alive()), "command killed", 15_000);
  const end = await stopped(worker);
  assert.equal(end.code, 0, end.stderr);
  assert.match(end.stderr, /0 fulfilled, 0 failed, 0 released, 1 lost/);
  assert.equal((await admin.status(id)).status, "dead");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("work gives the command its own key but none of the server's or admins' secrets", async () => {
  await using bus = await startBusServer();
  const client = new IntentClient({ url: bus.url, apiKey: bus.masterKey });
  const { id } = await client.publish("cli.env", {});
  const child = spawnCli(
    ["work", "cli.env", "--", "sh", "-c", "env | sort"],
    {
      INTENT_BUS_URL: bus.url,
      INTENT_API_KEY: bus.masterKey,
      // What a Termux run script exports beside the worker's own settings.
      BUS_SECRET: "server-secret",
      BUS_ADMIN_SECRET: "admin-secret",
      INTENT_ADMIN_TOKEN: "admin-token",
      DASHBOARD_PASSWORD: "dash",
      BUS_METRICS_TOKEN: "metrics",
    },
  );
  await until(
    async () => (await client.result(id)).status === "fulfilled",
    "fulfilled",
  );
  await stopped(child);
  const env = String((await client.result(id)).result);
  assert.match(env, new RegExp(`^INTENT_API_KEY=${bus.masterKey}$`, "m"));
  assert.match(env, /^INTENT_ID=/m);
  for (const secret of ["server-secret", "admin-secret", "admin-token"]) {
    assert.doesNotMatch(env, new RegExp(secret));
  }
  assert.doesNotMatch(
    env,
    /^(BUS_SECRET|DASHBOARD_PASSWORD|BUS_METRICS_TOKEN)=/m,
  );
});

Deno.test("a text result stays text when its acknowledgement is tried again", async () => {
  await using bus = await startBusServer();
  await using proxy = await startTcpProxy(bus.url);
  const client = new IntentClient({ url: bus.url, apiKey: bus.masterKey });
  const { id } = await client.publish("cli.text", {});
  // More cuts than the client's own tries: the Worker acks again.
  proxy.cut("/ack", 6);
  const worker = spawnCli(["work", "cli.text", "--", "echo", "hello world"], {
    INTENT_BUS_URL: proxy.url,
    INTENT_API_KEY: bus.masterKey,
  });
  await until(
    async () => (await client.result(id)).status === "fulfilled",
    "fulfilled",
  );
  const end = await stopped(worker);
  assert.ok(proxy.seen("/ack") > 4, "the Worker tried the ack again");
  const r = await client.result(id);
  assert.equal(r.result, "hello world");
  assert.equal(r.result_type, "text", end.stderr);
});

Deno.test("at shutdown an intent is given back only once its command, deaf to SIGTERM, has been killed", async () => {
  await using bus = await startBusServer();
  const client = new IntentClient({ url: bus.url, apiKey: bus.masterKey });
  const { id } = await client.publish("cli.deaf", 1);
  const dir = await Deno.makeTempDir();
  const worker = spawnCli(
    [
      "work",
      "cli.deaf",
      "--grace",
      "0.3",
      "--",
      "sh",
      "-c",
      `trap "" TERM; echo $$ > ${dir}/pid; while :; do sleep 0.1; done`,
    ],
    { INTENT_BUS_URL: bus.url, INTENT_API_KEY: bus.masterKey },
  );
  const alive = await startedCommand(dir);
  assert.ok(await alive());
  worker.kill("SIGTERM");
  let aliveWhenOpen: boolean | undefined;
  await until(async () => {
    if ((await client.status(id)).status !== "open") return false;
    aliveWhenOpen = await alive();
    return true;
  }, "given back");
  const out = await worker.output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  assert.equal(aliveWhenOpen, false, "the command was dead when released");
  assert.match(stderr, /0 fulfilled, 0 failed, 1 released/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a command is killed when no lease renewal is answered before the lease ends", async () => {
  await using bus = await startBusServer();
  await using proxy = await startTcpProxy(bus.url);
  const client = new IntentClient({ url: bus.url, apiKey: bus.masterKey });
  const { id } = await client.publish("cli.stall", 1);
  proxy.stall("/extend_claim/");
  const dir = await Deno.makeTempDir();
  const worker = spawnCli(
    [
      "work",
      "cli.stall",
      "--lease",
      "10",
      "--",
      "sh",
      "-c",
      `echo $$ > ${dir}/pid; exec sleep 60`,
    ],
    { INTENT_BUS_URL: proxy.url, INTENT_API_KEY: bus.masterKey },
  );
  const alive = await startedCommand(dir);
  // Killed before the 10 s lease ends, though every renewal hangs.
  await until(async () => !(await alive()), "command killed", 15_000);
  const s = await client.status(id);
  assert.equal(s.status, "claimed", "killed while the lease still held");
  assert.equal(s.claim_attempts, 1);
  const end = await stopped(worker);
  assert.equal(end.code, 0, end.stderr);
  assert.match(end.stderr, /Lease ran out/);
  assert.match(end.stderr, /0 fulfilled, 0 failed, 0 released, 1 lost/);
  await Deno.remove(dir, { recursive: true });
});
