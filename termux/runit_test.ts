/**
 * The installed services under real runit (`runsvdir`, `runsv`, `sv`,
 * `svlogd`; Debian's `runit` package), when this machine has it: what the
 * recording stand-ins of `install_test.ts` cannot show. Ignored without it.
 *
 * @module
 */

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { makeFakeTermux } from "./_fake_termux.ts";
import {
  call,
  freePort,
  INSTALL,
  serverTarball,
  UNINSTALL,
} from "./_service.ts";

const HAS_RUNIT = (() => {
  try {
    execFileSync("sh", ["-c", "command -v runsvdir && command -v svlogd"]);
    return true;
  } catch {
    return false;
  }
})();

// termux-services' sv-enable, which Debian's runit does not have.
const SV_ENABLE = `#!/bin/sh
rm -f "$SVDIR/$1/down"
sv up "$1"
`;

/** Polls `probe` every 100 ms until it returns a value; throws at 30 s. */
async function until<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const value = await Promise.resolve().then(probe).catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The pids whose parent is `pid`, from /proc. */
async function childrenOf(pid: number): Promise<number[]> {
  const children: number[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const stat = await Deno.readTextFile(`/proc/${entry.name}/stat`)
      .catch(() => "");
    // Fields after the command name (which may hold spaces): state, ppid.
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (ppid === pid) children.push(Number(entry.name));
  }
  return children;
}

Deno.test({
  name:
    "under real runit the installed server runs, logs through svlogd, restarts on reinstall and stops on uninstall",
  ignore: !HAS_RUNIT,
  async fn() {
    const fake = await makeFakeTermux();
    const sv = join(fake.prefix, "var", "service");
    await Deno.mkdir(sv, { recursive: true });
    await Deno.writeTextFile(join(fake.prefix, "bin", "sv-enable"), SV_ENABLE, {
      mode: 0o755,
    });
    const env = { ...fake.env, SVDIR: sv };
    const runsvdir = new Deno.Command("runsvdir", {
      args: ["-P", sv],
      env,
      clearEnv: true,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const svPid = () => {
      const out = execFileSync("sv", ["status", "intentbus"], {
        env,
        encoding: "utf8",
      });
      return out.match(/^run: intentbus: \(pid (\d+)\)/)?.[1];
    };
    const healthy = async () => {
      const res = await fetch(`${url}/health`);
      return (await res.json()).ok === true ? true : undefined;
    };
    const port = freePort();
    const url = `http://127.0.0.1:${port}`;
    try {
      const tarball = join(fake.root, "intentbus-server.tgz");
      await Deno.copyFile(await serverTarball(), tarball);
      const run = await fake.sh(INSTALL, [
        "--package",
        tarball,
        "--port",
        String(port),
      ]);
      assert.equal(run.code, 0, run.stdout + run.stderr);
      const key = run.stdout.match(
        /API key for your scripts and the workers \(shown once[^)]*\): (\S+)/,
      )?.[1];
      assert.ok(key, run.stdout);

      // runsvdir looks for new services every 5 s; no down file: it starts.
      const pid = await until("runsv to start intentbus", svPid);
      await until("/health", healthy);
      const cmdline = await Deno.readTextFile(`/proc/${pid}/cmdline`);
      assert.match(cmdline, /node\0.*intentbus\0serve\0/);
      const published = await call("POST", `${url}/intent`, key, {
        goal: "runit",
        payload: [1, 2],
      });
      assert.equal(published.status, 201);
      const log = join(fake.prefix, "var", "log", "sv", "intentbus", "current");
      await until("the server's log line in svlogd's current", async () => {
        const text = await Deno.readTextFile(log);
        return text.includes(`${port}`) ? text : undefined;
      });

      const again = await fake.sh(INSTALL, []);
      assert.equal(again.code, 0, again.stdout + again.stderr);
      const restarted = await until("a new server process", () => {
        const now = svPid();
        return now && now !== pid ? now : undefined;
      });
      await until("/health after the restart", healthy);
      const claim = await call("POST", `${url}/claim?goal=runit`, key);
      assert.equal(claim.status, 200);
      assert.deepEqual(claim.json?.payload, [1, 2]);

      const gone = await fake.sh(UNINSTALL, []);
      assert.equal(gone.code, 0, gone.stdout + gone.stderr);
      await until("the server to exit", async () => {
        try {
          await Deno.stat(`/proc/${restarted}`);
          return undefined;
        } catch {
          return true;
        }
      });
      await assert.rejects(fetch(`${url}/health`));
      // runsvdir reaps the runsv that uninstall told to exit; once it has,
      // stopping runsvdir leaves no zombie behind.
      await until(
        "runsvdir to reap its runsv",
        async () =>
          (await childrenOf(runsvdir.pid)).length === 0 ? true : undefined,
      );
    } finally {
      // HUP: runsvdir sends TERM to every runsv, which stops its service.
      runsvdir.kill("SIGHUP");
      await runsvdir.status;
      await Deno.remove(fake.root, { recursive: true });
    }
  },
});
