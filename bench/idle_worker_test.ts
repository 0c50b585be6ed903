import assert from "node:assert/strict";
import { hourlyRate, measureIdle, MIN_SECONDS } from "./idle_worker.ts";
import { runScript } from "./_testing.ts";

Deno.test("the hourly rate counts start-up requests once and claims at their steady interval", () => {
  const r = hourlyRate([
    { path: "/health", at: 0 },
    { path: "/claim", at: 10 },
    { path: "/claim", at: 31_010 },
    { path: "/claim", at: 62_010 },
  ]);
  assert.equal(r.claims, 3);
  assert.equal(r.claimInterval, 31);
  assert.equal(r.perHour, 1 + 3600 / 31);
  assert.ok(Number.isNaN(hourlyRate([{ path: "/claim", at: 0 }]).perHour));
});

Deno.test("an idle SDK worker holds one long-poll where the original SDK's loop polls every second or two", async () => {
  // The worker asks /health once, then one claim with wait=30 that the
  // server holds past the end of the run.
  const longpoll = await measureIdle("longpoll", 5);
  assert.ok(
    longpoll.requests >= 1 && longpoll.requests <= 2,
    `${longpoll.requests}`,
  );
  assert.ok(longpoll.claims <= 1);
  // The original loop: a claim (held 1 s by the server) and a 1 s sleep.
  const original = await measureIdle("original", 5);
  assert.ok(original.claims >= 3, `${original.claims}`);
  assert.ok(original.perHour > 120, `${original.perHour}`);
});

Deno.test("idle_worker.ts --help prints its usage, and a run too short to time two long-polls is refused", async () => {
  const help = await runScript("idle_worker.ts", ["--help"]);
  assert.equal(help.code, 0);
  for (const flag of ["--seconds", "--out", "--help"]) {
    assert.ok(help.stdout.includes(flag), flag);
  }
  for (const seconds of ["4", String(MIN_SECONDS - 1), "abc", "Infinity"]) {
    const r = await runScript("idle_worker.ts", ["--seconds", seconds]);
    assert.equal(r.code, 2, seconds);
    assert.equal(r.stdout, "");
    assert.equal(
      r.stderr,
      `error: Invalid --seconds: "${seconds}" (at least ${MIN_SECONDS}, for two claims of the long-poll worker)\n`,
    );
  }
  const r = await runScript("idle_worker.ts", ["--nope"]);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, "error: Unknown option '--nope'\n");
});
