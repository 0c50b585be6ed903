/**
 * Batch bodies built from items encoded one by one: an item that cannot be
 * encoded, or is too large for any request, is reported on its own instead
 * of sinking its batch, and batches stay under the server's body limit.
 *
 * @module
 */

import { ValidationError } from "../core/errors.ts";
import { LIMITS } from "../core/limits.ts";

/**
 * Bytes one batch request may carry. The server refuses bodies over
 * `LIMITS.bodyBytes` (1 MiB) whole; 64 KiB of headroom covers the envelope
 * (`{"intents":[…],"atomic":true}`) and a server that counts a little
 * differently.
 */
export const BODY_BUDGET: number = LIMITS.bodyBytes - 64 * 1024;

/** Objects `JSON.stringify` writes as `{}`, their contents lost. */
const OPAQUE = [Map, Set, WeakMap, WeakSet, Promise];

/**
 * Refuses what `JSON.stringify` would drop or empty without a word: a
 * function or symbol (left out of objects, `null` in arrays), a `Map`,
 * `Set` or `Promise` (written as `{}`). `undefined` stays allowed: it is
 * how an optional field is left out.
 */
function strict(key: string, value: unknown): unknown {
  const where = key === "" ? "the value" : `"${key}"`;
  if (typeof value === "function" || typeof value === "symbol") {
    throw new TypeError(`${where} is a ${typeof value}`);
  }
  if (typeof value === "object" && value !== null) {
    for (const kind of OPAQUE) {
      if (value instanceof kind) {
        throw new TypeError(
          `${where} is a ${kind.name}, which JSON writes as {}`,
        );
      }
    }
  }
  return value;
}

/**
 * Compact JSON text of one item.
 *
 * @param value The item.
 * @param what What it is, for the message: `Result`, `Payload`.
 * @returns Its JSON text.
 * @throws {ValidationError} code `invalid_json` when it cannot be encoded (a
 *   BigInt, a circular object) or would lose part of itself (a function, a
 *   symbol, a `Map`, `Set` or `Promise`), with the reason after a colon.
 */
export function jsonText(value: unknown, what: string): string {
  try {
    return JSON.stringify(value, strict);
  } catch (cause) {
    const err = new ValidationError(
      `${what} is not JSON: ${(cause as Error)?.message ?? cause}`,
      "invalid_json",
    );
    err.cause = cause;
    throw err;
  }
}

/**
 * UTF-8 length of a string, without encoding it. Every surrogate is taken as
 * half of a pair (4 bytes for 2 units): `JSON.stringify` escapes lone ones.
 *
 * @param text The string.
 * @returns Its length in UTF-8 bytes.
 */
export function utf8Length(text: string): number {
  let n = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // 2 bytes below U+0800, else 3, but 2 per half of a surrogate pair.
    if (c >= 0x80) n += c < 0x800 || (c >= 0xd800 && c <= 0xdfff) ? 1 : 2;
  }
  return n;
}

/** Items grouped into requests, by index. */
export interface Packed {
  /** Indexes of the items of each request, in order. */
  batches: number[][];
  /** Items that alone exceed the budget, with their size in bytes. */
  oversized: { index: number; bytes: number }[];
}

/**
 * Groups encoded items, in order, into batches of at most `maxCount` items
 * whose comma-joined texts stay within `maxBytes`.
 *
 * @param texts The items' JSON texts.
 * @param maxCount Most items per batch.
 * @param maxBytes Most bytes per batch; {@linkcode BODY_BUDGET} by default.
 * @returns The batches and the items too large for any.
 */
export function packBatches(
  texts: readonly string[],
  maxCount: number,
  maxBytes: number = BODY_BUDGET,
): Packed {
  // The common case costs one pass over the lengths: UTF-8 takes at most
  // 3 bytes per UTF-16 unit, so a bound that fits needs no exact count.
  let bound = texts.length;
  for (const t of texts) bound += 3 * t.length;
  if (texts.length <= maxCount && bound <= maxBytes) {
    return {
      batches: texts.length ? [texts.map((_, i) => i)] : [],
      oversized: [],
    };
  }
  const batches: number[][] = [];
  const oversized: Packed["oversized"] = [];
  let batch: number[] = [];
  let bytes = 0;
  for (let i = 0; i < texts.length; i++) {
    const size = utf8Length(texts[i]) + 1; // and its comma
    if (size > maxBytes) {
      oversized.push({ index: i, bytes: size - 1 });
      continue;
    }
    if (batch.length === maxCount || bytes + size > maxBytes) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(i);
    bytes += size;
  }
  if (batch.length) batches.push(batch);
  return { batches, oversized };
}
