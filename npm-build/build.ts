/**
 * The npm build: `deno task build:npm`. For each package of
 * {@linkcode PACKAGES} it stages the module graph of its JSR export map (no
 * tests, no testing helpers) in a temporary folder with its own deno.json,
 * runs `deno pack` there (ESM, `.d.ts`, package.json; offline), adds what
 * `deno pack` does not write (dependencies, optional dependencies, `bin`,
 * engines), and checks that the npm export map agrees with the JSR one.
 * Tarballs land in `npm-build/dist/`.
 *
 * ```text
 * deno task build:npm            build both packages
 * deno task build:npm --stage    also keep the staged JSR packages in dist/stage/
 * ```
 *
 * @module
 */

import { dirname, join, relative } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";
import { exportMapMismatches, type NpmExports } from "./export_map.ts";
import { PACKAGES, type PackageSpec, PUBLISH_EXCLUDE } from "./packages.ts";

export type { PackageSpec };

/** The repository root. */
export const ROOT: string = fromFileUrl(new URL("../", import.meta.url));
/** Where tarballs go. */
export const DIST: string = join(ROOT, "npm-build", "dist");
const DENO = join(ROOT, "node_modules", ".bin", "deno");

/** One built package. */
export interface BuiltPackage {
  /** The package spec. */
  spec: PackageSpec;
  /** The tarball's absolute path. */
  tarball: string;
  /** The staged JSR package (a folder with deno.json), when kept. */
  stage: string;
}

