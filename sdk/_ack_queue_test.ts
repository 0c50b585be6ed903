import assert from "node:assert/strict";
import { AckQueue } from "./_ack_queue.ts";
import type { Ack, AckResult } from "./types.ts";

const ack = (id: string): Ack => ({ id, claimToken: "t", status: "fulfilled" });

Deno.test("acks made while a batch is in flight go together in the next one", async () => {
  const batches: string[][] = [];
  const gates: (() => void)[] = [];
  const queue = new AckQueue(async (acks) => {
    batches.push(acks.map((a) => a.id));
    await new Promise<void>((r) => gates.push(r));
    return acks.map((a): AckResult => ({ ok: true, id: a.id }));
  });
  const first = [queue.push(ack("a")), queue.push(ack("b"))];
  await Promise.resolve();
  const later = [
    queue.push(ack("c")),
    queue.push(ack("d")),
    queue.push(ack("e")),
  ];
  while (gates.length < 1) await new Promise((r) => setTimeout(r, 1));
  gates[0]();
  while (gates.length < 2) await new Promise((r) => setTimeout(r, 1));
  gates[1]();
  const results = await Promise.all([...first, ...later]);
  assert.deepEqual(batches, [["a", "b"], ["c", "d", "e"]]);
  assert.ok(results.every((r) => r.ok));
});

Deno.test("a failed batch rejects each of its acks and the queue keeps going", async () => {
  let calls = 0;
  const queue = new AckQueue((acks) => {
    calls++;
    if (calls === 1) return Promise.reject(new Error("down"));
    return Promise.resolve(acks.map((a) => ({ ok: true as const, id: a.id })));
  });
  await assert.rejects(queue.push(ack("a")), { message: "down" });
  assert.deepEqual(await queue.push(ack("b")), { ok: true, id: "b" });
});

Deno.test("batches never exceed the maximum size", async () => {
  const sizes: number[] = [];
  const queue = new AckQueue((acks) => {
    sizes.push(acks.length);
    return Promise.resolve(acks.map((a) => ({ ok: true as const, id: a.id })));
  }, 2);
  await Promise.all(["a", "b", "c", "d", "e"].map((id) => queue.push(ack(id))));
  assert.deepEqual(sizes, [2, 2, 1]);
});
