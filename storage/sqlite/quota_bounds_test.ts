import assert from "node:assert/strict";
import { LimitError } from "../../core/errors.ts";
import { claim, fulfilOf, publish, T0 } from "../testing/_fixtures.ts";
import { openSqliteStore } from "./open.ts";
import { openTempStore } from "./_temp.ts";

const alice = (quota = 3) => publish({ publisher: "alice", quota });

Deno.test("a publisher's inserts through another connection count against its quota", async () => {
  const { store, path } = await openTempStore();
  const other = await openSqliteStore({ path });
  try {
    await store.intentInsert(alice());
    await store.intentInsert(alice());
    // This store's bound for alice is now 2; the other connection adds one.
    await other.intentInsert(alice());
    await assert.rejects(store.intentInsert(alice()), LimitError);
    assert.equal((await store.statsGet({ now: T0 })).states.open, 3);
  } finally {
    await other.close();
    await store.close();
  }
});

Deno.test("intents brought back from the dead-letter table count against the quota", async () => {
  const { store } = await openTempStore();
  try {
    const ids = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await store.intentInsert(alice())).intent.id);
    }
    await store.intentCancel({ id: ids[1], now: T0 });
    await store.intentCancel({ id: ids[2], now: T0 });
    // One live: the next publish counts again, and the bound becomes 2.
    await store.intentInsert(alice());
    await store.intentRetry({ id: ids[1], now: T0 });
    await store.deadRedrive({ now: T0, limit: 10 });
    // Four live against a quota of 3: a stale bound of 2 would admit this.
    await assert.rejects(store.intentInsert(alice()), LimitError);
    assert.equal((await store.statsGet({ now: T0 })).states.open, 4);
  } finally {
    await store.close();
  }
});

Deno.test("a rolled-back insert leaves the bound high, and a fresh count admits again", async () => {
  const { store } = await openTempStore();
  try {
    const failed = await store.intentInsertMany({
      atomic: true,
      items: [alice(2), alice(2), alice(2)],
    });
    assert.ok(!failed[2].ok && failed[2].error instanceof LimitError);
    // Nothing was stored; the bound of 2 is recounted to 0, not trusted.
    await store.intentInsert(alice(2));
    await store.intentInsert(alice(2));
    await assert.rejects(store.intentInsert(alice(2)), LimitError);
    // A fulfil frees a slot that the next count sees.
    const [c] = await store.intentClaim(claim());
    await store.intentFulfil(fulfilOf(c));
    await store.intentInsert(alice(2));
  } finally {
    await store.close();
  }
});
