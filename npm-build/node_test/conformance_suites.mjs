// Under Node, against the installed @intentbus/server package: the SQLite
// driver conformance suite and the storage conformance suite, for every
// driver this Node has (better-sqlite3; node:sqlite on Node 22.13+). The
// suites are the repository's own, emitted to JavaScript and laid over the
// installed package, so they import its modules.

import "./deno_shim.mjs";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
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

test("runs under Node, not Deno, and picks better-sqlite3 by default", () => {
  assert.equal(typeof process.versions.node, "string");
  assert.equal(process.versions.deno, undefined);
  assert.equal(defaultDriver(), "better-sqlite3");
  assert.ok(!("ffi" in DRIVERS), "FFI is Deno's");
});

const drivers = ["better-sqlite3"];
if (typeof process.getBuiltinModule?.("node:sqlite") === "object") {
  drivers.push("node:sqlite");
}

for (const driver of drivers) {
  driverConformance(driver, await loadDriver(driver));
  storageConformance(`sqlite:${driver}`, () => {
    const dir = mkdtempSync(join(tmpdir(), "intentbus_store_"));
    return openSqliteStore({ path: join(dir, "queue.db"), driver });
  });
}
