import assert from "node:assert/strict";
import { sqlFloor } from "./sql_floor.ts";

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
    /no such index/,
  );
});
