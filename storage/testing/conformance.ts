/**
 * The storage conformance suite: every {@linkcode Storage} implementation
 * (SQLite through each driver, PostgreSQL) registers it and must pass
 * it unchanged. Time is driven by explicit `now` values, never by sleeping.
 *
 * @example
 * ```ts ignore
 * import { storageConformance } from "./conformance.ts";
 * import { openSqliteStore } from "../sqlite/mod.ts";
 *
 * storageConformance("sqlite:node:sqlite", () =>
 *   openSqliteStore({ path: Deno.makeTempDirSync() + "/q.db" }));
 * ```
 *
 * @module
 */

import type { Storage } from "../storage.ts";
import { cases } from "./_fixtures.ts";
import { claimCases } from "./_claim_cases.ts";
import { deadCases } from "./_dead_cases.ts";
import { insertCases } from "./_insert_cases.ts";
import { leaseCases } from "./_lease_cases.ts";
import { miscCases } from "./_misc_cases.ts";
import { modelCases } from "./_model_cases.ts";
import { reapCases } from "./_reap_cases.ts";
import { replayCases } from "./_replay_cases.ts";

/**
 * Registers the conformance cases with `Deno.test`, each named
 * `<name>: <behaviour>` and run on its own freshly opened store.
 *
 * @param name Names the store under test, such as `sqlite:ffi`.
 * @param open Opens a fresh, empty store; called once per case and closed after.
 */
export function storageConformance(
  name: string,
  open: () => Promise<Storage>,
): void {
  const test = cases(name, open);
  insertCases(test);
  claimCases(test);
  leaseCases(test);
  replayCases(test);
  reapCases(test);
  deadCases(test);
  miscCases(test);
  modelCases(test);
}
