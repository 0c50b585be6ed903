/**
 * Binding help shared by the drivers whose bindings store every JS number as
 * a REAL (`node:sqlite`, better-sqlite3).
 *
 * @module
 */

import type { SqlValue } from "../connection.ts";

/**
 * Safe integers as BigInt, so SQLite stores and compares them as INTEGER, as
 * the FFI driver does. Returns `params` itself when nothing needs changing.
 *
 * @param params The statement's parameters.
 * @returns Parameters ready to bind.
 */
export function integersAsBigInt(params: SqlValue[]): SqlValue[] {
  for (let i = 0; i < params.length; i++) {
    const v = params[i];
    if (typeof v === "number" && Number.isSafeInteger(v)) {
      const out = params.slice();
      for (let j = i; j < out.length; j++) {
        const w = out[j];
        if (typeof w === "number" && Number.isSafeInteger(w)) {
          out[j] = BigInt(w);
        }
      }
      return out;
    }
  }
  return params;
}
