import assert from "node:assert/strict";
import { type Outcome, TurnGroup } from "./turn_group.ts";

Deno.test("calls made in one turn run as one batch, each with its own outcome in order", async () => {
  const batches: number[][] = [];
  const g = new TurnGroup<number, number>((xs) => {
    batches.push(xs);
    return Promise.resolve(
      xs.map((x): Outcome<number> =>
        x < 0
          ? { ok: false, error: new RangeError(`${x}`) }
          : { ok: true, value: x * 10 }
      ),
    );
  });
  const first = await Promise.allSettled([g.add(1), g.add(-2), g.add(3)]);
  assert.deepEqual(first.map((r) => r.status), [
    "fulfilled",
    "rejected",
    "fulfilled",
  ]);
  assert.equal((first[0] as PromiseFulfilledResult<number>).value, 10);
  assert.equal((first[2] as PromiseFulfilledResult<number>).value, 30);
  assert.ok((first[1] as PromiseRejectedResult).reason instanceof RangeError);
  // A later turn is a batch of its own.
  assert.equal(await g.add(4), 40);
  assert.deepEqual(batches, [[1, -2, 3], [4]]);
});

Deno.test("a batch that fails fails each of its calls", async () => {
  const g = new TurnGroup<number, number>(() =>
    Promise.reject(new Error("down"))
  );
  const out = await Promise.allSettled([g.add(1), g.add(2)]);
  assert.deepEqual(out.map((r) => r.status), ["rejected", "rejected"]);
});
