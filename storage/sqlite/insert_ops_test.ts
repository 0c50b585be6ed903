import assert from "node:assert/strict";
import { ConflictError, LimitError } from "../../core/errors.ts";
import { publish, T0 } from "../testing/_fixtures.ts";
import { openTempStore } from "./_temp.ts";

Deno.test("a non-atomic batch counts each publisher's quota across its items and undoes a failing item alone", async () => {
  const { store } = await openTempStore();
  try {
    await store.intentInsert(publish({ publisher: "alice", quota: 3 }));
    const dup = publish({ publisher: "bob" });
    const res = await store.intentInsertMany({
      atomic: false,
      items: [
        publish({ publisher: "alice", quota: 3 }),
        publish({ publisher: "bob", quota: 1 }),
        { ...dup, id: "" },
        publish({ publisher: "alice", quota: 3 }),
        publish({ publisher: "bob", quota: 1 }),
        publish({ publisher: "alice", quota: 3 }),
        dup,
        { ...publish({ publisher: "carol" }), id: dup.id },
        publish({ publisher: "alice", quota: 3, idempotencyKey: "k" }),
      ],
    });
    const kinds = res.map((r) =>
      r.ok
        ? "ok"
        : r.error instanceof LimitError
        ? "limit"
        : r.error instanceof ConflictError
        ? "conflict"
        : r.error.name
    );
    assert.deepEqual(kinds, [
      "ok",
      "ok",
      "ok",
      "ok",
      "limit",
      "limit",
      "ok",
      "conflict",
      "limit",
    ]);
    const stats = await store.statsGet({ now: T0 });
    assert.equal(stats.states.open, 6);
  } finally {
    await store.close();
  }
});
