// Shared fixtures of the conformance suite: parameter builders with
// defaults, a fixed start time, and a helper that opens and closes a store.

import assert from "node:assert/strict";
import type { ClaimedIntent } from "../../core/intent.ts";
import type {
  IntentClaimParams,
  IntentFailParams,
  IntentFulfilParams,
  IntentInsertParams,
  Storage,
} from "../storage.ts";

/** Opens a fresh, empty store. */
export type OpenStore = () => Promise<Storage>;

/** A Deno.test registrar bound to one store: `name: behaviour`. */
export type Case = (
  behaviour: string,
  fn: (store: Storage) => Promise<void>,
) => void;

/** The start of every test's manual time. */
export const T0 = Date.UTC(2026, 0, 1);

/** One day in ms. */
export const DAY = 24 * 3600 * 1000;

let counter = 0;

/** A fresh intent id: 32 lowercase hex, unique within the process. */
export function newId(): string {
  counter++;
  const rand = crypto.getRandomValues(new Uint8Array(12));
  return counter.toString(16).padStart(8, "0") +
    Array.from(rand, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Insert params with defaults: public, priority 100, 3 attempts, base 5 s. */
export function publish(
  over: Partial<IntentInsertParams> = {},
): IntentInsertParams {
  const now = over.now ?? T0;
  return {
    id: newId(),
    namespace: "ns",
    goal: "g",
    payload: { n: 1 },
    priority: 100,
    visibility: "public",
    targetWorker: null,
    requiredCapability: null,
    maxAttempts: 3,
    backoffBase: 5,
    publisher: "pub",
    quota: null,
    idempotencyKey: null,
    requestHash: null,
    runAt: over.runAt ?? now,
    expiresAt: over.expiresAt ?? now + DAY,
    now,
    ...over,
  };
}

/** Claim params with defaults: caller `worker`, lease 60 s, max 1. */
export function claim(
  over: Partial<IntentClaimParams> = {},
): IntentClaimParams {
  return {
    namespace: "ns",
    goal: "g",
    caller: "worker",
    master: false,
    publisher: null,
    workerId: null,
    capabilities: [],
    leaseMs: 60_000,
    max: 1,
    now: T0,
    ...over,
  };
}

/**
 * Fulfil params for a claimed intent, with its token: caller `worker`, at
 * T0, result null.
 */
export function fulfilOf(
  c: ClaimedIntent,
  over: Partial<IntentFulfilParams> = {},
): IntentFulfilParams {
  return {
    id: c.id,
    token: c.claimToken,
    caller: "worker",
    now: T0,
    result: null,
    resultType: "json",
    ...over,
  };
}

/**
 * Fail params for a claimed intent, with its token: caller `worker`, at
 * T0, error "x", no jitter.
 */
export function failOf(
  c: ClaimedIntent,
  over: Partial<IntentFailParams> = {},
): IntentFailParams {
  return {
    id: c.id,
    token: c.claimToken,
    caller: "worker",
    now: T0,
    error: "x",
    jitter: 0,
    ...over,
  };
}

/**
 * Builds the registrar for one store under test.
 *
 * @param name Prefix of every test name.
 * @param open Opens a fresh store per test.
 * @returns The registrar.
 */
export function cases(name: string, open: OpenStore): Case {
  return (behaviour, fn) => {
    Deno.test(`${name}: ${behaviour}`, async () => {
      const store = await open();
      try {
        await fn(store);
      } finally {
        await store.close();
      }
    });
  };
}

/**
 * Writes `n` KV entries of 500 bytes, 100 at a time (each hundred in one
 * write batch), so a store's WAL fills with some thousand pages.
 *
 * @param s The store.
 * @param n How many; a multiple of 100.
 * @param now The time; entries expire a minute later.
 */
export async function fillKv(
  s: Storage,
  n: number,
  now: number,
): Promise<void> {
  for (let i = 0; i < n; i += 100) {
    await Promise.all(Array.from({ length: 100 }, (_, j) =>
      s.kvSet({
        owner: "o",
        key: `k${i + j}`,
        value: "v".repeat(500),
        expiresAt: now + 60_000,
        now,
      })));
  }
}

/** 7 KiB of hex from random bytes: compression halves it, no more. */
export function bulkyText(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(3584));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Publishes intents of 7 KiB until the store refuses one (at most 2,000),
 * and checks that the refused one left nothing behind: for the full-disk
 * tests.
 *
 * @param s The store, on a small disk.
 * @param now The time of every publish.
 * @returns The ids acknowledged, and the error that ended it (null if none).
 */
export async function publishUntilFull(
  s: Storage,
  now = T0,
): Promise<{ acknowledged: string[]; error: unknown }> {
  const acknowledged: string[] = [];
  for (let i = 0; i < 2000; i++) {
    const p = publish({ payload: { text: bulkyText() }, now });
    try {
      await s.intentInsert(p);
      acknowledged.push(p.id);
    } catch (error) {
      assert.equal(await s.intentGet({ id: p.id }), null, "refused, yet kept");
      return { acknowledged, error };
    }
  }
  return { acknowledged, error: null };
}
