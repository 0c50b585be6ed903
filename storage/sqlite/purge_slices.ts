/**
 * The purge of one namespace by the SQLite store: in slices of rowids, each
 * its own write, so that no request waits behind one long delete.
 *
 * @module
 */

import type { PurgeParams } from "../storage.ts";
import type * as SQL from "./sql.ts";
import * as admin from "./admin_ops.ts";

/** Rowids a purge of one namespace looks through in one write. */
export const PURGE_SLICE = 2000;

/** Runs `fn` over the store's statements: a read, or a queued write. */
export type StoreRun = <T>(fn: (q: SQL.Prepare) => T) => Promise<T>;

/**
 * Deletes one namespace's intents; see `Storage.intentPurge`. Its rows are
 * looked for in slices of {@linkcode PURGE_SLICE} rowids, each its own
 * write (why: see `SqliteStore.intentPurge`).
 *
 * @param params The purge, of one namespace (`namespace` not null).
 * @param read Runs a read, for each table's highest rowid.
 * @param write Queues a write, one per slice.
 * @returns How many rows were deleted from both tables.
 */
export async function purgeSlices(
  params: PurgeParams,
  read: StoreRun,
  write: StoreRun,
): Promise<number> {
  const limit = params.limit ?? Infinity;
  let deleted = 0;
  for (const table of ["intents", "dead_intents"] as const) {
    const top = await read((q) => admin.maxRowid(q, table));
    let taken = 0;
    for (let lo = 0; lo < top && taken < limit; lo += PURGE_SLICE) {
      taken += await write((q) =>
        admin.purgeSlice(
          q,
          table,
          params,
          lo,
          lo + PURGE_SLICE,
          limit - taken,
        )
      );
    }
    deleted += taken;
  }
  return deleted;
}
