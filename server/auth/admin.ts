/**
 * The admin credential: header `X-Admin-Token` equal to `BUS_ADMIN_SECRET`,
 * or HTTP Basic `admin:<DASHBOARD_PASSWORD>`. An empty secret never matches.
 *
 * @example
 * ```ts
 * import { isAdmin } from "./admin.ts";
 *
 * const headers = new Headers({ "X-Admin-Token": "t0ken" });
 * console.log(isAdmin(headers, { adminSecret: "t0ken", dashboardPassword: "" })); // true
 * ```
 *
 * @module
 */

import type { Clock } from "../../core/clock.ts";
import { RateLimitedError } from "../../core/errors.ts";
import { timingSafeEqual } from "../../core/signing.ts";
import { HttpError } from "../errors.ts";

/** The two admin secrets. */
export interface AdminSecrets {
  adminSecret: string;
  dashboardPassword: string;
}

function basicPassword(header: string | null): string | null {
  if (header === null || !/^basic /i.test(header)) return null;
  let decoded: string;
  try {
    decoded = new TextDecoder().decode(
      Uint8Array.from(atob(header.slice(6).trim()), (c) => c.charCodeAt(0)),
    );
  } catch {
    return null;
  }
  const colon = decoded.indexOf(":");
  if (colon === -1 || decoded.slice(0, colon) !== "admin") return null;
  return decoded.slice(colon + 1);
}

/**
 * Whether the request carries a valid admin credential.
 *
 * @param headers The request headers.
 * @param secrets The configured secrets.
 * @returns True for a matching token or Basic password.
 */
export function isAdmin(headers: Headers, secrets: AdminSecrets): boolean {
  const token = headers.get("x-admin-token");
  if (token !== null) {
    return secrets.adminSecret !== "" &&
      timingSafeEqual(token, secrets.adminSecret);
  }
  const password = basicPassword(headers.get("authorization"));
  return password !== null && secrets.dashboardPassword !== "" &&
    timingSafeEqual(password, secrets.dashboardPassword);
}

/** The 401 of a missing or wrong admin credential, with a Basic challenge. */
function challenge(): HttpError {
  return new HttpError(
    401,
    "unauthorized",
    "Admin credential required: X-Admin-Token or HTTP Basic",
    { "WWW-Authenticate": 'Basic realm="Intent Bus admin"' },
  );
}

/** Wrong admin credentials a client address may send in one minute. */
export const ADMIN_FAILURES_PER_MINUTE = 10;

/** Addresses remembered at most; past it, every count is dropped. */
const MAX_ADDRESSES = 10_000;

/**
 * Slows down guessing of the admin credentials (a person picks the
 * dashboard password): past {@linkcode ADMIN_FAILURES_PER_MINUTE} wrong ones
 * from an address in a minute, that address gets 429 until the minute ends,
 * right credentials included. Requests that send no credential at all (a
 * browser's first visit) are not counted.
 *
 * @example
 * ```ts
 * import { ManualClock } from "../../core/clock.ts";
 * import { AdminGuard } from "./admin.ts";
 *
 * const guard = new AdminGuard({ adminSecret: "t0ken", dashboardPassword: "" }, new ManualClock(0));
 * const wrong = new Headers({ "X-Admin-Token": "guess" });
 * for (let i = 0; i < 10; i++) guard.check(wrong, "10.0.0.9");
 * try {
 *   guard.check(wrong, "10.0.0.9");
 * } catch (err) {
 *   console.log((err as Error).name); // "RateLimitedError"
 * }
 * ```
 */
export class AdminGuard {
  readonly #secrets: AdminSecrets;
  readonly #clock: Clock;
  #minute = -1;
  #failures = new Map<string, number>();

  /**
   * @param secrets The configured secrets.
   * @param clock Sets the minutes.
   */
  constructor(secrets: AdminSecrets, clock: Clock) {
    this.#secrets = secrets;
    this.#clock = clock;
  }

  /**
   * Whether the request carries a valid admin credential, counting a wrong
   * one against its address.
   *
   * @param headers The request headers.
   * @param addr The client's address.
   * @returns True for an admin.
   * @throws {RateLimitedError} when the address sent too many wrong ones
   *   this minute.
   */
  check(headers: Headers, addr: string): boolean {
    const now = this.#clock.now();
    const minute = Math.floor(now / 60_000);
    if (minute !== this.#minute || this.#failures.size > MAX_ADDRESSES) {
      this.#minute = minute;
      this.#failures.clear();
    }
    const failed = this.#failures.get(addr) ?? 0;
    if (failed >= ADMIN_FAILURES_PER_MINUTE) {
      throw new RateLimitedError(
        "Too many wrong admin credentials from this address: wait a minute",
        Math.ceil(((minute + 1) * 60_000 - now) / 1000),
      );
    }
    const ok = isAdmin(headers, this.#secrets);
    const sent = headers.has("x-admin-token") || headers.has("authorization");
    if (!ok && sent) this.#failures.set(addr, failed + 1);
    return ok;
  }

  /**
   * Throws unless the request is an admin's.
   *
   * @param headers The request headers.
   * @param addr The client's address.
   * @throws {HttpError} 401 with a Basic challenge.
   * @throws {RateLimitedError} after too many wrong credentials.
   */
  require(headers: Headers, addr: string): void {
    if (!this.check(headers, addr)) throw challenge();
  }
}
