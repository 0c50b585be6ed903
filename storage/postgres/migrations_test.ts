import assert from "node:assert/strict";
import { runOnce } from "./_cluster.ts";
import { testCluster } from "./_temp.ts";
import { PG_MIGRATIONS } from "./migrations.ts";
import { openPostgresStore } from "./open.ts";
import { claim, publish } from "../testing/_fixtures.ts";

Deno.test("postgres: a schema at version 1 with dead intents is migrated to the latest, keeping them", async () => {
  const { url } = testCluster();
  const schema = `t_${crypto.randomUUID().replaceAll("-", "")}`;
  // Version 1 as a server of session 7 left it, with two dead intents.
  await runOnce(
    url,
    `CREATE SCHEMA ${schema}; SET search_path TO ${schema};
     ${PG_MIGRATIONS[0].sql}
     CREATE TABLE intentbus_schema (version integer NOT NULL);
     INSERT INTO intentbus_schema VALUES (1);
     INSERT INTO dead_intents (id, namespace, goal, payload, state, priority,
       visibility, publisher, max_attempts, backoff_base, run_at, expires_at,
       created_at, updated_at, died_at, dead_reason)
     SELECT lpad(to_hex(i), 32, '0'), 'default', 'g' || i, '{}', 'open', 100,
       'public', 'p', 3, 5, 0, 0, 0, 1000 + i, 1000 + i, 'failed'
     FROM generate_series(1, 2) AS i;`,
  );
  const store = await openPostgresStore({ url, schema });
  try {
    const [{ version }] = await runOnce(
      url,
      `SELECT version FROM ${schema}.intentbus_schema`,
    );
    assert.equal(version, PG_MIGRATIONS.at(-1)?.version);
    const indexes = await runOnce(
      url,
      `SELECT indexname, indexdef FROM pg_indexes
       WHERE schemaname = '${schema}' AND tablename = 'dead_intents'
       ORDER BY indexname`,
    );
    assert.deepEqual(
      indexes.map((r) => String(r.indexdef).replace(/^.* USING btree /, "")),
      [
        "(died_at, id)",
        "(goal, namespace, died_at, id)",
        "(namespace, died_at, id)",
        "(id)",
      ],
    );
    const dead = await store.deadList({ goal: "g2", limit: 10 });
    assert.deepEqual(dead.map((i) => i.goal), ["g2"]);
    assert.equal((await store.deadList({ limit: 10 })).length, 2);
  } finally {
    await store.close();
    await runOnce(url, `DROP SCHEMA ${schema} CASCADE`);
  }
});

Deno.test("postgres: a role with only USAGE and table rights runs on a migrated schema; without USAGE the error names the schema and privilege", async () => {
  const { url } = testCluster();
  const schema = `t_${crypto.randomUUID().replaceAll("-", "")}`;
  const [user, stranger] = ["u", "s"].map((p) =>
    `${p}_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`
  );
  const as = (role: string) => {
    const u = new URL(url);
    u.username = role;
    u.password = "pw";
    return u.toString();
  };
  // Migrated by the cluster's superuser, as an owner would.
  await (await openPostgresStore({ url, schema })).close();
  await runOnce(
    url,
    `CREATE ROLE ${user} LOGIN PASSWORD 'pw';
     CREATE ROLE ${stranger} LOGIN PASSWORD 'pw';
     GRANT USAGE ON SCHEMA ${schema} TO ${user};
     GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${schema}
       TO ${user}`,
  );
  try {
    const store = await openPostgresStore({ url: as(user), schema });
    try {
      await store.intentInsert(publish());
      const [c] = await store.intentClaim(claim());
      assert.ok(c !== undefined);
    } finally {
      await store.close();
    }
    await assert.rejects(
      openPostgresStore({ url: as(stranger), schema }),
      (err: Error) => {
        assert.match(err.message, new RegExp(`USAGE.*"${schema}"`));
        assert.match(err.message, new RegExp(`"${stranger}"`));
        return true;
      },
    );
  } finally {
    await runOnce(
      url,
      `DROP SCHEMA ${schema} CASCADE; DROP OWNED BY ${user}, ${stranger};
       DROP ROLE ${user}; DROP ROLE ${stranger}`,
    );
  }
});
