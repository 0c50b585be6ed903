/**
 * The canonical form of a signed request (the protocol's "strict auth"), shared
 * by the server, which verifies, and the SDK, which signs. Uses only WebCrypto,
 * so it runs in Deno, Node 20+ and browsers.
 *
 * The signed message is `METHOD\nCANONICAL_PATH\nTIMESTAMP\nNONCE\nRAW_BODY`:
 * METHOD uppercase; CANONICAL_PATH the percent-decoded path, then `?` and the
 * query parameters sorted by key (stable, so repeated keys keep their order),
 * each key and value percent-encoded per RFC 3986 (only `A-Z a-z 0-9 - . _ ~`
 * stay as they are, so `/` in a value becomes `%2F`); RAW_BODY the exact bytes
 * sent. The signature is lowercase hex HMAC-SHA256 keyed with the API key.
 *
 * @example Signing a claim the way the Python SDK does
 * ```ts
 * import { canonicalTarget, signRequest } from "./signing.ts";
 *
 * const target = canonicalTarget("/claim?namespace=default&goal=a/b");
 * console.log(target); // "/claim?goal=a%2Fb&namespace=default"
 * const sig = await signRequest("my-key", {
 *   method: "POST",
 *   target,
 *   timestamp: "1767225600",
 *   nonce: "0123456789abcdef0123456789abcdef",
 *   body: new Uint8Array(),
 * });
 * console.log(sig.length); // 64
 * ```
 *
 * @module
 */

/** What a signature covers. */
export interface SignedParts {
  /** HTTP method; uppercased when signing. */
  method: string;
  /** The canonical path and query, from {@linkcode canonicalTarget}. */
  target: string;
  /** Integer unix seconds, exactly as sent in `X-Timestamp`. */
  timestamp: string;
  /** Exactly as sent in `X-Nonce`. */
  nonce: string;
  /** The exact body bytes sent; empty when there is none. */
  body: Uint8Array;
}

/**
 * Percent-encodes per RFC 3986: everything but unreserved characters.
 *
 * @param text Any string.
 * @returns The encoded string, hex digits uppercase.
 * @throws {URIError} when `text` holds a lone surrogate.
 */
export function encodeRfc3986(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (ch) => "%" + ch.charCodeAt(0).toString(16).toUpperCase(),
  );
}

function decodeComponent(text: string): string {
  const plus = text.includes("+") ? text.replaceAll("+", " ") : text;
  if (!plus.includes("%")) return plus;
  try {
    return decodeURIComponent(plus);
  } catch {
    return plus;
  }
}

/** Compares by Unicode code point, as Python's `sorted` does on `str`. */
function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done) return y.done ? 0 : -1;
    if (y.done) return 1;
    const cx = x.value.codePointAt(0)!;
    const cy = y.value.codePointAt(0)!;
    if (cx !== cy) return cx - cy;
  }
}

/**
 * The canonical query: parameters decoded (`+` is a space), stably sorted by
 * key, re-encoded per RFC 3986, joined with `&`. Blank values are kept (`k=`).
 *
 * @param search A raw query string, with or without the leading `?`.
 * @returns The canonical query, without `?`; empty when there are no parameters.
 * @throws {URIError} when a decoded parameter holds a lone surrogate.
 */
export function canonicalQuery(search: string): string {
  const raw = search.startsWith("?") ? search.slice(1) : search;
  if (raw === "") return "";
  const pairs: [string, string][] = [];
  for (const part of raw.split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const key = eq === -1 ? part : part.slice(0, eq);
    const value = eq === -1 ? "" : part.slice(eq + 1);
    pairs.push([decodeComponent(key), decodeComponent(value)]);
  }
  pairs.sort((a, b) => compareCodePoints(a[0], b[0]));
  return pairs.map(([k, v]) => `${encodeRfc3986(k)}=${encodeRfc3986(v)}`)
    .join("&");
}

/**
 * The CANONICAL_PATH of a request: its percent-decoded path, plus `?` and the
 * canonical query when there is one.
 *
 * @param pathAndQuery A path with optional query (`/claim?goal=x`), or a full URL.
 * @returns The canonical path and query.
 * @throws {URIError} when a decoded parameter holds a lone surrogate.
 */
export function canonicalTarget(pathAndQuery: string | URL): string {
  const url = typeof pathAndQuery === "string"
    ? new URL(pathAndQuery, "http://canonical.invalid")
    : pathAndQuery;
  let path = url.pathname;
  if (path.includes("%")) {
    try {
      path = decodeURIComponent(path);
    } catch {
      // A malformed escape is signed as sent.
    }
  }
  const query = canonicalQuery(url.search);
  return query === "" ? path : `${path}?${query}`;
}

const encoder = new TextEncoder();

/**
 * The exact bytes that are signed.
 *
 * @param parts What the signature covers.
 * @returns `METHOD\nTARGET\nTIMESTAMP\nNONCE\n` followed by the body bytes.
 */
export function signingBytes(parts: SignedParts): Uint8Array {
  const head = encoder.encode(
    `${parts.method.toUpperCase()}\n${parts.target}\n${parts.timestamp}\n${parts.nonce}\n`,
  );
  const out = new Uint8Array(head.length + parts.body.length);
  out.set(head, 0);
  out.set(parts.body, head.length);
  return out;
}

/**
 * Imports an API key as an HMAC-SHA256 key. Callers that sign or verify often
 * with one key cache the result.
 *
 * @param apiKey The API key, as sent in `X-API-KEY`.
 * @returns A WebCrypto key for signing and verifying.
 */
export function importSigningKey(apiKey: string): Promise<CryptoKey> {
  return crypto.subtle.importKey(
    "raw",
    encoder.encode(apiKey),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign", "verify"],
  );
}

function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

/**
 * Signs a request.
 *
 * @param key The API key, or a key from {@linkcode importSigningKey}.
 * @param parts What the signature covers.
 * @returns The lowercase hex HMAC-SHA256 for `X-Signature`.
 */
export async function signRequest(
  key: string | CryptoKey,
  parts: SignedParts,
): Promise<string> {
  const cryptoKey = typeof key === "string" ? await importSigningKey(key) : key;
  const mac = await crypto.subtle.sign(
    "HMAC",
    cryptoKey,
    signingBytes(parts) as BufferSource,
  );
  return toHex(new Uint8Array(mac));
}

/**
 * Compares two strings in time independent of where they differ.
 *
 * @param a One string.
 * @param b The other.
 * @returns True when they are equal.
 */
export function timingSafeEqual(a: string, b: string): boolean {
  const n = Math.max(a.length, b.length);
  let diff = a.length ^ b.length;
  for (let i = 0; i < n; i++) {
    diff |= (a.charCodeAt(i) | 0) ^ (b.charCodeAt(i) | 0);
  }
  return diff === 0;
}

/**
 * Checks a signature in constant time.
 *
 * @param key The API key, or a key from {@linkcode importSigningKey}.
 * @param parts What the signature covers.
 * @param signature The `X-Signature` header; hex case is ignored.
 * @returns True when the signature matches.
 */
export async function verifyRequest(
  key: string | CryptoKey,
  parts: SignedParts,
  signature: string,
): Promise<boolean> {
  const expected = await signRequest(key, parts);
  return timingSafeEqual(expected, signature.toLowerCase());
}
