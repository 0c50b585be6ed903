// Test helper: a store on a WAL file in a fresh temp dir, removed on close.

import { openSqliteStore, type SqliteStoreOptions } from "./open.ts";
import type { SqliteStore } from "./store.ts";

/**
 * Opens a store in a new temp dir; closing it deletes the dir.
 *
 * @param options Everything but the path.
 * @returns The store and its database path.
 */
export async function openTempStore(
  options: Omit<SqliteStoreOptions, "path"> = {},
): Promise<{ store: SqliteStore; path: string }> {
  const dir = await Deno.makeTempDir({ prefix: "intentbus-store-" });
  const path = `${dir}/queue.db`;
  const store = await openSqliteStore({ ...options, path });
  const close = store.close.bind(store);
  store.close = async () => {
    await close();
    await Deno.remove(dir, { recursive: true });
  };
  return { store, path };
}
