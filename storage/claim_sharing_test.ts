import assert from "node:assert/strict";
import { claim } from "./testing/_fixtures.ts";
import { claimGroupKey, shareOut } from "./claim_sharing.ts";
import type { IntentClaimParams } from "./storage.ts";

const P = claim();

Deno.test("claims share a key only when filters, lease and time all match; max does not count", () => {
  assert.equal(claimGroupKey(P), claimGroupKey({ ...P, max: 50 }));
  const others: Partial<IntentClaimParams>[] = [
    { namespace: "n" },
    { goal: "h" },
    { caller: "j" },
    { master: true },
    { publisher: "k" },
    { workerId: "w" },
    { capabilities: ["gpu"] },
    { leaseMs: 10_000 },
    { now: 1 },
    // Not confused with null, nor with a value that holds a separator.
    { publisher: "" },
    { goal: 'g","k' },
  ];
  const keys = new Set(others.map((o) => claimGroupKey({ ...P, ...o })));
  keys.add(claimGroupKey(P));
  assert.equal(keys.size, others.length + 1);
});

Deno.test("shareOut hands rows out in order, each claim at most its max", () => {
  assert.deepEqual(shareOut([1, 2, 3, 4], [1, 2, 3]), [[1], [2, 3], [4]]);
  assert.deepEqual(shareOut([], [2, 2]), [[], []]);
});
