/**
 * Field checks of the Intent Protocol: types, ranges and patterns of every
 * request field, with messages that name the field. Out-of-range values are
 * refused (400 `invalid_request`), not clamped as the original server did,
 * so a caller learns its mistake. Numbers may also arrive as decimal strings
 * (`"5"`), which shell scripts with curl often send.
 *
 * @example
 * ```ts
 * import { validatePublish } from "./validate.ts";
 *
 * const p = validatePublish({ goal: " resize ", payload: { w: 10 } });
 * console.log(p.goal, p.priority, p.maxAttempts); // "resize" 100 3
 * ```
 *
 * @module
 */

import { ValidationError } from "../core/errors.ts";
import {
  type JsonValue,
  RESULT_TYPES,
  type ResultType,
  VISIBILITIES,
  type Visibility,
} from "../core/intent.ts";
import { LIMITS, NAMESPACE_PATTERN, ROUTING_PATTERN } from "../core/limits.ts";
import { checkJsonValue } from "./body.ts";

type Body = Record<string, unknown>;

function bad(message: string): never {
  throw new ValidationError(message);
}

/**
 * Reads a number field.
 *
 * @param body The request object.
 * @param name The field.
 * @param opts Range, default, and whether it must be an integer.
 * @returns The number, or the default when absent or null.
 * @throws {ValidationError} when it is not a number in range.
 */
export function numberField(
  body: Body,
  name: string,
  opts: { min: number; max: number; fallback: number; integer?: boolean },
): number {
  const raw = body[name];
  if (raw === undefined || raw === null) return opts.fallback;
  const n = typeof raw === "number"
    ? raw
    : typeof raw === "string" && /^\s*-?\d+(\.\d+)?\s*$/.test(raw)
    ? Number(raw)
    : NaN;
  if (!Number.isFinite(n)) bad(`Invalid ${name}: must be a number`);
  if (opts.integer && !Number.isInteger(n)) {
    bad(`Invalid ${name}: must be an integer`);
  }
  if (n < opts.min || n > opts.max) {
    bad(`Invalid ${name}: must be between ${opts.min} and ${opts.max}`);
  }
  return n;
}

/**
 * Reads a boolean field. Only JSON `true` and `false` are booleans: a string
 * `"true"` is refused rather than read as false, which would quietly change
 * what the request does (a non-atomic batch instead of an atomic one).
 *
 * @param body The request object.
 * @param name The field.
 * @param fallback The value when absent or null.
 * @returns The boolean, or the fallback.
 * @throws {ValidationError} when it is anything else.
 */
export function booleanField(
  body: Body,
  name: string,
  fallback: boolean,
): boolean {
  const raw = body[name];
  if (raw === undefined || raw === null) return fallback;
  if (typeof raw !== "boolean") bad(`Invalid ${name}: must be true or false`);
  return raw;
}

/**
 * Reads an optional routing label (`target_worker`, `required_capability`).
 *
 * @param body The request object.
 * @param name The field.
 * @returns The trimmed label, or null when absent, null or empty.
 * @throws {ValidationError} when it does not match `[A-Za-z0-9_.:-]{1,64}`.
 */
export function labelField(body: Body, name: string): string | null {
  const raw = body[name];
  if (raw === undefined || raw === null) return null;
  if (typeof raw !== "string") bad(`Invalid ${name}: must be a string`);
  const v = raw.trim();
  if (v === "") return null;
  if (!ROUTING_PATTERN.test(v)) {
    bad(`Invalid ${name}: must match ${ROUTING_PATTERN.source}`);
  }
  return v;
}

/**
 * Checks a namespace.
 *
 * @param raw The value, or undefined/null for `default`.
 * @returns The namespace.
 * @throws {ValidationError} when it does not match `[A-Za-z0-9_.-]{1,64}`.
 */
export function namespaceValue(raw: unknown): string {
  if (raw === undefined || raw === null || raw === "") return "default";
  if (typeof raw !== "string" || !NAMESPACE_PATTERN.test(raw)) {
    bad(`Invalid namespace: must match ${NAMESPACE_PATTERN.source}`);
  }
  return raw;
}

