/**
 * The PostgreSQL schema, as numbered migrations recorded in
 * `intentbus_schema`. The tables mirror the SQLite store's column for column
 * (times are `bigint` unix ms, JSON is stored as text), so the shared row
 * mapping of `storage/rows.ts` reads both. Several servers may start at
 * once: migrating holds an advisory lock.
 *
 * @module
 */

/** One schema step. */
export interface PgMigration {
  /** 1, 2, 3…: the recorded version after it ran. */
  version: number;
  /** Statements run in one transaction. */
  sql: string;
}

const intentColumns = `
  id text PRIMARY KEY,
  namespace text NOT NULL,
  goal text NOT NULL,
  payload text NOT NULL,
  state text NOT NULL,
  priority integer NOT NULL,
  visibility text NOT NULL,
  target_worker text,
  required_capability text,
  publisher text NOT NULL,
  claim_attempts integer NOT NULL DEFAULT 0,
  max_attempts integer NOT NULL,
  backoff_base integer NOT NULL,
  run_at bigint NOT NULL,
  expires_at bigint NOT NULL,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  claimed_by text,
  worker_id text,
  claim_token text,
  lease_epoch integer NOT NULL DEFAULT 0,
  lease_expires_at bigint,
  last_error text,
  result text,
  result_type text,
  completed_at bigint`;

/** Every migration, oldest first; never edited once released. */
export const PG_MIGRATIONS: readonly PgMigration[] = [
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
  died_at bigint NOT NULL,
  dead_reason text NOT NULL
);
CREATE INDEX dead_intents_died ON dead_intents (died_at);
CREATE INDEX dead_intents_goal ON dead_intents (namespace, goal, died_at);

CREATE TABLE idempotency_keys (
  publisher text NOT NULL,
  key text NOT NULL,
  request_hash text,
  intent_id text NOT NULL,
  created_at bigint NOT NULL,
  PRIMARY KEY (publisher, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

CREATE TABLE api_keys (
  hash text PRIMARY KEY,
  owner text NOT NULL,
  created_at bigint NOT NULL,
  revoked_at bigint
);

CREATE TABLE nonces (
  key text NOT NULL,
  nonce text NOT NULL,
  expires_at bigint NOT NULL,
  PRIMARY KEY (key, nonce)
);
CREATE INDEX nonces_expiry ON nonces (expires_at);

CREATE TABLE kv (
  owner text NOT NULL,
  key text NOT NULL,
  value text NOT NULL,
  expires_at bigint NOT NULL,
  PRIMARY KEY (owner, key)
);
CREATE INDEX kv_expiry ON kv (expires_at);

CREATE TABLE paused_goals (
  namespace text NOT NULL,
  goal text NOT NULL,
  paused_at bigint NOT NULL,
  PRIMARY KEY (namespace, goal)
);
`,
  },
  {
    // As the SQLite store's migration 2: the dead list's whole sort key
    // (died_at, id) in each index, and one index for each filter it takes;
    // the publisher index keeps only what the quota counts.
    version: 2,
    sql: `
DROP INDEX dead_intents_died;
DROP INDEX dead_intents_goal;
CREATE INDEX dead_intents_died ON dead_intents (died_at, id);
CREATE INDEX dead_intents_namespace ON dead_intents (namespace, died_at, id);
CREATE INDEX dead_intents_goal ON dead_intents (goal, namespace, died_at, id);
DROP INDEX intents_publisher;
CREATE INDEX intents_publisher ON intents (publisher)
  WHERE state IN ('open', 'claimed');
`,
  },
];

/** The advisory lock key migrations hold: "intentbus" in ASCII, as a number. */
const MIGRATION_LOCK = 0x696e74656e74;

/** What migrating needs of a connection: pg's Client and PoolClient fit. */
export interface MigrationClient {
  /** Runs one statement. */
  query(
    text: string,
    values?: unknown[],
  ): Promise<{ rows: Record<string, unknown>[] }>;
}

/**
 * The recorded schema version, or null when there is no `intentbus_schema`
 * table on the search path yet. A plain read: a role that may only use
 * the tables (no CREATE) can run it.
 */
async function recordedVersion(
  client: MigrationClient,
): Promise<number | null> {
  const { rows } = await client.query(
    "SELECT to_regclass('intentbus_schema') IS NOT NULL AS found",
  );
  if (rows[0].found !== true) return null;
  const version = await client.query(
    "SELECT coalesce(max(version), 0) AS v FROM intentbus_schema",
  );
  return Number(version.rows[0].v);
}

/**
 * Fails with a message naming the schema and the privilege when the role
 * connected cannot use `schema`: PostgreSQL then skips it in the search
 * path, and the error would be about a table not found.
 */
async function checkSchemaUsage(
  client: MigrationClient,
  schema: string,
): Promise<void> {
  const { rows } = await client.query(
    `SELECT current_user AS role, has_schema_privilege(n.oid, 'USAGE') AS usage
     FROM (SELECT 1) AS one LEFT JOIN pg_namespace AS n ON n.nspname = $1`,
    [schema],
  );
  const { role, usage } = rows[0];
  if (usage === false) {
    throw new Error(
      `Role "${role}" lacks the USAGE privilege on schema "${schema}": as its owner, run GRANT USAGE ON SCHEMA ${schema} TO "${role}" (and SELECT, INSERT, UPDATE, DELETE on its tables)`,
    );
  }
}

/**
 * Applies every migration newer than the recorded version, in one
 * transaction under an advisory lock, so servers starting together migrate
 * once. A schema already at the latest version is only read, so a role
 * with no more than USAGE on the schema and SELECT, INSERT, UPDATE and
 * DELETE on its tables can run a server on it.
 *
 * @param client A connection whose `search_path` names the schema to use.
 * @param schema That schema, created under the lock when missing (two
 * concurrent `CREATE SCHEMA IF NOT EXISTS` can both try to create it);
 * omitted, the tables go where the search path puts them.
 * @returns The schema version after migrating.
 * @throws {RangeError} when the database is newer than this code.
 * @throws {Error} naming the schema when the role may not use it.
 */
export async function migratePg(
  client: MigrationClient,
  schema?: string,
): Promise<number> {
  const latest = PG_MIGRATIONS[PG_MIGRATIONS.length - 1].version;
  if (schema !== undefined) await checkSchemaUsage(client, schema);
  const recorded = await recordedVersion(client);
  if (recorded !== null) checkNotNewer(recorded, latest);
  if (recorded === latest) return latest;
  await client.query("BEGIN");
  try {
    await client.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
    if (schema !== undefined) {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    }
    await client.query(
      "CREATE TABLE IF NOT EXISTS intentbus_schema (version integer NOT NULL)",
    );
    const current = (await recordedVersion(client)) ?? 0;
    checkNotNewer(current, latest);
    for (const m of PG_MIGRATIONS) {
      if (m.version <= current) continue;
      await client.query(m.sql);
      await client.query("DELETE FROM intentbus_schema");
      await client.query("INSERT INTO intentbus_schema (version) VALUES ($1)", [
        m.version,
      ]);
    }
    await client.query("COMMIT");
  } catch (err) {
    // A lost connection cannot roll back (PostgreSQL does): keep the error.
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  }
  return latest;
}

function checkNotNewer(current: number, latest: number): void {
  if (current > latest) {
    throw new RangeError(
      `Database schema is newer than this code: version ${current}, known ${latest}`,
    );
  }
}
