import assert from "node:assert/strict";
import { summariseProfile } from "./cpu_profile.ts";

Deno.test("summariseProfile splits sampled time into self and inclusive shares", () => {
  const frame = (functionName: string) => ({
    functionName,
    url: "file:///repo/server/app.ts",
    lineNumber: 9,
  });
  const s = summariseProfile({
    nodes: [
      { id: 1, callFrame: frame("(root)"), children: [2] },
      { id: 2, callFrame: frame("handle"), children: [3] },
      { id: 3, callFrame: frame("query") },
    ],
    samples: [2, 3, 3, 3],
    timeDeltas: [1000, 1000, 1000, 1000],
  });
  assert.equal(s.totalMs, 4);
  assert.deepEqual(s.self, [
    { frame: "query server/app.ts:10", percent: 75 },
    { frame: "handle server/app.ts:10", percent: 25 },
  ]);
  assert.deepEqual(s.inclusive.slice(0, 3), [
    { frame: "(root) server/app.ts:10", percent: 100 },
    { frame: "handle server/app.ts:10", percent: 100 },
    { frame: "query server/app.ts:10", percent: 75 },
  ]);
});
