// Conformance cases for KV, API keys, nonces, stats and maintenance.

import assert from "node:assert/strict";
import { ConflictError } from "../../core/errors.ts";
import { type Case, claim, DAY, fulfilOf, publish, T0 } from "./_fixtures.ts";

/** Registers the housekeeping cases. */
export function miscCases(test: Case): void {
  test("kv values are private to their owner and vanish at expiry", async (s) => {
    const v = { a: [1, 2] };
    await s.kvSet({
      owner: "o",
      key: "k",
      value: v,
      expiresAt: T0 + 10,
      now: T0,
    });
    assert.deepEqual(await s.kvGet({ owner: "o", key: "k", now: T0 + 9 }), {
      value: v,
    });
    assert.equal(await s.kvGet({ owner: "p", key: "k", now: T0 }), null);
    assert.equal(await s.kvGet({ owner: "o", key: "k", now: T0 + 10 }), null);
    await s.kvSet({
      owner: "o",
      key: "k",
      value: "new",
      expiresAt: T0 + 20,
      now: T0 + 10,
    });
    assert.deepEqual(await s.kvGet({ owner: "o", key: "k", now: T0 + 10 }), {
      value: "new",
    });
  });

  test("api keys are stored, read back and revoked once", async (s) => {
    const k = await s.apiKeyInsert({ hash: "h", owner: "ann", now: T0 });
    assert.deepEqual(k, {
      hash: "h",
      owner: "ann",
      createdAt: T0,
      revokedAt: null,
    });
    assert.deepEqual(await s.apiKeyGet({ hash: "h" }), k);
    await assert.rejects(
      s.apiKeyInsert({ hash: "h", owner: "bob", now: T0 }),
      ConflictError,
    );
    assert.equal(await s.apiKeyRevoke({ hash: "h", now: T0 + 1 }), true);
    assert.equal(await s.apiKeyRevoke({ hash: "h", now: T0 + 2 }), false);
    assert.equal(await s.apiKeyRevoke({ hash: "nope", now: T0 }), false);
    assert.equal((await s.apiKeyGet({ hash: "h" }))?.revokedAt, T0 + 1);
    assert.equal(await s.apiKeyGet({ hash: "nope" }), null);
  });

  test("a nonce is refused while its earlier use is live, per key", async (s) => {
    const n = { key: "k", nonce: "n1", expiresAt: T0 + 300_000, now: T0 };
    assert.equal(await s.nonceUse(n), true);
    assert.equal(await s.nonceUse({ ...n, now: T0 + 299_999 }), false);
    assert.equal(await s.nonceUse({ ...n, key: "other" }), true);
    assert.equal(
      await s.nonceUse({ ...n, now: T0 + 300_000, expiresAt: T0 + 600_000 }),
      true,
    );
  });

  test("statsGet counts intents per state and per goal", async (s) => {
    await s.intentInsert(publish());
    await s.intentInsert(publish({ runAt: T0 + 1000 }));
    await s.intentInsert(publish());
    await s.intentInsert(publish({ goal: "h" }));
    const [c] = await s.intentClaim(claim());
    await s.intentFulfil(fulfilOf(c));
    await s.intentClaim(claim());
    const d = publish({ goal: "h" });
    await s.intentInsert(d);
    await s.intentCancel({ id: d.id, now: T0 });
    const st = await s.statsGet({ now: T0 });
    assert.deepEqual(st.states, { open: 2, claimed: 1, fulfilled: 1, dead: 1 });
    assert.deepEqual(st.goals, [
      {
        namespace: "ns",
        goal: "g",
        open: 1,
        delayed: 1,
        claimed: 1,
        dead: 0,
        paused: false,
      },
      {
        namespace: "ns",
        goal: "h",
        open: 1,
        delayed: 0,
        claimed: 0,
        dead: 1,
        paused: false,
      },
    ]);
  });

  test("maintenanceRun with a limit deletes at most that many of each table per call, and repeated calls finish", async (s) => {
    for (let i = 0; i < 5; i++) {
      await s.intentInsert(publish());
      const [c] = await s.intentClaim(claim());
      await s.intentFulfil(fulfilOf(c));
      await s.kvSet({
        owner: "o",
        key: `k${i}`,
        value: i,
        expiresAt: T0 + 1,
        now: T0,
      });
    }
    const at = { now: T0 + 8 * DAY, retentionMs: 7 * DAY, limit: 2 };
    const counts = [];
    for (let i = 0; i < 4; i++) {
      const r = await s.maintenanceRun(at);
      counts.push([r.intents, r.kv]);
    }
    assert.deepEqual(counts, [[2, 2], [2, 2], [1, 1], [0, 0]]);
    assert.equal((await s.statsGet({ now: at.now })).states.fulfilled, 0);
  });

  test("maintenanceRun deletes only what retention allows", async (s) => {
    await s.intentInsert(publish());
    const [c] = await s.intentClaim(claim());
    await s.intentFulfil(fulfilOf(c));
    const d = publish({ idempotencyKey: "k", requestHash: "h" });
    await s.intentInsert(d);
    await s.intentCancel({ id: d.id, now: T0 });
    const live = publish();
    await s.intentInsert(live);
    await s.nonceUse({ key: "k", nonce: "n", expiresAt: T0 + 1, now: T0 });
    await s.kvSet({
      owner: "o",
      key: "k",
      value: 1,
      expiresAt: T0 + 1,
      now: T0,
    });
    await s.kvSet({
      owner: "o",
      key: "keep",
      value: 1,
      expiresAt: T0 + 9 * DAY,
      now: T0,
    });

    const none = await s.maintenanceRun({ now: T0 + 1, retentionMs: 7 * DAY });
    assert.deepEqual(none, {
      intents: 0,
      dead: 0,
      nonces: 1,
      idempotencyKeys: 0,
      kv: 1,
    });
    const res = await s.maintenanceRun({
      now: T0 + 8 * DAY,
      retentionMs: 7 * DAY,
    });
    assert.deepEqual(res, {
      intents: 1,
      dead: 1,
      nonces: 0,
      idempotencyKeys: 1,
      kv: 0,
    });
    assert.equal(await s.intentGet({ id: c.id }), null);
    assert.equal(await s.intentGet({ id: d.id }), null);
    assert.equal((await s.intentGet({ id: live.id }))?.state, "open");
    assert.deepEqual(
      await s.kvGet({ owner: "o", key: "keep", now: T0 + 8 * DAY }),
      {
        value: 1,
      },
    );
  });
}
