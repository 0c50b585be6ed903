/**
 * A fake Termux for testing `install.sh` on Linux: `PREFIX` and `HOME` in a
 * temporary directory, and stand-ins for the Termux-only commands (`pkg`,
 * `sv`, `sv-enable`, `svlogd`, `termux-wake-lock`) that only record how they
 * were called. `node`, `npm` and the compiler are this machine's real ones.
 *
 * @module
 */

import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";

/** Where the fake Termux lives, and how to run things inside it. */
export interface FakeTermux {
  /** The temporary directory holding everything. */
  root: string;
  /** `$PREFIX` (`/data/data/com.termux/files/usr` on a phone). */
  prefix: string;
  /** `$HOME`. */
  home: string;
  /** The environment a Termux shell would have. */
  env: Record<string, string>;
  /** The recorded calls, one `command args` line each. */
  calls(): Promise<string[]>;
  /** Runs a shell script inside the fake Termux, in `cwd` (`home`). */
  sh(script: string, args: string[], cwd?: string): Promise<ShResult>;
}

/** What a script run printed, and how it ended. */
export interface ShResult {
  code: number;
  stdout: string;
  stderr: string;
}

// `pkg install termux-services` makes the service commands appear, as the
// real package does, with the profile script that starts the service daemon.
// They only record, except that `sv-enable` also removes the service's `down`
// file, which is what the real one is for.
const PKG = `#!/bin/sh
echo "pkg $*" >>"$FAKE_TERMUX_CALLS"
case " $* " in *" termux-services "*)
  for c in sv svlogd; do
    printf '#!/bin/sh\\necho "%s $*" >>"$FAKE_TERMUX_CALLS"\\n' "$c" >"$PREFIX/bin/$c"
    chmod 755 "$PREFIX/bin/$c"
  done
  cat >"$PREFIX/bin/sv-enable" <<'END'
#!/bin/sh
echo "sv-enable $*" >>"$FAKE_TERMUX_CALLS"
rm -f "$SVDIR/$1/down"
END
  chmod 755 "$PREFIX/bin/sv-enable"
  mkdir -p "$PREFIX/etc/profile.d"
  cat >"$PREFIX/etc/profile.d/start-services.sh" <<'END'
echo "start-services.sh" >>"$FAKE_TERMUX_CALLS"
export SVDIR=$PREFIX/var/service
export LOGDIR=$PREFIX/var/log
END
  ;;
esac
`;
const RECORDER = (name: string) =>
  `#!/bin/sh\necho "${name} $*" >>"$FAKE_TERMUX_CALLS"\n`;

function npmConfig(key: string): string {
  return execFileSync("npm", ["config", "get", key], { encoding: "utf8" })
    .trim();
}

const REPO = new URL("..", import.meta.url).pathname;

/**
 * Packs the better-sqlite3 this checkout compiled (`npm install` builds it:
 * a devDependency) the way its install script's `prebuild-install` looks for
 * a local prebuild, so the installer's npm unpacks it instead of compiling
 * for three minutes. Used only when it is the version npm will install (the
 * newest 12.x); otherwise, or with `FAKE_TERMUX_COMPILE=1`, npm compiles.
 *
 * @returns The prebuilds directory, or undefined to compile.
 */
async function betterSqlite3Prebuild(
  root: string,
  node: string,
): Promise<string | undefined> {
  if (Deno.env.get("FAKE_TERMUX_COMPILE") === "1") return undefined;
  const pkg = join(REPO, "node_modules", "better-sqlite3");
  const binary = join(pkg, "build", "Release", "better_sqlite3.node");
  try {
    await Deno.stat(binary);
  } catch {
    return undefined;
  }
  const version = JSON.parse(
    await Deno.readTextFile(join(pkg, "package.json")),
  ).version;
  const newest = execFileSync("npm", [
    "view",
    "better-sqlite3@^12",
    "version",
    "--json",
  ], { encoding: "utf8" });
  const semver = (v: string) => v.split(".").map(Number);
  const versions = ([JSON.parse(newest)].flat() as string[])
    .filter((v) => /^\d+\.\d+\.\d+$/.test(v))
    .sort((a, b) => {
      const [x, y] = [semver(a), semver(b)];
      return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
    });
  if (versions.at(-1) !== version) return undefined;
  const [abi, platform, arch] = execFileSync(node, [
    "-p",
    "[process.versions.modules, process.platform, process.arch].join(' ')",
  ], { encoding: "utf8" }).trim().split(" ");
  const dir = join(root, "prebuilds");
  await Deno.mkdir(dir);
  const name =
    `better-sqlite3-v${version}-node-v${abi}-${platform}-${arch}.tar.gz`;
  execFileSync("tar", [
    "-czf",
    join(dir, name),
    "-C",
    pkg,
    "build/Release/better_sqlite3.node",
  ]);
  return dir;
}

/**
 * Makes a fake Termux with `pkg` and `termux-wake-lock` stand-ins; `sv`,
 * `sv-enable` and `svlogd` appear once the script asks `pkg` for
 * `termux-services`.
 *
 * npm keeps this machine's cache and user configuration (which names the Node
 * headers for node-gyp), since the fake `HOME` has neither.
 *
 * @returns The fake Termux; remove `root` when done.
 */
export async function makeFakeTermux(): Promise<FakeTermux> {
  const root = await Deno.makeTempDir({ prefix: "fake_termux_" });
  const prefix = join(root, "usr");
  const home = join(root, "home");
  const calls = join(root, "calls.log");
  await Deno.mkdir(join(prefix, "bin"), { recursive: true });
  await Deno.mkdir(home, { recursive: true });
  await Deno.symlink("/bin/sh", join(prefix, "bin", "sh"));
  const stubs: Record<string, string> = {
    pkg: PKG,
    "termux-wake-lock": RECORDER("termux-wake-lock"),
  };
  for (const [name, text] of Object.entries(stubs)) {
    await Deno.writeTextFile(join(prefix, "bin", name), text, { mode: 0o755 });
  }
  const node = execFileSync("sh", ["-c", "command -v node"], {
    encoding: "utf8",
  }).trim();
  const env: Record<string, string> = {
    ...Deno.env.toObject(),
    HOME: home,
    PREFIX: prefix,
    PATH: [join(prefix, "bin"), dirname(node), Deno.env.get("PATH") ?? ""]
      .join(":"),
    FAKE_TERMUX_CALLS: calls,
    npm_config_cache: npmConfig("cache"),
    npm_config_userconfig: npmConfig("userconfig"),
  };
  const prebuilds = await betterSqlite3Prebuild(root, node);
  if (prebuilds) env.npm_config_better_sqlite3_local_prebuilds = prebuilds;
  // A pyenv shim finds its versions through HOME unless told.
  const realHome = Deno.env.get("HOME");
  if (realHome && !env.PYENV_ROOT) env.PYENV_ROOT = join(realHome, ".pyenv");
  return {
    root,
    prefix,
    home,
    env,
    async calls() {
      try {
        return (await Deno.readTextFile(calls)).split("\n")
          .map((line) => line.trimEnd()).filter(Boolean);
      } catch (err) {
        if (err instanceof Deno.errors.NotFound) return [];
        throw err;
      }
    },
    async sh(script, args, cwd = home) {
      const out = await new Deno.Command("sh", {
        args: [script, ...args],
        env,
        clearEnv: true,
        cwd,
        stdin: "null",
      }).output();
      const text = new TextDecoder();
      return {
        code: out.code,
        stdout: text.decode(out.stdout),
        stderr: text.decode(out.stderr),
      };
    },
  };
}
