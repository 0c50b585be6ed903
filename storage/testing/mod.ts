/**
 * Testing helpers for stores: the shared conformance suite.
 *
 * @example
 * ```ts ignore
 * import { storageConformance } from "./mod.ts";
 * import { openSqliteStore } from "../sqlite/mod.ts";
 *
 * storageConformance("sqlite:node:sqlite", () =>
 *   openSqliteStore({ path: ":memory:" }));
 * ```
 *
 * @module
 */

export { storageConformance } from "./conformance.ts";
export { bulkyText, claim, fillKv, publishUntilFull } from "./_fixtures.ts";
