import assert from "node:assert/strict";
import { sqlFloor } from "./sql_floor.ts";
import { runScript } from "./_testing.ts";

Deno.test("the SQL floor inserts, claims and fulfils every intent of its rounds", () => {
  for (const group of [1, 3, 5]) {
    const f = sqlFloor({ k: 5, intents: 100, group, drop: [] });
    assert.equal(f.fulfilled, 100);
  }
});

Deno.test("the SQL floor runs without the indexes it is asked to drop, and refuses unknown ones", () => {
  const f = sqlFloor({
    k: 10,
    intents: 100,
    group: 10,
    drop: ["intents_publisher", "intents_expiry", "intents_completed"],
  });
  assert.equal(f.fulfilled, 100);
  assert.throws(
    () => sqlFloor({ k: 10, intents: 10, group: 1, drop: ["nope"] }),
    /^RangeError: Unknown index to drop: "nope" \(the intents table has intents_claim, /,
  );
});

Deno.test("sql_floor.ts --help prints its usage, and bad flags end in one line and exit 2", async () => {
  const help = await runScript("sql_floor.ts", ["--help"]);
  assert.equal(help.code, 0);
  for (const flag of ["--k", "--intents", "--group", "--drop", "--help"]) {
    assert.ok(help.stdout.includes(flag), flag);
  }
  const bad: [string[], string][] = [
    [["--k", "abc"], 'Invalid --k: "abc" (a whole number, at least 1)'],
    [
      ["--intents", "0"],
      'Invalid --intents: "0" (a whole number, at least 1)',
    ],
    [
      ["--group", "2.5"],
      'Invalid --group: "2.5" (a whole number, at least 1)',
    ],
    [["--drop", "nosuch"], 'Unknown index to drop: "nosuch" (the intents'],
    [["--nope"], "Unknown option '--nope'"],
  ];
  for (const [args, message] of bad) {
    const r = await runScript("sql_floor.ts", args);
    assert.equal(r.code, 2, args.join(" "));
    assert.equal(r.stdout, "");
    assert.ok(r.stderr.startsWith(`error: ${message}`), r.stderr);
    assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
  }
});
