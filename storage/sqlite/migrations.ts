/**
 * The schema, as numbered migrations. Each runs in its own transaction and
 * bumps `PRAGMA user_version`; a migration is never edited once released,
 * only followed by a new one. `schema.sql` is a snapshot of the result that
 * `schema_test.ts` compares against.
 *
 * @example
 * ```ts
 * import { openNodeSqlite } from "./drivers/node_sqlite.ts";
 * import { migrate, MIGRATIONS } from "./migrations.ts";
 *
 * const db = openNodeSqlite({ path: ":memory:" });
 * migrate(db);
 * console.log(db.prepare("PRAGMA user_version").get()?.user_version === MIGRATIONS.length);
 * db.close();
 * ```
 *
 * @module
 */

import type { Connection } from "./connection.ts";

/** One schema step. */
export interface Migration {
  /** 1, 2, 3…: the `user_version` after it ran. */
  version: number;
  /** Statements run as one transaction. */
  sql: string;
}

const intentColumns = `
  id TEXT PRIMARY KEY,
  namespace TEXT NOT NULL,
  goal TEXT NOT NULL,
  payload TEXT NOT NULL,
  state TEXT NOT NULL,
  priority INTEGER NOT NULL,
  visibility TEXT NOT NULL,
  target_worker TEXT,
  required_capability TEXT,
  publisher TEXT NOT NULL,
  claim_attempts INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL,
  backoff_base INTEGER NOT NULL,
  run_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  claimed_by TEXT,
  worker_id TEXT,
  claim_token TEXT,
  lease_epoch INTEGER NOT NULL DEFAULT 0,
  lease_expires_at INTEGER,
  last_error TEXT,
  result TEXT,
  result_type TEXT,
  completed_at INTEGER`;

const INDEXES_V2 = `
DROP INDEX dead_intents_died;
DROP INDEX dead_intents_goal;
CREATE INDEX dead_intents_died ON dead_intents (died_at, id);
CREATE INDEX dead_intents_namespace ON dead_intents (namespace, died_at, id);
CREATE INDEX dead_intents_goal ON dead_intents (goal, namespace, died_at, id);
DROP INDEX intents_publisher;
CREATE INDEX intents_publisher ON intents (publisher)
  WHERE state IN ('open', 'claimed');
`;

/** Every migration, oldest first. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
CREATE TABLE intents (${intentColumns},
  CHECK (state IN ('open', 'claimed', 'fulfilled'))
);
-- Matches the claim order exactly, so a claim reads it in order and stops.
CREATE INDEX intents_claim ON intents
  (namespace, goal, priority DESC, run_at, claim_attempts, created_at)
  WHERE state = 'open';
CREATE INDEX intents_lease ON intents (lease_expires_at)
  WHERE state = 'claimed';
CREATE INDEX intents_expiry ON intents (expires_at) WHERE state = 'open';
CREATE INDEX intents_publisher ON intents (publisher, state);
CREATE INDEX intents_completed ON intents (completed_at)
  WHERE state = 'fulfilled';

CREATE TABLE dead_intents (${intentColumns},
  died_at INTEGER NOT NULL,
  dead_reason TEXT NOT NULL
);
CREATE INDEX dead_intents_died ON dead_intents (died_at);
CREATE INDEX dead_intents_goal ON dead_intents (namespace, goal, died_at);

CREATE TABLE idempotency_keys (
  publisher TEXT NOT NULL,
  key TEXT NOT NULL,
  request_hash TEXT,
  intent_id TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (publisher, key)
) WITHOUT ROWID;
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

CREATE TABLE api_keys (
  hash TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
) WITHOUT ROWID;

CREATE TABLE nonces (
  key TEXT NOT NULL,
  nonce TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (key, nonce)
) WITHOUT ROWID;
CREATE INDEX nonces_expiry ON nonces (expires_at);

CREATE TABLE kv (
  owner TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (owner, key)
) WITHOUT ROWID;
CREATE INDEX kv_expiry ON kv (expires_at);

CREATE TABLE paused_goals (
  namespace TEXT NOT NULL,
  goal TEXT NOT NULL,
  paused_at INTEGER NOT NULL,
  PRIMARY KEY (namespace, goal)
) WITHOUT ROWID;
`,
  },
  {
    // The dead list's whole sort key (died_at, id) in each index, and one
    // index for each filter it takes, so a page is an index seek: with
    // (died_at) alone a goal with a few dead among many scanned them all.
    // The publisher index keeps only what the quota counts (open and
    // claimed), so a fulfil leaves it instead of moving within it: 4.9%
    // fewer SQL instructions an intent (callgrind, bench/RESULTS.md).
    version: 2,
    sql: INDEXES_V2,
  },
];

/**
 * Applies every migration newer than the database's `user_version`, each in
 * one `BEGIN IMMEDIATE` transaction.
 *
 * @param db An open connection.
 * @returns The schema version after migrating.
 * @throws {RangeError} when the database is newer than this code.
 */
export function migrate(db: Connection): number {
  const version = () =>
    Number(db.prepare("PRAGMA user_version").get()?.user_version);
  const current = version();
  const latest = MIGRATIONS[MIGRATIONS.length - 1].version;
  if (current > latest) {
    throw new RangeError(
      `Database schema is newer than this code: version ${current}, known ${latest}`,
    );
  }
  for (const m of MIGRATIONS) {
    if (m.version <= current) continue;
    db.exec("BEGIN IMMEDIATE");
    try {
      // Another process may have migrated since the read above.
      if (version() < m.version) {
        db.exec(m.sql);
        db.exec(`PRAGMA user_version = ${m.version}`);
      }
      db.exec("COMMIT");
    } catch (err) {
      db.exec("ROLLBACK");
      throw err;
    }
  }
  return latest;
}
