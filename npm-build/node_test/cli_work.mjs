// Under Node, from the installed package: `intentbus publish` and
// `intentbus work GOAL -- COMMAND` against `intentbus serve`. Skipped while
// the package has no CLI (`./cli` missing from its export map).

import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { test } from "node:test";
import { promisify } from "node:util";

const BIN = join(process.cwd(), "node_modules", ".bin", "intentbus");
const MANIFEST = join(
  process.cwd(),
  "node_modules",
  "@intentbus",
  "server",
  "package.json",
);
const hasCli = "./cli" in JSON.parse(readFileSync(MANIFEST, "utf8")).exports;
const KEY = "cli-master-key";

function intentbus(args, env) {
  return spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

test(
  "intentbus work runs a command per intent and fulfils it with its stdout",
  {
    skip: hasCli ? false : "the package has no CLI yet",
  },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), "intentbus_cli_"));
    const server = intentbus([
      "serve",
      "--port",
      "0",
      "--db",
      join(dir, "b.db"),
    ], {
      BUS_SECRET: KEY,
    });
    const serverExit = new Promise((r) => server.once("exit", r));
    let worker;
    try {
      const url = await new Promise((resolve, reject) => {
        createInterface({ input: server.stdout }).on("line", (line) => {
          const entry = JSON.parse(line);
          if (entry.msg === "listening") resolve(entry.url);
        });
        serverExit.then((code) => reject(new Error(`server exited ${code}`)));
      });
      server.stderr.resume();
      const env = { INTENT_BUS_URL: url, INTENT_API_KEY: KEY };
      const run = promisify(execFile);
      const published = await run(process.execPath, [
        BIN,
        "publish",
        "square",
        '{"n":7}',
      ], { env: { ...process.env, ...env } });
      const id = published.stdout.trim().match(/[0-9a-f]{32}/)?.[0];
      assert.ok(id, `publish printed no id: ${published.stdout}`);

      const script = "let s='';process.stdin.on('data',d=>s+=d).on('end'," +
        "()=>console.log(JSON.stringify({square:JSON.parse(s).n**2})))";
      worker = intentbus(
        ["work", "square", "--", process.execPath, "-e", script],
        env,
      );
      worker.stdout.resume();
      worker.stderr.resume();
      const workerExit = new Promise((r) => worker.once("exit", r));
      const deadline = Date.now() + 20_000;
      let status;
      while (Date.now() < deadline) {
        const out = await run(process.execPath, [BIN, "status", id], {
          env: { ...process.env, ...env },
        });
        status = out.stdout;
        if (/fulfilled/.test(status)) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.match(status, /fulfilled/);
      assert.match(status, /49/);
      worker.kill("SIGTERM");
      assert.equal(await workerExit, 0);
      worker = undefined;
    } finally {
      worker?.kill("SIGKILL");
      server.kill("SIGTERM");
      assert.equal(await serverExit, 0);
      rmSync(dir, { recursive: true });
    }
  },
);
