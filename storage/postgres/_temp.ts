// Test helper: stores on one throwaway cluster per test process, each in a
// fresh schema that closing drops again.

import { type Cluster, runOnce, startCluster } from "./_cluster.ts";
import { openPostgresStore, type PostgresStoreOptions } from "./open.ts";
import type { Storage } from "../storage.ts";

let cluster: Cluster | null = null;

/**
 * The process's cluster, started on first use and stopped when the process
 * exits.
 *
 * @returns The cluster.
 */
export function testCluster(): Cluster {
  if (cluster === null) {
    const c = cluster = startCluster();
    globalThis.addEventListener("unload", () => c.stop());
  }
  return cluster;
}

/**
 * Opens a store in a new schema of the test cluster; closing it drops the schema.
 *
 * @param options Everything but the URL and schema.
 * @returns The store and its schema.
 */
export async function openTempPgStore(
  options: Omit<PostgresStoreOptions, "url" | "schema"> = {},
): Promise<{ store: Storage; schema: string; url: string }> {
  const { url } = testCluster();
  // Random: test modules may share a cluster (`INTENTBUS_PG_URL`) and a pid.
  const schema = `t_${crypto.randomUUID().replaceAll("-", "")}`;
  const store = await openPostgresStore({ ...options, url, schema });
  const close = store.close.bind(store);
  store.close = async () => {
    await close();
    await runOnce(url, `DROP SCHEMA ${schema} CASCADE`);
  };
  return { store, schema, url };
}
