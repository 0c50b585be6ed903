/**
 * The floor under the store: CPU per intent of the store's own SQL text
 * (`storage/sqlite/sql.ts`) on the real schema, run with `node:sqlite`
 * directly, with no store, HTTP or JSON code around it. Each round is three
 * write transactions of `k` intents: insert them, claim them, fulfil them
 * (one `UPDATE … FROM json_each`, as `/ack` and grouped fulfils do).
 *
 * Claims go in groups of `--group` (default 8): a read-only peek, then one
 * `UPDATE … LIMIT group`, as the store does for claims with the same
 * filters arriving in one event-loop turn (Heavy's averaged 7.7 claims,
 * counted in session 3); `--group 1` claims one at a time, and
 * `--group 50` is batch mode's `?max=50`. `--drop` removes indexes by name,
 * to price what each costs. A passive checkpoint runs inline every 200
 * rounds, so the figures include copying the WAL back.
 *
 * `--k 30` (the default) commits once per 10 intents, as Heavy's group
 * commits did (2,066 commits for 20,000 intents).
 *
 * Usage: `deno run -A bench/sql_floor.ts [--k 30] [--intents 20000]
 * [--group 8] [--drop intents_publisher,intents_expiry]`
 *
 * @module
 */

import { DatabaseSync, type StatementSync } from "node:sqlite";
import process from "node:process";
import { parseArgs } from "node:util";
import { MIGRATIONS } from "../storage/sqlite/migrations.ts";
import * as SQL from "../storage/sqlite/sql.ts";
import { countFlag, runMain } from "./_cli.ts";

/** Options of {@linkcode sqlFloor}. */
export interface FloorOptions {
  /** Intents per transaction. */
  k: number;
  /** Intents measured (after a quarter as many to warm up). */
  intents: number;
  /** Claims per peek and `UPDATE … LIMIT group`. */
  group: number;
  /** Indexes to drop before measuring. */
  drop: string[];
}

/** CPU µs per intent of each step, and how many intents were fulfilled. */
export interface Floor {
  insert: number;
  claim: number;
  fulfil: number;
  lifecycle: number;
  fulfilled: number;
}

const cpu = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

/**
 * Measures on a fresh WAL file in a temp dir.
 *
 * @param o See {@linkcode FloorOptions}.
 * @returns CPU µs per intent.
 * @throws {RangeError} for an index to drop that the intents table lacks.
 */
export function sqlFloor(o: FloorOptions): Floor {
  const dir = Deno.makeTempDirSync({ prefix: "bench_sql_floor_" });
  const db = new DatabaseSync(`${dir}/floor.db`);
  try {
    db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL");
    for (const m of MIGRATIONS) db.exec(m.sql);
    const indexes = db.prepare(
      "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'intents' AND sql IS NOT NULL ORDER BY name",
    ).all().map((r) => String(r.name));
    for (const name of o.drop) {
      if (!indexes.includes(name)) {
        throw new RangeError(
          `Unknown index to drop: "${name}" (the intents table has ${
            indexes.join(", ")
          })`,
        );
      }
      db.exec(`DROP INDEX ${name}`);
    }
    const cache = new Map<string, StatementSync>();
    const q = (sql: string) => {
      let s = cache.get(sql);
      if (!s) cache.set(sql, s = db.prepare(sql));
      return s;
    };
    const spent = [0, 0, 0];
    let seq = 0;
    let fulfilled = 0;
    const round = (now: number) => {
      let t = cpu();
      const lap = (i: number) => {
        const t2 = cpu();
        spent[i] += t2 - t;
        t = t2;
      };
      q("BEGIN IMMEDIATE").run();
      for (let i = 0; i < o.k; i++) {
        const id = now.toString(16).padStart(12, "0") +
          (seq++).toString(16).padStart(20, "0");
        q(SQL.INTENT_PUBLISH).run(
          ...[id, "default", "g", '{"n":1,"text":"hello"}', 100, "public"],
          ...[null, null, "publisher", 3, 5, now, now + 86_400_000, now],
        );
      }
      q("COMMIT").run();
      lap(0);
      const args = ["default", "g", now + 1, "worker", 1, null, null, "[]"];
      const claimed: Record<string, unknown>[] = [];
      q("BEGIN IMMEDIATE").run();
      for (let i = 0; i < o.k; i += o.group) {
        const n = Math.min(o.group, o.k - i);
        q(SQL.claimPeekVersion(n)).all(...args);
        claimed.push(...q(SQL.claimUpdate(n)).all(...args, now + 60_000));
      }
      q("COMMIT").run();
      lap(1);
      q("BEGIN IMMEDIATE").run();
      const items = claimed.map((r) => ({
        id: r.id,
        token: r.claim_token,
        result: '{"ok":true}',
        type: "json",
        now,
      }));
      fulfilled += q(SQL.FULFIL_MANY_BY_TOKEN).all(JSON.stringify(items))
        .length;
      q("COMMIT").run();
      lap(2);
    };
    let now = Date.now();
    const rounds = (n: number) => {
      for (let i = 0; i < Math.ceil(n / o.k); i++) {
        round(now++);
        if (i % 200 === 199) db.exec("PRAGMA wal_checkpoint(PASSIVE)");
      }
    };
    rounds(o.intents / 4);
    spent.fill(0);
    fulfilled = 0;
    rounds(o.intents);
    const n = Math.ceil(o.intents / o.k) * o.k;
    const [insert, claim, fulfil] = spent.map((x) => x / n);
    return {
      insert,
      claim,
      fulfil,
      lifecycle: insert + claim + fulfil,
      fulfilled,
    };
  } finally {
    db.close();
    Deno.removeSync(dir, { recursive: true });
  }
}

const HELP =
  `SQL floor: CPU per intent of the store's own SQL, run with node:sqlite
directly on the real schema, with no store, HTTP or JSON code around it

Usage: deno run -A bench/sql_floor.ts [flags]

  --k <n>           intents per transaction (default 30: one commit per 10
                    intents, as Heavy's group commits)
  --intents <n>     intents measured, after a quarter as many to warm up
                    (default 20000)
  --group <n>       claims per peek and UPDATE … LIMIT (default 8; 1 claims
                    one at a time, 50 is batch mode's ?max=50)
  --drop <names>    indexes of the intents table to drop first, comma-
                    separated, such as intents_publisher,intents_expiry
  --help            this text`;

function main(args: string[]): number {
  const { values } = parseArgs({
    args,
    options: {
      k: { type: "string", default: "30" },
      intents: { type: "string", default: "20000" },
      group: { type: "string", default: "8" },
      drop: { type: "string", default: "" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const o: FloorOptions = {
    k: countFlag("k", values.k),
    intents: countFlag("intents", values.intents),
    group: countFlag("group", values.group),
    drop: values.drop ? values.drop.split(",") : [],
  };
  const f = sqlFloor(o);
  const x = (v: number) => v.toFixed(1);
  console.log(
    `k ${o.k}, claims in groups of ${o.group}${
      o.drop.length ? `, without ${o.drop.join(", ")}` : ""
    }: CPU µs per intent: insert ${x(f.insert)}, claim ${x(f.claim)}, ` +
      `fulfil ${x(f.fulfil)}; lifecycle ${x(f.lifecycle)} ` +
      `(${f.fulfilled} fulfilled)`,
  );
  return 0;
}

if (import.meta.main) await runMain(main);
