/**
 * The packages the npm build emits, and what each adds to the package.json
 * that `deno pack` writes. The server's JSR export map is deno.json's
 * `exports`; the SDK's is its own `"."` and equals the server's `"./sdk"`.
 *
 * @example
 * ```ts
 * import { PACKAGES } from "./packages.ts";
 *
 * console.log(PACKAGES.map((p) => p.name)); // ["@intentbus/sdk", "@intentbus/server"]
 * ```
 *
 * @module
 */

/** One package of the build. */
export interface PackageSpec {
  /** Short id: the stage folder and the tarball's suffix. */
  id: string;
  /** Package name on npm and JSR. */
  name: string;
  /** One-line description for package.json. */
  description: string;
  /** JSR export map; `null` means the root deno.json's `exports`. */
  exports: Record<string, string> | null;
  /** Import-map entries the package needs (bare specifier → `npm:`). */
  imports: string[];
  /** npm dependencies: name → the root package.json's range, or a range. */
  dependencies: Record<string, string>;
  /** npm optional dependencies: name → range. */
  optionalDependencies: Record<string, string>;
  /** Executables: each runs the CLI (`./cli` of the export map). */
  bin: string[];
  /** Extra files copied verbatim (repo path → package path). */
  files: Record<string, string>;
}

/** Files JSR and npm never ship: tests and Deno-only testing helpers. */
export const PUBLISH_EXCLUDE: string[] = [
  "**/*_test.ts",
  "**/testing/",
  "**/testing.ts",
  "**/_testing.ts",
  "**/_temp.ts",
  "**/_cluster.ts",
  "**/_claim_worker.ts",
  "**/schema_snapshot.ts",
  "**/driver_conformance.ts",
];

/** The two packages: the SDK alone, and the server with CLI and storage. */
export const PACKAGES: PackageSpec[] = [
  {
    id: "sdk",
    name: "@intentbus/sdk",
    description:
      "Intent Bus client and worker SDK: zero dependencies, Deno, Node 20+, Termux.",
    exports: { ".": "./sdk/mod.ts" },
    imports: [],
    dependencies: {},
    optionalDependencies: {},
    bin: [],
    files: { "sdk/README.md": "README.md", LICENSE: "LICENSE" },
  },
  {
    id: "server",
    name: "@intentbus/server",
    description:
      "Intent Bus: a zero-infrastructure job queue server over one SQLite file (or PostgreSQL, shared by several servers), with its CLI and SDK.",
    exports: null,
    imports: ["hono", "hono/", "pg"],
    dependencies: { hono: "root" },
    // pg only for a postgres:// database; a SQLite server never loads it.
    // The `./postgres` types import pg's, which pg does not ship.
    optionalDependencies: {
      "better-sqlite3": "^12.4.1",
      pg: "^8.23.1",
      "@types/pg": "^8.23.1",
    },
    bin: ["intentbus"],
    files: { "npm-build/package_readme.md": "README.md", LICENSE: "LICENSE" },
  },
];
