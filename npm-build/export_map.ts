/**
 * The export-map check of the npm build: the npm package built from a JSR
 * package must export the same subpaths, each pointing at the JavaScript
 * that `deno pack` emitted from the JSR entry (`./x.ts` → `./x.js`).
 *
 * @example
 * ```ts
 * import { exportMapMismatches } from "./export_map.ts";
 *
 * const jsr = { ".": "./mod.ts", "./sdk": "./sdk/mod.ts" };
 * const npm = {
 *   ".": { types: "./mod.d.ts", import: "./mod.js", default: "./mod.js" },
 *   "./sdk": { import: "./sdk/mod.js" },
 * };
 * console.log(exportMapMismatches(jsr, npm)); // []
 * ```
 *
 * @module
 */

/** A JSR export map: subpath → TypeScript module. */
export type JsrExports = Record<string, string>;

/** An npm export map: subpath → file, or conditions → file. */
export type NpmExports = Record<string, string | Record<string, string>>;

/**
 * The JavaScript path `deno pack` emits for a TypeScript module.
 *
 * @param ts A module path such as `./sdk/mod.ts`.
 * @returns Such as `./sdk/mod.js`.
 */
export function emittedPath(ts: string): string {
  return ts.replace(/\.(m|c)?tsx?$/, (ext) => ext.replace("t", "j"));
}

/**
 * Lists every way the two export maps disagree.
 *
 * @param jsr The JSR export map (deno.json `exports`).
 * @param npm The npm export map (package.json `exports`).
 * @returns One message per disagreement; empty when they agree.
 */
export function exportMapMismatches(
  jsr: JsrExports,
  npm: NpmExports,
): string[] {
  const problems: string[] = [];
  for (const [subpath, ts] of Object.entries(jsr)) {
    const entry = npm[subpath];
    if (entry === undefined) {
      problems.push(`npm exports lack "${subpath}" (JSR: ${ts})`);
      continue;
    }
    const want = emittedPath(ts);
    const targets = typeof entry === "string"
      ? { default: entry }
      : Object.fromEntries(
        Object.entries(entry).filter(([k]) => k !== "types"),
      );
    for (const [condition, file] of Object.entries(targets)) {
      if (file !== want) {
        problems.push(
          `"${subpath}" (${condition}): npm has ${file}, JSR means ${want}`,
        );
      }
    }
  }
  for (const subpath of Object.keys(npm)) {
    if (!(subpath in jsr)) {
      problems.push(`npm exports "${subpath}", which JSR does not`);
    }
  }
  return problems;
}
