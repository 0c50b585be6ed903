// A minimal `Deno` global for running Deno test suites under Node: `test`
// registers with node:test, and the few file-system calls the storage and
// driver conformance suites make map to node:fs. It defines no `version`,
// `serve` or `env`, so runtime detection still sees Node.

import { mkdtempSync, rmSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

function register(a, b, c) {
  if (typeof a === "object") {
    return test(a.name, { skip: a.ignore === true }, a.fn);
  }
  if (typeof b === "function") return test(a, b);
  return test(a, { skip: b?.ignore === true }, c);
}

const prefixed = (options) => join(tmpdir(), options?.prefix ?? "deno_shim_");

globalThis.Deno = {
  test: register,
  makeTempDir: (options) => mkdtemp(prefixed(options)),
  makeTempDirSync: (options) => mkdtempSync(prefixed(options)),
  remove: (path, options) =>
    rm(path, { recursive: options?.recursive === true, force: false }),
  removeSync: (path, options) =>
    rmSync(path, { recursive: options?.recursive === true }),
  statSync: (path) => {
    const s = statSync(path);
    return { size: s.size, isFile: s.isFile(), isDirectory: s.isDirectory() };
  },
};
