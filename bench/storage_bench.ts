/**
 * The SQLite store through each driver: insert, claim, fulfil and the whole
 * lifecycle, one operation at a time (one transaction each) and 100 at a
 * time (group commit: 100 calls in one event-loop turn share one
 * transaction). WAL file, `synchronous = NORMAL`; `node:sqlite` is the
 * baseline of every group.
 *
 * Run: `deno bench -A bench/storage_bench.ts`
 *
 * @module
 */

import { openSqliteStore } from "../storage/sqlite/open.ts";
import type { SqliteStore } from "../storage/sqlite/store.ts";
import type { ClaimedIntent } from "../core/intent.ts";
// The conformance suite's builders, so these rows are the ones the store's
// tests write (`storage/testing/mod.ts` re-exports only `claim` of them).
import {
  claim as claimOf,
  fulfilOf,
  publish,
  T0,
} from "../storage/testing/_fixtures.ts";

const N = 4000;
const WARMUP = 200;
const BATCH = 100;
const BATCH_N = 100;
const DRIVERS = ["node:sqlite", "ffi"];
/** Later than every intent's run_at (T0 plus its sequence number). */
const LATER = T0 + 10_000_000;

const dir = Deno.makeTempDirSync({ prefix: "intentbus_storage_bench_" });
globalThis.addEventListener("unload", () => {
  Deno.removeSync(dir, { recursive: true });
});

let seq = 0;
/** An intent published a millisecond after the one before, due at once. */
function intent(goal: string) {
  seq++;
  return publish({
    namespace: "bench",
    goal,
    payload: { seq, text: "a payload of a realistic, small size" },
    now: T0 + seq,
  });
}

function claim(goal: string, max = 1) {
  return claimOf({ namespace: "bench", goal, max, now: LATER });
}

function fulfil(c: ClaimedIntent) {
  return fulfilOf(c, { now: LATER, result: { ok: true } });
}

async function fill(store: SqliteStore, goal: string, n: number) {
  for (let i = 0; i < n; i += 1000) {
    const items = Array.from(
      { length: Math.min(1000, n - i) },
      () => intent(goal),
    );
    await store.intentInsertMany({ items, atomic: true });
  }
}

for (const driver of DRIVERS) {
  const store = await openSqliteStore({
    path: `${dir}/${driver.replace(":", "_")}.db`,
    driver,
  });
  // A background of 50,000 open intents in another goal, as in a busy queue.
  await fill(store, "background", 50_000);
  const total = N + WARMUP + 100;
  await fill(store, "claim", total);
  await fill(store, "fulfil", total);
  const toFulfil: ClaimedIntent[] = [];
  while (toFulfil.length < total) {
    const got = await store.intentClaim(claim("fulfil", 100));
    if (got.length === 0) break;
    toFulfil.push(...got);
  }
  const common = { baseline: driver === "node:sqlite", n: N, warmup: WARMUP };
  const batched = { ...common, n: BATCH_N, warmup: 10 };

  Deno.bench(`insert, one per transaction [${driver}]`, {
    group: "insert",
    ...common,
  }, async () => {
    await store.intentInsert(intent("insert"));
  });

  Deno.bench(`claim one, one per transaction [${driver}]`, {
    group: "claim",
    ...common,
  }, async () => {
    if ((await store.intentClaim(claim("claim"))).length !== 1) {
      throw new Error("Nothing left to claim");
    }
  });

  Deno.bench(`empty poll: claim finds nothing, no write lock [${driver}]`, {
    group: "claim (empty)",
    ...common,
  }, async () => {
    await store.intentClaim(claim("nothing-here"));
  });

  Deno.bench(`fulfil, one per transaction [${driver}]`, {
    group: "fulfil",
    ...common,
  }, async () => {
    await store.intentFulfil(fulfil(toFulfil.pop()!));
  });

  Deno.bench(`lifecycle: insert, claim, fulfil, 3 transactions [${driver}]`, {
    group: "lifecycle",
    ...common,
  }, async () => {
    await store.intentInsert(intent("life"));
    const [c] = await store.intentClaim(claim("life"));
    await store.intentFulfil(fulfil(c));
  });

  Deno.bench(`${BATCH} inserts in one turn (group commit) [${driver}]`, {
    group: `insert ×${BATCH}`,
    ...batched,
  }, async () => {
    await Promise.all(
      Array.from(
        { length: BATCH },
        () => store.intentInsert(intent("insert")),
      ),
    );
  });

  Deno.bench(
    `${BATCH} lifecycles: 100 inserts, claim 100, 100 fulfils [${driver}]`,
    {
      group: `lifecycle ×${BATCH}`,
      ...batched,
    },
    async () => {
      await Promise.all(
        Array.from(
          { length: BATCH },
          () => store.intentInsert(intent("life100")),
        ),
      );
      const claimed = await store.intentClaim(claim("life100", BATCH));
      await Promise.all(claimed.map((c) => store.intentFulfil(fulfil(c))));
    },
  );
}
