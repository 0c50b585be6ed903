// Test helper: the correctness counters every profile run must show.

import assert from "node:assert/strict";
import type { ProfileResult } from "./profiles.ts";

/**
 * Asserts that a run published and fulfilled `n` intents exactly once: none
 * lost, delivered or fulfilled twice, no lease lost, no error, no time-out.
 *
 * @param r The run's result.
 * @param n How many intents it was given.
 */
export function assertExactlyOnce(r: ProfileResult, n: number): void {
  assert.equal(r.published, n);
  assert.equal(r.fulfilled, n);
  assert.equal(r.lost, 0);
  assert.equal(r.duplicateDeliveries, 0);
  assert.equal(r.duplicateFulfils, 0);
  assert.equal(r.leasesLost, 0);
  assert.equal(r.successRate, 100);
  assert.equal(r.timedOut, false);
  assert.deepEqual(r.errors, {});
}

/**
 * Runs a bench script as its own process, as a person would.
 *
 * @param script The file's name in `bench/`, such as `sql_floor.ts`.
 * @param args Its arguments.
 * @returns Its exit code and what it printed.
 */
export async function runScript(
  script: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(script, import.meta.url).pathname, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return {
    code: out.code,
    stdout: text.decode(out.stdout),
    stderr: text.decode(out.stderr),
  };
}
