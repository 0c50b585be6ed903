import assert from "node:assert/strict";
import { BusyError, StorageFullError } from "../../core/errors.ts";
import type { IntentInsertParams } from "../storage.ts";
import { openTempStore } from "./_temp.ts";
import { publish, T0 } from "../testing/_fixtures.ts";
import { DRIVERS, loadDriver } from "./drivers/mod.ts";
import { openSqliteStore } from "./open.ts";
import {
  SQLITE_BUSY,
  SQLITE_FULL,
  SQLITE_READONLY,
  SqliteError,
} from "./connection.ts";
import { mapSqliteError } from "./store.ts";

function intent(id: string): IntentInsertParams {
  return publish({
    id: id.padStart(32, "0"),
    payload: { id },
    runAt: T0,
    expiresAt: T0 + 86_400_000,
    now: T0,
  });
}

const claim = (goal: string) => ({
  namespace: "ns",
  goal,
  caller: "w",
  master: false,
  publisher: null,
  workerId: null,
  capabilities: [],
  leaseMs: 60_000,
  max: 1,
  now: T0,
});

for (const driver of Object.keys(DRIVERS)) {
  const name = `sqlite:${driver}`;

  Deno.test(`${name}: an empty claim takes no write lock; a real one reports BusyError`, async () => {
    const { store, path } = await openTempStore({ driver, busyTimeoutMs: 20 });
    const other = (await loadDriver(driver))({ path });
    try {
      await store.intentInsert(intent("1"));
      other.exec("BEGIN IMMEDIATE");
      assert.deepEqual(await store.intentClaim(claim("empty")), []);
      await assert.rejects(store.intentClaim(claim("g")), BusyError);
      await assert.rejects(store.intentInsert(intent("2")), BusyError);
      other.exec("ROLLBACK");
      assert.equal((await store.intentClaim(claim("g"))).length, 1);
    } finally {
      other.close();
      await store.close();
    }
  });

  Deno.test(`${name}: durability full sets synchronous=FULL, normal sets NORMAL`, async () => {
    for (const [durability, level] of [["full", 2], ["normal", 1]] as const) {
      const { store } = await openTempStore({ driver, durability });
      try {
        const row = store.db.prepare("PRAGMA synchronous").get();
        assert.equal(Number(row?.synchronous), level);
        const mode = store.db.prepare("PRAGMA journal_mode").get();
        assert.equal(mode?.journal_mode, "wal");
        assert.equal(store.name, name);
      } finally {
        await store.close();
      }
    }
  });

  Deno.test(`${name}: close commits writes still queued, and the file reopens`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "intentbus-store-" });
    try {
      const path = `${dir}/queue.db`;
      const store = await openSqliteStore({ path, driver });
      const pending = store.intentInsert(intent("a"));
      await store.close();
      assert.equal((await pending).replayed, false);
      await assert.rejects(store.intentInsert(intent("b")), /closed/);
      const again = await openSqliteStore({ path, driver });
      try {
        assert.equal(
          (await again.intentGet({ id: intent("a").id }))?.state,
          "open",
        );
      } finally {
        await again.close();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });

  Deno.test(`${name}: writes of one turn commit in one transaction`, async () => {
    const { store, path } = await openTempStore({ driver });
    try {
      const before = Deno.statSync(`${path}-wal`).size;
      await Promise.all(
        Array.from(
          { length: 100 },
          (_, i) => store.intentInsert(intent(`${i + 1}`)),
        ),
      );
      // One commit of 100 small rows appends a few pages to the WAL, not 100
      // separate commits' worth (each commit rewrites the table's pages).
      const grew = Deno.statSync(`${path}-wal`).size - before;
      assert.ok(grew < 100 * 4096, `WAL grew ${grew} bytes`);
      assert.equal((await store.statsGet({ now: T0 })).states.open, 100);
    } finally {
      await store.close();
    }
  });
}

Deno.test("SQLite's result codes map to the store's errors: busy and read-only to BusyError (503), full to StorageFullError", () => {
  const busy = mapSqliteError(
    new SqliteError(SQLITE_BUSY, "database is locked"),
  );
  assert.ok(busy instanceof BusyError);
  // 8, and an extended code of it (SQLITE_READONLY_DBMOVED = 8 | 4 << 8).
  for (const code of [SQLITE_READONLY, SQLITE_READONLY | (4 << 8)]) {
    const mapped = mapSqliteError(
      new SqliteError(code, "attempt to write a readonly database"),
    );
    assert.ok(mapped instanceof BusyError, String(code));
    assert.match((mapped as Error).message, /cannot be written/);
  }
  const full = mapSqliteError(new SqliteError(SQLITE_FULL, "disk full"));
  assert.ok(full instanceof StorageFullError);
  const other = new SqliteError(11, "database disk image is malformed");
  assert.equal(mapSqliteError(other), other);
});

Deno.test("a purge of one namespace goes through the table in rowid slices, honouring its limit, and leaves the others", async () => {
  const { store } = await openTempStore();
  try {
    const items = Array.from(
      { length: 5000 },
      (_, i) => publish({ namespace: i % 3 === 0 ? "b" : "a", payload: i }),
    );
    for (let i = 0; i < items.length; i += 1000) {
      await store.intentInsertMany({
        items: items.slice(i, i + 1000),
        atomic: true,
      });
    }
    const sizes: number[] = [];
    for (let n = -1; n !== 0;) {
      n = await store.intentPurge({ namespace: "b", now: T0, limit: 700 });
      sizes.push(n);
    }
    // 1,667 of namespace b, 700 at most a call, over 2,000-rowid slices.
    assert.deepEqual(sizes, [700, 700, 267, 0]);
    const left = store.db.prepare(
      "SELECT namespace, count(*) AS n FROM intents GROUP BY 1",
    ).all();
    assert.deepEqual(left.map((r) => [r.namespace, r.n]), [["a", 3333]]);
    const plan = store.db.prepare(
      `EXPLAIN QUERY PLAN SELECT rowid FROM intents WHERE rowid > ?1
         AND rowid <= ?2 AND namespace = ?3 AND created_at <= ?4 LIMIT ?5`,
    ).all(0, 2000, "b", T0, -1).map((r) => String(r.detail));
    assert.match(
      plan.join(" "),
      /SEARCH intents USING INTEGER PRIMARY KEY \(rowid>\? AND rowid<\?\)/,
    );
  } finally {
    await store.close();
  }
});
