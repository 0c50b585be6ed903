/**
 * Retry timing: exponential backoff with full jitter, and `Retry-After`.
 *
 * @module
 */

/**
 * Seconds from a `Retry-After` header: a number (possibly fractional) or an
 * HTTP date. Undefined when absent or unreadable.
 *
 * @param header The header value.
 * @param now The current time, unix milliseconds.
 * @returns Seconds to wait, never negative, or undefined.
 */
export function parseRetryAfter(
  header: string | null | undefined,
  now = Date.now(),
): number | undefined {
  if (header == null || header.trim() === "") return undefined;
  const text = header.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, (date - now) / 1000);
}

/**
 * Full-jitter backoff: a random delay between 0 and
 * `min(maxMs, baseMs × 2^attempt)`.
 *
 * @param attempt Zero for the first retry.
 * @param baseMs The ceiling of the first retry's delay.
 * @param maxMs The largest ceiling.
 * @param random A source of numbers in [0, 1).
 * @returns Milliseconds to wait.
 */
export function backoffDelay(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}
