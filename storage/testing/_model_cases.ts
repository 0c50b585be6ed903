// Model-based conformance cases: seeded random sequences of storage calls,
// each applied to the store under test and to the reference model
// (`_model.ts`), every answer compared. Small vocabularies (two
// namespaces, three goals, three keys, two workers) make calls collide;
// the clock jumps across lease ends, run_at and expiry. The seeds are
// fixed, so a failure names a seed and a step that replay it exactly.

import assert from "node:assert/strict";
import type { ClaimedIntent } from "../../core/intent.ts";
import type { Storage } from "../storage.ts";
import { StorageModel } from "./_model.ts";
import { type Case, T0 } from "./_fixtures.ts";
import { type Op, OpMaker } from "./_model_ops.ts";

/** The fixed seeds, one case each. */
const SEEDS = Array.from({ length: 24 }, (_, i) => 1 + i * 7919);

/** Operations per sequence. */
const STEPS = 150;

/** A full comparison (stats, every intent, the dead list) this often. */
const SNAPSHOT_EVERY = 50;

/** What a call gave: a value, or an error's class and code. */
type Outcome = { value: unknown } | { error: string };

async function outcome(fn: () => unknown): Promise<Outcome> {
  try {
    return { value: normalise(await fn()) };
  } catch (err) {
    return { error: errorName(err) };
  }
}

function errorName(err: unknown): string {
  const e = err as { name?: string; code?: string; message?: string };
  return e.code ? `${e.name}:${e.code}` : `${e.name}: ${e.message}`;
}

/**
 * What the comparison looks at. Left out, as the spec leaves them open:
 * `claimedBy` of a fulfilled intent (the doc speaks of it only while
 * claimed; stores keep the fulfiller's on a fulfil in time, not on a late
 * one), the order of stats' goals, goals with no counts, and batch items'
 * error messages (their class and code are compared).
 */
function normalise(v: unknown): unknown {
  if (v instanceof Error) return { error: errorName(v) };
  if (Array.isArray(v)) return v.map(normalise);
  if (v === null || typeof v !== "object") return v;
  const o = { ...(v as Record<string, unknown>) };
  if (o.state === "fulfilled" && "claimedBy" in o) o.claimedBy = null;
  if (Array.isArray(o.goals) && o.states) {
    o.goals = (o.goals as Record<string, number>[])
      .filter((g) => g.open + g.claimed + g.dead > 0)
      .sort((a, b) =>
        `${a.namespace}\n${a.goal}` < `${b.namespace}\n${b.goal}` ? -1 : 1
      );
  }
  for (const k of Object.keys(o)) o[k] = normalise(o[k]);
  return o;
}

/** Runs one op on the store, then the model (which follows its claim pick). */
async function step(
  s: Storage,
  m: StorageModel,
  op: Op,
): Promise<{ store: Outcome; model: Outcome }> {
  // deno-lint-ignore no-explicit-any
  const call = (t: any, ...extra: unknown[]) => t[op.call](op.p, ...extra);
  const store = await outcome(() => call(s));
  const pick = op.call === "intentClaim" && "value" in store
    ? store.value as ClaimedIntent[]
    : undefined;
  const model = await outcome(() => call(m, pick));
  return { store, model };
}

/** The calls that read the whole state, for a snapshot at `now`. */
function snapshotOps(m: StorageModel, now: number): Op[] {
  return [
    { call: "statsGet", p: { now } },
    { call: "deadList", p: { limit: 1000 } },
    ...m.intents().map((i): Op => ({ call: "intentGet", p: { id: i.id } })),
  ];
}

/**
 * Runs one seeded sequence against a store and the model.
 *
 * @param s A fresh store. @param seed The sequence's seed.
 * @param steps How many operations.
 */
export async function runModelSequence(
  s: Storage,
  seed: number,
  steps: number,
): Promise<void> {
  const m = new StorageModel();
  const maker = new OpMaker(seed, T0);
  const history: string[] = [];
  const check = async (n: number, op: Op, snapshot = false) => {
    if (!snapshot) history.push(`${n}: ${JSON.stringify(op)}`);
    if (history.length > 20) history.shift();
    const { store, model } = await step(s, m, op);
    try {
      assert.deepStrictEqual(store, model);
    } catch (err) {
      throw new Error(
        `${s.name}: store and model disagree, seed ${seed}, step ${n} ` +
          `(${snapshot ? "snapshot " : ""}${op.call})\n${JSON.stringify(op)}\n${
            (err as Error).message
          }\n` +
          `last operations:\n${history.join("\n")}`,
      );
    }
    if (op.call === "intentClaim" && "value" in store) {
      maker.claimed(store.value as ClaimedIntent[], op.p.caller);
    }
  };
  for (let n = 1; n <= steps; n++) {
    await check(n, maker.next(m));
    if (n % SNAPSHOT_EVERY === 0 || n === steps) {
      for (const op of snapshotOps(m, maker.now)) await check(n, op, true);
    }
  }
}

/** Registers the model-based cases, one per seed. */
export function modelCases(test: Case): void {
  for (const seed of SEEDS) {
    test(`model: seed ${seed}, ${STEPS} random calls answer as the reference model does`, async (s) => {
      await runModelSequence(s, seed, STEPS);
    });
  }
}
