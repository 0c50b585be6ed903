import assert from "node:assert/strict";
import { emittedPath, exportMapMismatches } from "./export_map.ts";

Deno.test("emitted paths swap the TypeScript extension for JavaScript", () => {
  assert.equal(emittedPath("./mod.ts"), "./mod.js");
  assert.equal(emittedPath("./a/b.mts"), "./a/b.mjs");
  assert.equal(emittedPath("./ui.tsx"), "./ui.jsx");
});

Deno.test("matching maps agree; types conditions are ignored", () => {
  const jsr = { ".": "./mod.ts", "./sdk": "./sdk/mod.ts" };
  const npm = {
    ".": { types: "./mod.d.ts", import: "./mod.js", default: "./mod.js" },
    "./sdk": "./sdk/mod.js",
  };
  assert.deepEqual(exportMapMismatches(jsr, npm), []);
});

Deno.test("a missing, extra or differently targeted subpath is reported", () => {
  const jsr = { ".": "./mod.ts", "./sdk": "./sdk/mod.ts" };
  const npm = {
    ".": { import: "./main.js" },
    "./extra": "./extra.js",
  };
  assert.deepEqual(exportMapMismatches(jsr, npm), [
    '"." (import): npm has ./main.js, JSR means ./mod.js',
    'npm exports lack "./sdk" (JSR: ./sdk/mod.ts)',
    'npm exports "./extra", which JSR does not',
  ]);
});
