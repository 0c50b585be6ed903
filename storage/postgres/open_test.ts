// Logging in: the test clusters take TCP logins only with a password
// (SCRAM-SHA-256, `_cluster.ts`), so every PostgreSQL test logs in as a real
// deployment does; here, a role of our own with a password that needs
// percent-encoding in the URL, and a wrong one.

import assert from "node:assert/strict";
import { runOnce } from "./_cluster.ts";
import { testCluster } from "./_temp.ts";
import { openPostgresStore } from "./open.ts";
import { publish, T0 } from "../testing/_fixtures.ts";

Deno.test("postgres: a role's password opens the store, percent-encoded in the URL; a wrong one is refused at open", async () => {
  const { url } = testCluster();
  const role = `bus_${crypto.randomUUID().slice(0, 8)}`;
  const password = "p@ss:w/rd%?#é";
  await runOnce(url, `CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
  await runOnce(url, `CREATE DATABASE ${role} OWNER ${role}`);
  const at = (pw: string) => {
    const u = new URL(url);
    u.username = role;
    u.password = encodeURIComponent(pw);
    u.pathname = `/${role}`;
    return u.toString();
  };
  try {
    const store = await openPostgresStore({ url: at(password) });
    try {
      await store.intentInsert(publish());
      assert.equal((await store.statsGet({ now: T0 })).states.open, 1);
    } finally {
      await store.close();
    }
    await assert.rejects(
      openPostgresStore({ url: at("wrong") }),
      /password authentication failed/,
    );
  } finally {
    await runOnce(url, `DROP DATABASE ${role} WITH (FORCE)`);
    await runOnce(url, `DROP ROLE ${role}`);
  }
});
