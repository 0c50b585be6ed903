/**
 * Runs `install.sh` and `uninstall.sh` against a fake Termux (see
 * `_fake_termux.ts`) with the locally packed server tarball, then runs the
 * runit service's `run` script as runit would and talks to the server.
 *
 * Needs `npm-build/dist/` (built by `deno task build:npm` when missing) and
 * npm. Node 20 has no `node:sqlite`, so the installer takes the better-sqlite3
 * path, as on a phone with an old Node: npm runs better-sqlite3's install
 * script, which unpacks the addon this checkout already compiled (see
 * `_fake_termux.ts`), or compiles it (about 3 minutes) with
 * `FAKE_TERMUX_COMPILE=1`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { sha256Hex } from "../server/auth/keys.ts";
import { makeFakeTermux } from "./_fake_termux.ts";
import {
  call,
  envValues,
  freePort,
  INSTALL,
  pollResult,
  serverTarball,
  snapshot,
  startService,
  UNINSTALL,
  waitHealthy,
} from "./_service.ts";

function sorted(files: string[][]): string[][] {
  return files.sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0);
}

function assertNoDuplicateLines(file: string, text: string) {
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  const seen = new Set<string>();
  for (const line of lines) {
    // Shell block keywords legitimately repeat; settings and commands do not.
    if (/^\s*(fi|done|else|esac|;;|\})\s*$/.test(line)) continue;
    assert.ok(!seen.has(line), `${file} repeats the line ${line}`);
    seen.add(line);
  }
}

Deno.test("install.sh installs a server that runit can run, and a second run keeps the key and the data", async (t) => {
  const fake = await makeFakeTermux();
  // A copy, so a rebuild of npm-build/dist during the test changes nothing.
  const tarball = join(fake.root, "intentbus-server.tgz");
  await Deno.copyFile(await serverTarball(), tarball);
  const port = freePort();
  const url = `http://127.0.0.1:${port}`;
  const base = join(fake.home, ".intentbus");
  const envFile = join(base, "env");
  const service = join(fake.prefix, "var", "service", "intentbus");
  const boot = join(fake.home, ".termux", "boot", "intentbus");
  const db = join(base, "data", "intentbus.db");
  let key = "";
  let master = "";
  let adminToken = "";
  let id = "";
  try {
    await t.step(
      "the first run installs, enables the service and prints the workers' issued key",
      async () => {
        const started = performance.now();
        const run = await fake.sh(INSTALL, [
          "--package",
          tarball,
          "--port",
          String(port),
        ]);
        const seconds = (performance.now() - started) / 1000;
        const addon = join(base, "app", "node_modules", "better-sqlite3");
        const compiled = await Deno.stat(join(addon, "build", "Makefile"))
          .then(() => true, () => false);
        console.log(
          `first install.sh run: ${seconds.toFixed(1)} s (better-sqlite3 ${
            compiled ? "compiled" : "unpacked from the local prebuild"
          })`,
        );
        assert.equal(run.code, 0, run.stdout + run.stderr);
        const shown = run.stdout.match(
          /API key for your scripts and the workers \(shown once[^)]*\): (\S+)/,
        );
        assert.ok(shown, run.stdout);
        key = shown[1];
        const env = envValues(await Deno.readTextFile(envFile));
        // The key to publish with is the one issued for the workers; the
        // master key stays in the env file, unprinted.
        assert.equal(env.INTENT_API_KEY, key);
        assert.match(key, /^ib_[A-Za-z0-9_-]{43}$/);
        master = env.BUS_SECRET;
        assert.match(master, /^[0-9a-f]{64}$/);
        assert.ok(!run.stdout.includes(master), run.stdout);
        assert.match(run.stdout, /master key stays in .*env as BUS_SECRET/);
        assert.match(
          run.stdout,
          new RegExp(
            `admin token \\(X-Admin-Token\\): ${env.BUS_ADMIN_SECRET}`,
          ),
        );
        assert.doesNotMatch(run.stdout, /workers use the master key/);
        assert.equal(env.INTENT_BUS_URL, url);
        assert.equal(env.BUS_DB_PATH, db);
        // Node 20 has no node:sqlite: the better-sqlite3 path was taken.
        assert.equal(env.INTENTBUS_DRIVER, "better-sqlite3");
        assert.equal((await Deno.stat(envFile)).mode! & 0o777, 0o600);
        const calls = await fake.calls();
        // node, npm and a compiler are there: only termux-services is missing.
        assert.deepEqual(calls.filter((c) => c.startsWith("pkg ")), [
          "pkg install -y termux-services",
        ]);
        assert.deepEqual(calls.filter((c) => !c.startsWith("pkg ")), [
          "start-services.sh",
          "sv-enable intentbus",
        ]);
        const runScript = await Deno.readTextFile(join(service, "run"));
        assert.ok(runScript.startsWith(`#!${fake.prefix}/bin/sh\n`));
        assert.match(runScript, /^exec .*intentbus' serve /m);
        assert.match(
          await Deno.readTextFile(join(service, "log", "run")),
          /^exec svlogd -tt .*\/var\/log\/sv\/intentbus"$/m,
        );
        await assert.rejects(Deno.stat(join(service, "down")));
        const bootScript = await Deno.readTextFile(boot);
        assert.match(bootScript, /^termux-wake-lock$/m);
        assert.match(bootScript, /start-services\.sh"$/m);
      },
    );

    await t.step(
      "the run script execs the server, which takes the printed key",
      async () => {
        const server = startService(fake, "intentbus");
        try {
          await waitHealthy(url, server);
          // runit supervises the process it started: run must exec node.
          const cmdline = await Deno.readTextFile(
            `/proc/${server.child.pid}/cmdline`,
          );
          assert.match(cmdline, /node\0.*intentbus\0serve\0/);
          const published = await call("POST", `${url}/intent`, key, {
            goal: "termux.test",
            payload: { n: 1 },
          });
          assert.equal(published.status, 201, JSON.stringify(published.json));
          id = String(published.json?.id);
          const claim = await call(
            "POST",
            `${url}/claim?goal=termux.test`,
            key,
          );
          assert.equal(claim.status, 200);
          assert.equal(claim.json?.id, id);
          assert.deepEqual(claim.json?.payload, { n: 1 });
          const done = await call("POST", `${url}/fulfill/${id}`, key, {
            claim_token: claim.json?.claim_token,
            result: { ok: true },
          });
          assert.equal(done.status, 200);
          // The master key works too.
          const byMaster = await call("POST", `${url}/intent`, master, {
            goal: "termux.test",
            payload: { n: 2 },
          });
          assert.equal(byMaster.status, 201, JSON.stringify(byMaster.json));
          assert.equal(
            (await call("POST", `${url}/intent`, "ib_wrong", {
              goal: "termux.test",
              payload: { n: 3 },
            })).status,
            401,
          );
        } finally {
          const status = await server.stop();
          assert.equal(status.code, 0, server.output());
        }
        assert.ok((await Deno.stat(db)).isFile);
      },
    );

    await t.step(
      "a second run changes no file, asks pkg for nothing, restarts the service",
      async () => {
        const before = sorted([
          ...await snapshot(join(fake.prefix, "var")),
          [boot, await Deno.readTextFile(boot)],
          [envFile, await Deno.readTextFile(envFile)],
        ]);
        const callsBefore = (await fake.calls()).length;
        const started = performance.now();
        const run = await fake.sh(INSTALL, []); // the options are remembered
        const seconds = (performance.now() - started) / 1000;
        console.log(`second install.sh run: ${seconds.toFixed(1)} s`);
        assert.equal(run.code, 0, run.stdout + run.stderr);
        assert.doesNotMatch(run.stdout, /API key/);
        const after = sorted([
          ...await snapshot(join(fake.prefix, "var")),
          [boot, await Deno.readTextFile(boot)],
          [envFile, await Deno.readTextFile(envFile)],
        ]);
        assert.deepEqual(after, before);
        for (const [file, text] of after) assertNoDuplicateLines(file, text);
        const env = envValues(await Deno.readTextFile(envFile));
        assert.equal(env.INTENT_API_KEY, key, "no new key each run");
        adminToken = env.BUS_ADMIN_SECRET;
        assert.deepEqual((await fake.calls()).slice(callsBefore), [
          "start-services.sh",
          "sv restart intentbus",
        ]);
      },
    );

    await t.step(
      "after the upgrade the server still has the key and the intent",
      async () => {
        const server = startService(fake, "intentbus");
        try {
          await waitHealthy(url, server);
          const status = await call("GET", `${url}/status/${id}`, key);
          assert.equal(status.status, 200);
          assert.equal(status.json?.status, "fulfilled");
        } finally {
          await server.stop();
        }
      },
    );

    const worker = "intentbus-worker-termux.echo";
    await t.step(
      "--worker adds an intentbus work service that runs the command per intent",
      async () => {
        const callsBefore = (await fake.calls()).length;
        const run = await fake.sh(INSTALL, [
          "--worker",
          "termux.echo",
          "--command",
          "cat",
        ]);
        assert.equal(run.code, 0, run.stdout + run.stderr);
        const dir = join(fake.prefix, "var", "service", worker);
        assert.match(
          await Deno.readTextFile(join(dir, "run")),
          /^exec .*intentbus' work "\$WORKER_GOAL" -- sh -c "\$WORKER_COMMAND"$/m,
        );
        const conf = await Deno.readTextFile(join(dir, "conf"));
        assert.match(conf, /^WORKER_GOAL='termux\.echo'$/m);
        assert.match(conf, /^WORKER_COMMAND='cat'$/m);
        assert.deepEqual((await fake.calls()).slice(callsBefore), [
          "start-services.sh",
          "sv restart intentbus",
          `sv-enable ${worker}`,
        ]);
        const server = startService(fake, "intentbus");
        const work = startService(fake, worker);
        try {
          await waitHealthy(url, server);
          // The worker's process holds its own key, not the master key.
          const environ = (await Deno.readTextFile(
            `/proc/${work.child.pid}/environ`,
          )).split("\0");
          assert.ok(environ.includes(`INTENT_API_KEY=${key}`));
          // Intents are private to their publisher's key by default: the
          // worker claims those published with the printed key (its own),
          // and public ones published with any key.
          for (
            const [publisher, visibility] of [
              [key, "private"],
              [master, "public"],
            ]
          ) {
            const published = await call("POST", `${url}/intent`, publisher, {
              goal: "termux.echo",
              payload: { echo: visibility },
              visibility,
            });
            assert.equal(published.status, 201);
            const result = await pollResult(
              `${url}/result/${published.json?.id}`,
              publisher,
            );
            assert.deepEqual(result, { echo: visibility });
            // It claimed and fulfilled the intent with that key.
            const seen = await fetch(
              `${url}/admin/intents/${published.json?.id}`,
              { headers: { "X-Admin-Token": adminToken } },
            );
            assert.equal(seen.status, 200);
            const intent = await seen.json();
            assert.equal(intent.status, "fulfilled");
            assert.equal(intent.claimed_by, await sha256Hex(key));
          }
        } finally {
          const status = await work.stop();
          await server.stop();
          assert.equal(status.code, 0, work.output());
        }
      },
    );

    await t.step(
      "the boot script takes the wake lock and starts every service",
      async () => {
        const callsBefore = (await fake.calls()).length;
        // Run through its own #! line, as Termux:Boot does.
        const out = await new Deno.Command(boot, {
          env: fake.env,
          clearEnv: true,
          stdin: "null",
        }).output();
        assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
        assert.deepEqual((await fake.calls()).slice(callsBefore), [
          "termux-wake-lock",
          "start-services.sh",
        ]);
      },
    );

    await t.step(
      "uninstall.sh keeps data and key; --purge removes them",
      async () => {
        const callsBefore = (await fake.calls()).length;
        const run = await fake.sh(UNINSTALL, []);
        assert.equal(run.code, 0, run.stdout + run.stderr);
        assert.deepEqual((await fake.calls()).slice(callsBefore), [
          "sv down intentbus",
          "sv exit intentbus/log",
          "sv exit intentbus",
          `sv down ${worker}`,
          `sv exit ${worker}/log`,
          `sv exit ${worker}`,
        ]);
        await assert.rejects(Deno.stat(service));
        await assert.rejects(
          Deno.stat(join(fake.prefix, "var", "service", worker)),
        );
        await assert.rejects(Deno.stat(boot));
        await assert.rejects(Deno.stat(join(base, "app")));
        assert.ok((await Deno.stat(db)).isFile);
        assert.equal(
          envValues(await Deno.readTextFile(envFile)).BUS_SECRET,
          master,
        );
        const purge = await fake.sh(UNINSTALL, ["--purge"]);
        assert.equal(purge.code, 0, purge.stdout + purge.stderr);
        await assert.rejects(Deno.stat(base));
      },
    );
  } finally {
    await Deno.remove(fake.root, { recursive: true });
  }
});
