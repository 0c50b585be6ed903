// A real full disk under PostgreSQL: the intents table lives in a tablespace
// on a 1 MiB tmpfs (the WAL stays on the big disk, so the server itself runs
// on). A publish that cannot be written is a StorageFullError and leaves
// nothing behind; every publish acknowledged before stays readable and
// claimable; once there is room again, publishing works with no restart.
// Mounting needs root, as the test cluster does here and in CI.

import assert from "node:assert/strict";
import { StorageFullError } from "../../core/errors.ts";
import { claim, publish } from "../testing/_fixtures.ts";
import { runOnce, startCluster } from "./_cluster.ts";
import { openPostgresStore } from "./open.ts";

function sh(cmd: string, ...args: string[]): void {
  const out = new Deno.Command(cmd, { args, stderr: "piped" }).outputSync();
  if (!out.success) {
    throw new Error(
      `${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`,
    );
  }
}

/** 7 KiB of hex from random bytes: PostgreSQL's compression halves it, no more. */
function bulky(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(3584));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test({
  name:
    "postgres: a full disk is a StorageFullError that writes nothing, and the store works again once there is room",
  ignore: Deno.build.os !== "linux" || Deno.uid() !== 0,
  async fn() {
    const mnt = Deno.makeTempDirSync({ prefix: "intentbus-full-" });
    sh("mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", mnt);
    const cluster = startCluster({ fresh: true });
    try {
      sh("chown", "postgres", mnt);
      await runOnce(cluster.url, `CREATE TABLESPACE small LOCATION '${mnt}'`);
      const store = await openPostgresStore({ url: cluster.url });
      try {
        // Empty still, so the move is instant; its TOAST table moves too.
        await runOnce(cluster.url, "ALTER TABLE intents SET TABLESPACE small");

        const acknowledged: string[] = [];
        let full: unknown = null;
        for (let i = 0; i < 2000 && full === null; i++) {
          const p = publish({ payload: { text: bulky() } });
          try {
            await store.intentInsert(p);
            acknowledged.push(p.id);
          } catch (err) {
            full = err;
            // The failed publish left no row.
            assert.equal(await store.intentGet({ id: p.id }), null);
          }
        }
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

        // Room again (an operator grows the volume): no restart needed.
        sh("mount", "-o", "remount,size=64m", mnt);
        const later = publish({ payload: { text: bulky() } });
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
      sh("umount", "-l", mnt);
      Deno.removeSync(mnt, { recursive: true });
    }
  },
});