/**
 * The end, as a UTF-16 index, of the first `max` code points of `s`: a
 * surrogate pair is one code point, a lone surrogate one too.
 *
 * @param s The string.
 * @param max How many code points.
 * @returns An index on a code-point boundary; `s.length` when `s` is shorter.
 */
function codePointEnd(s: string, max: number): number {
  let i = 0;
  for (let n = 0; n < max && i < s.length; n++) {
    const c = s.charCodeAt(i++);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
  }
  return i;
}

/**
 * Whether `s` has more than `max` code points, which the original server (in
 * Python) counted, rather than UTF-16 code units (an emoji is two). Counts
 * only when the length leaves doubt: a code point is one or two code units,
 * so ASCII and every string up to `max` units cost one comparison.
 *
 * @param s The string.
 * @param max Most code points allowed.
 * @returns True when it is longer.
 */
function longerThan(s: string, max: number): boolean {
  return s.length > max &&
    (s.length > 2 * max || codePointEnd(s, max) < s.length);
}

/**
 * Checks the text of an identifier-like string (a goal, an idempotency key),
 * which stores compare and return as sent: 1 to `max` code points, no NUL,
 * no lone surrogate.
 *
 * @param s The string, trimmed if the field is.
 * @param name The field, for messages.
 * @param max Most code points allowed.
 * @returns `s`.
 * @throws {ValidationError} naming the field.
 */
export function identifierText(
  s: string,
  name: string,
  max: number,
): string {
  if (s.length === 0 || longerThan(s, max)) {
    bad(`Invalid ${name}: must be 1 to ${max} characters`);
  }
  // node:sqlite reads text back only up to a NUL (a goal "a\u0000b" came
  // back as "a"), and PostgreSQL refuses it.
  if (s.includes("\u0000")) {
    bad(`Invalid ${name}: must not contain NUL (U+0000)`);
  }
  // Stores keep text as UTF-8, where a lone surrogate has no form: both
  // stored "g\ud83d" as "g\uFFFD", so the goal changed and keys that differ
  // only there became one. One-byte strings answer without a scan.
  if (!s.isWellFormed()) {
    bad(
      `Invalid ${name}: must not contain a lone surrogate (U+D800 to U+DFFF)`,
    );
  }
  return s;
}

/**
 * Checks a goal.
 *
 * @param raw The value.
 * @returns The trimmed goal.
 * @throws {ValidationError} unless it is a string of 1 to 256 characters
 * (code points) after trimming, without NUL or a lone surrogate.
 */
export function goalValue(raw: unknown): string {
  if (typeof raw !== "string") bad("Invalid goal: must be a string");
  return identifierText(raw.trim(), "goal", LIMITS.goalMax);
}

/**
 * Reads the `idempotency_key` of a batch publish item. Unlike the
 * `Idempotency-Key` header, whose value can hold neither NUL nor a
 * surrogate, JSON can carry both: keys differing only in a lone surrogate
 * were stored as one (each as U+FFFD), so the second publish was answered as
 * a replay of the first.
 *
 * @param body The item.
 * @returns The key, or null when absent or null.
 * @throws {ValidationError} unless it is a string of 1 to 256 characters
 *   (code points) without NUL or a lone surrogate.
 */
export function idempotencyKeyField(body: Body): string | null {
  const raw = body.idempotency_key;
  if (raw === undefined || raw === null) return null;
  if (typeof raw !== "string") bad("Invalid idempotency_key: must be a string");
  return identifierText(raw, "idempotency_key", LIMITS.idempotencyKeyMax);
}

/** A checked publish request; times are relative (`delayMs`). */
export interface PublishFields {
  namespace: string;
  goal: string;
  payload: JsonValue;
  priority: number;
  delayMs: number;
  maxAttempts: number;
  backoffBase: number;
  visibility: Visibility;
  targetWorker: string | null;
  requiredCapability: string | null;
}

/**
 * Checks a `POST /intent` body. `delay` may be up to 30 days: an intent
 * expires 24 hours after it becomes due, not after it was published.
 *
 * @param body The parsed body.
 * @returns The checked fields, defaults filled in.
 * @throws {ValidationError} naming the first bad field.
 */
