// The PostgreSQL store over TLS, against a cluster that lets TCP connections
// in only over TLS (`hostssl`), with a self-signed certificate: every
// connection the store opens, its pool's and its listener's, must be
// encrypted, and the URL's `sslmode` and `sslrootcert` decide how the
// server's certificate is checked, as for psql (see README.md).

import assert from "node:assert/strict";
import { claim, publish, T0 } from "../testing/_fixtures.ts";
import { type Cluster, runOnce, startCluster } from "./_cluster.ts";
import { openPostgresStore } from "./open.ts";

function withTls(
  fn: (cluster: Cluster, url: (query: string) => string) => Promise<void>,
) {
  return async () => {
    const cluster = startCluster({ tls: true });
    try {
      await fn(cluster, (query) => `${cluster.url}?${query}`);
    } finally {
      cluster.stop();
    }
  };
}

/** The stores' connections (by `application_name`) and how many use TLS. */
async function storeConnections(cluster: Cluster) {
  const [row] = await runOnce(
    `${cluster.url}?sslmode=verify-full&sslrootcert=${cluster.caFile}`,
    `SELECT count(*)::int AS n, count(*) FILTER (WHERE s.ssl)::int AS tls
       FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)
      WHERE a.application_name LIKE 'intentbus%'`,
  );
  return row as { n: number; tls: number };
}

Deno.test(
  "postgres over TLS: verify-full with the server's CA works, pool and listener encrypted",
  withTls(async (cluster, url) => {
    const secure = url(`sslmode=verify-full&sslrootcert=${cluster.caFile}`);
    const a = await openPostgresStore({ url: secure, poolSize: 4 });
    const b = await openPostgresStore({ url: secure, poolSize: 4 });
    try {
      const heard: string[] = [];
      let next: (() => void) | undefined;
      a.watchGoals!((_namespace, goal) => {
        heard.push(goal);
        next?.();
      });
      // The listener connects in the background: publish on b until a hears.
      const got = new Promise<void>((r) => next = r);
      for (let i = 0; heard.length === 0 && i < 400; i++) {
        await b.intentInsert(publish({ goal: "tls" }));
        await Promise.race([got, new Promise((r) => setTimeout(r, 25))]);
      }
      assert.equal(heard[0], "tls", "the TLS listener never heard b");
      const [c] = await a.intentClaim(claim({ goal: "tls" }));
      assert.equal(c.goal, "tls");
      assert.ok(
        await b.intentFulfil({
          id: c.id,
          token: c.claimToken,
          caller: "w",
          now: T0 + 1,
          result: { ok: true },
          resultType: "json",
        }),
      );
      assert.equal((await a.intentGet({ id: c.id }))?.state, "fulfilled");
      const conns = await storeConnections(cluster);
      assert.ok(conns.n >= 3, `only ${conns.n} store connections seen`);
      assert.equal(conns.tls, conns.n, "a store connection without TLS");
    } finally {
      await a.close();
      await b.close();
    }
  }),
);

Deno.test(
  "postgres over TLS: sslmode means what it means to psql",
  withTls(async (cluster, url) => {
    // Checked, and the certificate is no CA's we know: refused at open.
    await assert.rejects(
      openPostgresStore({ url: url("sslmode=verify-full") }),
      /self[- ]signed certificate/,
    );
    // No TLS at all: refused by the server (`hostssl` only).
    await assert.rejects(
      openPostgresStore({ url: url("sslmode=disable") }),
      /no pg_hba\.conf entry .* no encryption/,
    );
    // Encrypted, the certificate unchecked (libpq's `require`; `pg` alone
    // would take it as verify-full and refuse), or checked against our CA
    // without the host name (`verify-ca`).
    for (
      const query of [
        "sslmode=require",
        `sslmode=verify-ca&sslrootcert=${cluster.caFile}`,
      ]
    ) {
      const store = await openPostgresStore({ url: url(query) });
      try {
        await store.intentInsert(publish());
        const conns = await storeConnections(cluster);
        assert.ok(conns.n >= 1 && conns.tls === conns.n, query);
      } finally {
        await store.close();
      }
    }
  }),
);
