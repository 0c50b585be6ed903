import assert from "node:assert/strict";
import { runProfile } from "./profiles.ts";
import { assertExactlyOnce } from "./_testing.ts";
import { profileTable } from "./report.ts";

Deno.test(
  "batch mode against a spawned server fulfils every intent exactly once",
  async () => {
    const r = await runProfile({
      profile: "medium",
      intents: 400,
      workers: 8,
      publishers: 2,
      mode: "batch",
      batchSize: 50,
      claimMax: 10,
    });
    assert.equal(r.mode, "batch");
    assertExactlyOnce(r, 400);
    // 2 publishers of 200 intents in batches of 50: 8 requests, not 400.
    assert.equal(r.publish.count, 8);
    // Each claim took at least one intent and each took one ack request.
    assert.equal(r.claim.count, r.fulfil.count);
    assert.ok(r.claim.count <= 400);
    assert.equal(r.endToEnd.count, 400);
    assert.match(profileTable([r]), /medium\/batch\s+8\s+400/);
  },
);

Deno.test(
  "longpoll mode fulfils every intent exactly once and ends without waiting out its polls",
  async () => {
    const r = await runProfile({
      profile: "low",
      intents: 300,
      workers: 6,
      publishers: 3,
      mode: "longpoll",
      waitS: 30,
      batchSize: 25,
      claimMax: 5,
      timeoutMs: 60_000,
    });
    assert.equal(r.mode, "longpoll");
    assertExactlyOnce(r, 300);
    assert.equal(r.publish.count, 12);
  },
);