export function validatePublish(body: Body): PublishFields {
  if (!("goal" in body) || !("payload" in body)) {
    bad("Missing goal or payload");
  }
  const goal = goalValue(body.goal);
  const payload = body.payload as JsonValue;
  checkJsonValue(payload, "payload", LIMITS.payloadDepth, LIMITS.payloadBytes);
  const visibility = body.visibility ?? "private";
  if (!VISIBILITIES.includes(visibility as Visibility)) {
    bad(`Invalid visibility: must be one of ${VISIBILITIES.join(", ")}`);
  }
  return {
    namespace: namespaceValue(body.namespace),
    goal,
    payload,
    priority: numberField(body, "priority", {
      min: LIMITS.priorityMin,
      max: LIMITS.priorityMax,
      fallback: LIMITS.priorityDefault,
      integer: true,
    }),
    delayMs: Math.round(
      numberField(body, "delay", {
        min: 0,
        max: LIMITS.delayMax,
        fallback: 0,
      }) *
        1000,
    ),
    maxAttempts: numberField(body, "max_attempts", {
      min: LIMITS.maxAttemptsMin,
      max: LIMITS.maxAttemptsMax,
      fallback: LIMITS.maxAttemptsDefault,
      integer: true,
    }),
    backoffBase: numberField(body, "backoff_base", {
      min: LIMITS.backoffBaseMin,
      max: LIMITS.backoffBaseMax,
      fallback: LIMITS.backoffBaseDefault,
    }),
    visibility: visibility as Visibility,
    targetWorker: labelField(body, "target_worker"),
    requiredCapability: labelField(body, "required_capability"),
  };
}

/**
 * Reads the claim token; absent, null or empty means the v1.1 tokenless form.
 *
 * @param body The parsed body.
 * @returns The token or null.
 * @throws {ValidationError} when it is present but not a string.
 */
export function tokenField(body: Body): string | null {
  const t = body.claim_token;
  if (t === undefined || t === null || t === "") return null;
  if (typeof t !== "string" || t.length > 128) {
    bad("Invalid claim_token: must be a string");
  }
  return t;
}

/**
 * Checks a `POST /fulfill` body.
 *
 * @param body The parsed body.
 * @returns The result (null when absent) and its type.
 * @throws {ValidationError} for a bad type, a non-string text result, or a too large or deep result.
 */
export function validateFulfil(
  body: Body,
): { result: JsonValue | null; resultType: ResultType } {
  const rt = body.result_type ?? "json";
  if (!RESULT_TYPES.includes(rt as ResultType)) {
    bad(`Invalid result_type: must be one of ${RESULT_TYPES.join(", ")}`);
  }
  const result = (body.result ?? null) as JsonValue | null;
  if (result !== null) {
    if (rt === "text" && typeof result !== "string") {
      bad("Invalid result: must be a string when result_type is text");
    }
    checkJsonValue(result, "result", LIMITS.payloadDepth, LIMITS.payloadBytes);
  }
  return { result, resultType: rt as ResultType };
}

/**
 * Checks a `POST /fail` body's error text.
 * Longer text is cut to 500 characters (code points, as the original server
 * counted), not refused: workers send whole tracebacks, and refusing would
 * leave the intent claimed. The cut never splits a surrogate pair, which
 * would leave half an emoji to be stored as U+FFFD.
 *
 * @param body The parsed body.
 * @returns The error text (JSON for a non-string), trimmed, at most 500
 *   characters, a NUL or a lone surrogate replaced by U+FFFD; `unknown` when
 *   absent.
 */
export function errorField(body: Body): string {
  const e = body.error;
  if (e === undefined || e === null) return "unknown";
  let text = (typeof e === "string" ? e : JSON.stringify(e)).trim();
  if (text.length > LIMITS.errorTextMax) {
    text = text.slice(0, codePointEnd(text, LIMITS.errorTextMax));
  }
  // node:sqlite would cut the text at a NUL and PostgreSQL refuse it; both
  // would store a lone surrogate as U+FFFD. Replaced here, all keep the same.
  text = text.replaceAll("\u0000", "\uFFFD").toWellFormed();
  return text === "" ? "unknown" : text;
}
