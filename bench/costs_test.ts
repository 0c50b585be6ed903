import assert from "node:assert/strict";
import { requestCosts } from "./costs.ts";

Deno.test("the costs server runs with the deno flags it is given, such as --cpu-prof", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bench_costs_prof_" });
  try {
    const costs = await requestCosts({
      intents: 50,
      connections: 2,
      denoFlags: ["--cpu-prof", `--cpu-prof-dir=${dir}`],
    });
    assert.deepEqual(costs.map((c) => [c.op, c.requests]), [
      ["publish", 50],
      ["claim (hit)", 50],
      ["fulfil", 50],
      ["claim (empty)", 50],
      ["hono ceiling", 50],
      ["deno ceiling", 50],
    ]);
    // Our server's threads write their profiles as they exit; the ceiling
    // servers, run without the flags, write none.
    const files = [];
    for await (const e of Deno.readDir(dir)) files.push(e.name);
    assert.ok(files.length > 0, "no profile written");
    for (const name of files) assert.match(name, /\.cpuprofile$/);
    const pids = new Set(files.map((name) => name.split(".")[2]));
    assert.equal(pids.size, 1, files.join(", "));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
