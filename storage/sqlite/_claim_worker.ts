// Test helper run as a child process by multiprocess_test.ts: claims from
// the database at argv[0] with driver argv[1] until nothing is left, fulfils
// each claim, and prints the claimed ids as one JSON array.

import { openSqliteStore } from "./open.ts";

const [path, driver, nowText] = Deno.args;
const now = Number(nowText);
const store = await openSqliteStore({ path, driver });
const ids: string[] = [];
try {
  while (true) {
    const claimed = await store.intentClaim({
      namespace: "ns",
      goal: "g",
      caller: `pid-${Deno.pid}`,
      master: false,
      publisher: null,
      workerId: null,
      capabilities: [],
      leaseMs: 600_000,
      max: 5,
      now,
    });
    if (claimed.length === 0) break;
    await Promise.all(claimed.map((c) =>
      store.intentFulfil({
        id: c.id,
        token: c.claimToken,
        caller: `pid-${Deno.pid}`,
        now,
        result: Deno.pid,
        resultType: "json",
      })
    ));
    ids.push(...claimed.map((c) => c.id));
  }
} finally {
  await store.close();
}
console.log(JSON.stringify(ids));
