import assert from "node:assert/strict";
import { runProfile } from "./profiles.ts";
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
    assert.equal(r.published, 400);
    assert.equal(r.fulfilled, 400);
    assert.equal(r.lost, 0);
    assert.equal(r.duplicateDeliveries, 0);
    assert.equal(r.duplicateFulfils, 0);
    assert.equal(r.leasesLost, 0);
    assert.equal(r.successRate, 100);
    assert.equal(r.timedOut, false);
    assert.deepEqual(r.errors, {});
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
    assert.equal(r.published, 300);
    assert.equal(r.fulfilled, 300);
    assert.equal(r.lost, 0);
    assert.equal(r.duplicateDeliveries, 0);
    assert.equal(r.duplicateFulfils, 0);
    assert.equal(r.timedOut, false);
    assert.deepEqual(r.errors, {});
    assert.equal(r.publish.count, 12);
  },
);