async function run(cmd: string, args: string[], cwd: string): Promise<string> {
  const out = await new Deno.Command(cmd, {
    args,
    cwd,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) +
    new TextDecoder().decode(out.stderr);
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed:\n${text}`);
  }
  return text;
}

/** Local files in the module graph of `entries` (paths relative to ROOT). */
async function moduleGraph(entries: string[]): Promise<string[]> {
  const files = new Set<string>();
  for (const entry of entries) {
    const info = JSON.parse(
      await run(DENO, ["info", "--json", join(ROOT, entry)], ROOT),
    ) as { modules: { specifier: string }[] };
    for (const m of info.modules) {
      if (!m.specifier.startsWith("file://")) continue;
      const file = relative(ROOT, fromFileUrl(m.specifier));
      if (!file.startsWith("node_modules/") && !file.startsWith("..")) {
        files.add(file);
      }
    }
  }
  return [...files].sort();
}

/** What {@linkcode stageAndPack} stages and packs. */
interface StageSpec {
  /** Package name for the staged deno.json. */
  name: string;
  /** Package version. */
  version: string;
  /** License. */
  license: string;
  /** JSR export map. */
  exports: Record<string, string>;
  /** Import map of the stage. */
  imports: Record<string, string>;
  /** Emit without `.d.ts` (test-only code may have slow types). */
  allowSlowTypes?: boolean;
}

/**
 * Stages the module graph of `spec.exports` in `stage` with a deno.json,
 * runs `deno pack`, and unpacks the tarball into `unpacked`.
 */
async function stageAndPack(
  spec: StageSpec,
  stage: string,
  unpacked: string,
): Promise<void> {
  for (const file of await moduleGraph(Object.values(spec.exports))) {
    await Deno.mkdir(dirname(join(stage, file)), { recursive: true });
    await Deno.copyFile(join(ROOT, file), join(stage, file));
  }
  const { allowSlowTypes, ...config } = spec;
  await Deno.writeTextFile(
    join(stage, "deno.json"),
    JSON.stringify(
      {
        ...config,
        publish: { exclude: [...PUBLISH_EXCLUDE, "node_modules"] },
      },
      null,
      2,
    ) +
      "\n",
  );
  // Resolve npm imports from the repository's node_modules, offline.
  if (Object.keys(spec.imports).length > 0) {
    await Deno.symlink(join(ROOT, "node_modules"), join(stage, "node_modules"));
  }
  const packed = `${stage}.packed.tgz`;
  const slow = allowSlowTypes ? ["--allow-slow-types"] : [];
  await run(
    DENO,
    ["pack", "--allow-dirty", "--quiet", ...slow, "-o", packed],
    stage,
  );
  await Deno.mkdir(unpacked, { recursive: true });
  await run("tar", ["xzf", packed, "-C", unpacked], stage);
}

/**
 * Packs test-only modules (the conformance suites) to JavaScript, for the
 * Node tests to lay over an installed package: their relative imports then
 * resolve to the package's own modules.
 *
 * @param entries Repository paths of the test modules.
 * @param into Folder that receives `package/…` with the emitted files.
 */
export async function packTestModules(
  entries: string[],
  into: string,
): Promise<void> {
  const root = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  const work = await Deno.makeTempDir({ prefix: "intentbus_npm_tests_" });
  try {
    await stageAndPack(
      {
        name: "@intentbus/tests",
        version: root.version,
        license: root.license,
        exports: Object.fromEntries(
          entries.map((e, i) => [`./t${i}`, `./${e}`]),
        ),
        imports: root.imports,
        allowSlowTypes: true,
      },
      join(work, "stage"),
      into,
    );
  } finally {
    await Deno.remove(work, { recursive: true });
  }
}

/** Stages, packs and completes one package; returns its tarball. */
async function buildOne(
  spec: PackageSpec,
  root: { deno: Record<string, unknown>; pkg: Record<string, unknown> },
  work: string,
): Promise<BuiltPackage> {
  const jsrExports = spec.exports ??
    root.deno.exports as Record<string, string>;
  const stage = join(work, spec.id);
  const rootImports = root.deno.imports as Record<string, string>;
  const version = root.deno.version as string;
  await Deno.mkdir(stage);
  for (const [from, to] of Object.entries(spec.files)) {
    await Deno.copyFile(join(ROOT, from), join(stage, to));
  }
  const unpacked = join(work, `${spec.id}.unpacked`);
  await stageAndPack(
    {
      name: spec.name,
      version,
      license: root.deno.license as string,
      exports: jsrExports,
      imports: Object.fromEntries(spec.imports.map((k) => [k, rootImports[k]])),
    },
    stage,
    unpacked,
  );
  const tarball = join(
    DIST,
    `${spec.name.replace("@", "").replace("/", "-")}-${version}.tgz`,
  );
  const pkgPath = join(unpacked, "package", "package.json");
  const pkg = JSON.parse(await Deno.readTextFile(pkgPath));
  const problems = exportMapMismatches(jsrExports, pkg.exports as NpmExports);
  if (problems.length > 0) {
    throw new Error(
      `${spec.name}: npm and JSR export maps disagree:\n  ${
        problems.join("\n  ")
      }`,
    );
  }
  const rootDeps = root.pkg.dependencies as Record<string, string>;
  pkg.description = spec.description;
  pkg.engines = { node: ">=20" };
  pkg.dependencies = Object.fromEntries(
    Object.entries(spec.dependencies).map((
      [k, v],
    ) => [k, v === "root" ? rootDeps[k] : v]),
  );
  if (Object.keys(spec.optionalDependencies).length > 0) {
    pkg.optionalDependencies = spec.optionalDependencies;
  }
  if (spec.bin.length > 0) {
    pkg.bin = {};
    await Deno.mkdir(join(unpacked, "package", "bin"));
    for (const name of spec.bin) {
      await Deno.writeTextFile(
        join(unpacked, "package", "bin", `${name}.js`),
        binScript(jsrExports),
        { mode: 0o755 },
      );
      pkg.bin[name] = `./bin/${name}.js`;
    }
  }
  await Deno.writeTextFile(pkgPath, JSON.stringify(pkg, null, 2) + "\n");
  // Written beside, then renamed: a reader never sees half a tarball.
  const partial = join(work, `${spec.id}.tgz`);
  await run("tar", ["czf", partial, "-C", unpacked, "package"], work);
  await Deno.copyFile(partial, `${tarball}.partial`);
  await Deno.rename(`${tarball}.partial`, tarball);
  return { spec, tarball, stage };
}

/**
 * The executable. With the CLI in the export map (`./cli`), it runs
 * `cli(argv)` and exits with its code, as server/cli/bin.ts does; before
 * the CLI existed it ran `server/main.ts`'s `main` with server flags (a
 * leading `serve` dropped).
 */
function binScript(exportsMap: Record<string, string>): string {
  if (exportsMap["./cli"]) {
    const js = exportsMap["./cli"].replace(/\.ts$/, ".js").replace(
      /^\.\//,
      "../",
    );
    return `#!/usr/bin/env node
import process from "node:process";
import { cli } from "${js}";

process.exitCode = await cli(process.argv.slice(2));
`;
  }
  return `#!/usr/bin/env node
import process from "node:process";
import { main } from "../server/main.js";

const args = process.argv.slice(2);
if (args[0] === "serve") args.shift();
await main(args, process.env);
`;
}

/**
 * Builds every package into `npm-build/dist/`.
 *
 * @param options `keepStage`: copy the staged JSR packages to dist/stage/.
 * @returns The built packages, SDK first.
 * @throws {Error} when `deno pack` fails or the export maps disagree.
 */
export async function buildNpm(
  options: { keepStage?: boolean } = {},
): Promise<BuiltPackage[]> {
  const root = {
    deno: JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json"))),
    pkg: JSON.parse(await Deno.readTextFile(join(ROOT, "package.json"))),
  };
  const sdk = PACKAGES.find((p) => p.id === "sdk")!;
  if (root.deno.exports["./sdk"] !== sdk.exports?.["."]) {
    throw new Error(
      `deno.json exports "./sdk" must be the SDK package's "." (${
        sdk.exports?.["."]
      })`,
    );
  }
  await Deno.mkdir(DIST, { recursive: true });
  const work = await Deno.makeTempDir({ prefix: "intentbus_npm_build_" });
  try {
    const built: BuiltPackage[] = [];
    for (const spec of PACKAGES) built.push(await buildOne(spec, root, work));
    if (options.keepStage) {
      const kept = join(DIST, "stage");
      await Deno.remove(kept, { recursive: true }).catch(() => {});
      await Deno.mkdir(kept);
      for (const b of built) {
        await run("cp", ["-r", b.stage, join(kept, b.spec.id)], work);
        b.stage = join(kept, b.spec.id);
      }
    }
    return built;
  } finally {
    await Deno.remove(work, { recursive: true });
  }
}

if (import.meta.main) {
  const built = await buildNpm({ keepStage: Deno.args.includes("--stage") });
  for (const b of built) {
    console.log(`${b.spec.name}: ${relative(ROOT, b.tarball)}`);
  }
}
