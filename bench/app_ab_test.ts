import assert from "node:assert/strict";
import { appAb } from "./app_ab.ts";

Deno.test("two builds, one from git, run whole lifecycles in one process and leave no temp dirs", async () => {
  const before = [...Deno.readDirSync(Deno.env.get("TMPDIR") ?? "/tmp")]
    .filter((e) => e.name.startsWith("bench_ab_")).length;
  // `lifecycles` throws on any answer but 201 / 200, so every request of
  // both builds succeeded if this returns.
  const r = await appAb("HEAD", ".", 2, 40, 4);
  for (const c of [r.a, r.b]) {
    for (const v of [c.publish, c.claim, c.fulfil]) {
      assert.ok(Number.isFinite(v) && v >= 0);
    }
  }
  const after = [...Deno.readDirSync(Deno.env.get("TMPDIR") ?? "/tmp")]
    .filter((e) => e.name.startsWith("bench_ab_")).length;
  assert.equal(after, before);
});
