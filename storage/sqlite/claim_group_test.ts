import assert from "node:assert/strict";
import { claim, publish, T0 } from "../testing/_fixtures.ts";
import { openTempStore } from "./_temp.ts";

Deno.test("claims of one goal in one turn share out the intents in claim order, none twice", async () => {
  const { store } = await openTempStore();
  try {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const { intent } = await store.intentInsert(
        publish({ now: T0 + i, runAt: T0 }),
      );
      ids.push(intent.id);
    }
    const got = await Promise.all([
      store.intentClaim(claim()),
      store.intentClaim(claim({ max: 2 })),
      store.intentClaim(claim()),
      store.intentClaim(claim({ max: 3 })),
      store.intentClaim(claim()),
    ]);
    assert.deepEqual(got.map((g) => g.map((i) => i.id)), [
      [ids[0]],
      [ids[1], ids[2]],
      [ids[3]],
      [ids[4]],
      [],
    ]);
    const stats = await store.statsGet({ now: T0 });
    assert.equal(stats.states.claimed, 5);
  } finally {
    await store.close();
  }
});

Deno.test("claims with other filters in the same turn are served on their own", async () => {
  const { store } = await openTempStore();
  try {
    const { intent: mine } = await store.intentInsert(
      publish({ targetWorker: "w1", priority: 200 }),
    );
    const { intent: any } = await store.intentInsert(publish());
    const [a, b, c] = await Promise.all([
      store.intentClaim(claim({ workerId: "w2" })),
      store.intentClaim(claim({ workerId: "w1" })),
      store.intentClaim(claim({ workerId: "w2" })),
    ]);
    assert.deepEqual(a.map((i) => i.id), [any.id]);
    assert.deepEqual(b.map((i) => i.id), [mine.id]);
    assert.deepEqual(c, []);
  } finally {
    await store.close();
  }
});
