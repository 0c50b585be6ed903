import assert from "node:assert/strict";
import { appAb } from "./app_ab.ts";
import { runScript } from "./_testing.ts";

const tempDirs = () =>
  [...Deno.readDirSync(Deno.env.get("TMPDIR") ?? "/tmp")]
    .filter((e) => e.name.startsWith("bench_ab_")).length;

Deno.test("two builds, one from git, run whole lifecycles in one process and leave no temp dirs", async () => {
  const before = tempDirs();
  // `lifecycles` throws on any answer but 201 / 200, so every request of
  // both builds succeeded if this returns.
  const r = await appAb("HEAD", ".", 2, 40, 4);
  for (const c of [r.a, r.b]) {
    for (const v of [c.publish, c.claim, c.fulfil]) {
      // Every request costs some CPU, and none a second of it.
      assert.ok(v > 0 && v < 1e6, `${v} µs`);
    }
  }
  assert.equal(tempDirs(), before);
});

Deno.test("a revision that is not a commit is refused, and the build made before it is removed", async () => {
  const before = tempDirs();
  await assert.rejects(
    appAb("HEAD", "no-such-revision", 1, 1, 1),
    /^RangeError: Not a commit of this repository: "no-such-revision"$/,
  );
  assert.equal(tempDirs(), before);
});

Deno.test("app_ab.ts --help prints its usage, and bad arguments end in one line and exit 2", async () => {
  const help = await runScript("app_ab.ts", ["--help"]);
  assert.equal(help.code, 0);
  for (const flag of ["<rev-a> <rev-b>", "--rounds", "--per-round"]) {
    assert.ok(help.stdout.includes(flag), flag);
  }
  assert.ok(help.stdout.includes("--concurrency"));
  const bad: [string[], string][] = [
    [["HEAD"], "Two revisions wanted, A and B, not 1: see --help"],
    [[".", ".", "--rounds", "x"], 'Invalid --rounds: "x"'],
    [[".", ".", "--per-round", "0"], 'Invalid --per-round: "0"'],
    [[".", ".", "--concurrency=-3"], 'Invalid --concurrency: "-3"'],
    [[".", ".", "--concurrency", "-3"], "Option '--concurrency' argument is"],
    [["nosuch", "."], 'Not a commit of this repository: "nosuch"'],
  ];
  for (const [args, message] of bad) {
    const r = await runScript("app_ab.ts", args);
    assert.equal(r.code, 2, args.join(" "));
    assert.equal(r.stdout, "");
    assert.ok(r.stderr.startsWith(`error: ${message}`), r.stderr);
    assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
  }
});
