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
import type { IntentInsertParams } from "../storage/storage.ts";

const N = 4000;
const WARMUP = 200;
const BATCH = 100;
const BATCH_N = 100;
const T0 = Date.UTC(2026, 0, 1);
const DRIVERS = ["node:sqlite", "ffi"];

const dir = Deno.makeTempDirSync({ prefix: "intentbus_storage_bench_" });
globalThis.addEventListener("unload", () => {
  Deno.removeSync(dir, { recursive: true });
});

let seq = 0;
function intent(goal: string): IntentInsertParams {
  seq++;
  return {
    id: seq.toString(16).padStart(32, "0"),
    namespace: "bench",
    goal,
    payload: { seq, text: "a payload of a realistic, small size" },
    priority: 100,
    visibility: "public",
    targetWorker: null,
    requiredCapability: null,
    maxAttempts: 3,
    backoffBase: 5,
    publisher: "pub",
    quota: 2000,
    idempotencyKey: null,
    requestHash: null,
    runAt: T0,
    expiresAt: T0 + 86_400_000,
    now: T0 + seq,
  };
}

function claim(goal: string, max = 1) {
  return {
    namespace: "bench",
    goal,
    caller: "w",
    master: false,
    publisher: null,
    workerId: null,
    capabilities: [],
    leaseMs: 60_000,
    max,
    now: T0 + 10_000_000,
  };
}

function fulfil(c: ClaimedIntent) {
  return {
    id: c.id,
    token: c.claimToken,
    caller: "w",
    now: T0 + 10_000_000,
    result: { ok: true },
    resultType: "json" as const,
  };
}

async function fill(store: SqliteStore, goal: string, n: number) {
  for (let i = 0; i < n; i += 1000) {
    const items = Array.from(
      { length: Math.min(1000, n - i) },
      () => ({ ...intent(goal), quota: null }),
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
    await store.intentInsert({ ...intent("insert"), quota: null });
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
    await store.intentInsert({ ...intent("life"), quota: null });
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
        () => store.intentInsert({ ...intent("insert"), quota: null }),
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
          () => store.intentInsert({ ...intent("life100"), quota: null }),
        ),
      );
      const claimed = await store.intentClaim(claim("life100", BATCH));
      await Promise.all(claimed.map((c) => store.intentFulfil(fulfil(c))));
    },
  );
}
