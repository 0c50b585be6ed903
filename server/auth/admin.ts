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

/**
 * Throws unless the request is an admin's.
 *
 * @param headers The request headers.
 * @param secrets The configured secrets.
 * @throws {HttpError} 401 `unauthorized` with a Basic challenge.
 */
export function requireAdmin(headers: Headers, secrets: AdminSecrets): void {
  if (!isAdmin(headers, secrets)) {
    throw new HttpError(
      401,
      "unauthorized",
      "Admin credential required: X-Admin-Token or HTTP Basic",
      { "WWW-Authenticate": 'Basic realm="Intent Bus admin"' },
    );
  }
}
