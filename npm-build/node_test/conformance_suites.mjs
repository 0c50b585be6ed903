// Under Node, against the installed @intentbus/server package: the SQLite
// driver conformance suite and the storage conformance suite, for every
// driver this install has (better-sqlite3 when its optional dependency is
// installed; node:sqlite on Node 22.13+, as on Termux). The suites are the
// repository's own, emitted to JavaScript and laid over the installed
// package, so they import its modules.

import "./deno_shim.mjs";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

// Resolved at run time (by Node, through the package's export map), so that
// `deno check .` in the repository does not look for the installed package.
const { defaultDriver, DRIVERS, loadDriver, openSqliteStore } = await import(
  import.meta.resolve("@intentbus/server/storage")
);

const root = new URL("./", import.meta.resolve("@intentbus/server"));
const { storageConformance } = await import(
  new URL("storage/testing/mod.js", root).href
);
const { driverConformance } = await import(
  new URL("storage/sqlite/drivers/driver_conformance.js", root).href
);

const hasBetter = (() => {
  try {
    createRequire(import.meta.url).resolve("better-sqlite3");
    return true;
  } catch {
    return false;
  }
})();
const hasNodeSqlite =
  typeof process.getBuiltinModule?.("node:sqlite") === "object";
const drivers = [
  ...(hasBetter ? ["better-sqlite3"] : []),
  ...(hasNodeSqlite ? ["node:sqlite"] : []),
];

test("runs under Node, not Deno, and picks better-sqlite3 when installed, else node:sqlite", () => {
  assert.equal(typeof process.versions.node, "string");
  assert.equal(process.versions.deno, undefined);
  assert.equal(defaultDriver(), hasBetter ? "better-sqlite3" : "node:sqlite");
  assert.ok(drivers.length > 0, "no SQLite driver under this Node");
  assert.ok(!("ffi" in DRIVERS), "FFI is Deno's");
});

// The PostgreSQL store, when test_node.ts started a cluster: each case in
// a fresh schema of it.
const pgUrl = process.env.INTENTBUS_PG_URL;
if (pgUrl) {
  const { openPostgresStore } = await import(
    import.meta.resolve("@intentbus/server/postgres")
  );
  let schemas = 0;
  storageConformance(
    "postgres",
    () =>
      openPostgresStore({
        url: pgUrl,
        schema: `node${process.pid}_${++schemas}`,
        poolSize: 4,
      }),
  );
}

for (const driver of drivers) {
  driverConformance(driver, await loadDriver(driver));
  storageConformance(`sqlite:${driver}`, () => {
    const dir = mkdtempSync(join(tmpdir(), "intentbus_store_"));
    return openSqliteStore({ path: join(dir, "queue.db"), driver });
  });
}
