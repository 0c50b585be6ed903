// A real full disk under PostgreSQL: the intents table lives in a tablespace
// on a 1 MiB tmpfs (the WAL stays on the big disk, so the server itself runs
// on). A publish that cannot be written is a StorageFullError and leaves
// nothing behind; every publish acknowledged before stays readable and
// claimable; once there is room again, publishing works with no restart.

import assert from "node:assert/strict";
import { StorageFullError } from "../../core/errors.ts";
import {
  bulkyText,
  claim,
  publish,
  publishUntilFull,
} from "../testing/_fixtures.ts";
import {
  sh,
  SMALL_DISK_IGNORED,
  withSmallDisk,
} from "../testing/_small_disk.ts";
import { runOnce, startCluster } from "./_cluster.ts";
import { openPostgresStore } from "./open.ts";

Deno.test({
  name:
    "postgres: a full disk is a StorageFullError that writes nothing, and the store works again once there is room",
  ignore: SMALL_DISK_IGNORED,
  fn: () =>
    withSmallDisk(1, async (disk) => {
      const cluster = startCluster({ fresh: true });
      try {
        sh("chown", "postgres", disk.dir);
        await runOnce(
          cluster.url,
          `CREATE TABLESPACE small LOCATION '${disk.dir}'`,
        );
        const store = await openPostgresStore({ url: cluster.url });
        try {
          // Empty still, so the move is instant; its TOAST table moves too.
          await runOnce(
            cluster.url,
            "ALTER TABLE intents SET TABLESPACE small",
          );

          const { acknowledged, error: full } = await publishUntilFull(store);
          assert.ok(full instanceof StorageFullError, `got ${full}`);
          assert.equal(full.code, "storage_full");
          assert.ok(acknowledged.length > 10, `${acknowledged.length} fitted`);

          // Nothing acknowledged is lost, and each is still readable.
          const [{ n }] = await runOnce(
            cluster.url,
            "SELECT count(*)::int AS n FROM intents",
          );
          assert.equal(n, acknowledged.length);
          for (const id of acknowledged.slice(-3)) {
            assert.equal((await store.intentGet({ id }))?.state, "open");
          }

          // Room again (an operator frees space): no restart needed.
          disk.resize(64);
          const later = publish({ payload: { text: bulkyText() } });
          await store.intentInsert(later);
          const claimed = await store.intentClaim(claim({ max: 5 }));
          assert.equal(claimed.length, 5);
          const known = new Set([...acknowledged, later.id]);
          assert.ok(claimed.every((c) => known.has(c.id)));
        } finally {
          await store.close();
        }
      } finally {
        cluster.stop();
      }
    }),
});
