/**
 * `deno task test:node`: builds the npm packages, installs the tarballs into
 * a temporary folder with plain `npm install`, and runs the Node tests of
 * `npm-build/node_test/` there with the `node` on PATH (Node 20 here), not
 * Deno: the storage and driver conformance suites with better-sqlite3, and
 * end-to-end runs of `intentbus serve` driven by `@intentbus/sdk`.
 *
 * better-sqlite3 compiles from source on this machine (about two minutes,
 * no prebuilt binaries reachable), so by default the install omits optional
 * dependencies and links the repository's own build of better-sqlite3 12
 * into the temporary `node_modules`. `INTENTBUS_NODE_FULL_INSTALL=1`
 * installs it from the registry like a user would (and compiles it).
 *
 * @module
 */

import { join } from "node:path";
import process from "node:process";
import { buildNpm, packTestModules, ROOT } from "./build.ts";

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

async function main(): Promise<void> {
  const built = await buildNpm();
  const dir = await Deno.makeTempDir({ prefix: "intentbus_node_test_" });
  const full = Deno.env.get("INTENTBUS_NODE_FULL_INSTALL") === "1";
  try {
    await Deno.writeTextFile(
      join(dir, "package.json"),
      '{ "private": true, "type": "module" }\n',
    );
    const tarballs = built.map((b) => b.tarball);
    await sh("npm", [
      "install",
      "--no-audit",
      "--no-fund",
      "--prefer-offline",
      ...(full ? [] : ["--omit=optional"]),
      ...tarballs,
    ], dir);
    const modules = join(dir, "node_modules");
    if (!full) {
      await Deno.symlink(
        join(ROOT, "node_modules", "better-sqlite3"),
        join(modules, "better-sqlite3"),
      );
    }
    const emitted = join(dir, "emitted");
    await packTestModules(TEST_MODULES, emitted);
    const added = await overlay(
      join(emitted, "package"),
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
    await sh("node", ["--version"], dir);
    await sh("node", ["--test", ...tests.sort()], dir, { TMPDIR: tmp });
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
