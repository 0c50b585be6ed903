/**
 * One HTTP exchange with an Intent Bus server: headers, optional HMAC
 * signature, per-attempt timeout, retries with full-jitter backoff on network
 * errors, 429 and 503 (honouring `Retry-After`), and error mapping.
 *
 * @module
 */

import { IntentBusError } from "../core/errors.ts";
import { encodeRfc3986 } from "../core/signing.ts";
import { linkSignal, sleep } from "./_abort.ts";
import { backoffDelay, parseRetryAfter } from "./_backoff.ts";
import { errorFromResponse } from "./_error_map.ts";
import { jsonText } from "./_pack.ts";
import { signHeaders } from "./_sign.ts";

/** How the transport reaches the server. */
export interface TransportOptions {
  /** Base URL, such as `http://127.0.0.1:8080`. */
  url: string;
  apiKey?: string;
  adminToken?: string;
  /** Sign every request with the API key. */
  sign: boolean;
  /** Milliseconds per attempt. */
  timeoutMs: number;
  /** Retries after the first attempt. */
  retries: number;
  /** Ceiling of the first retry's delay, milliseconds. */
  retryBaseMs: number;
  /** Largest retry delay, milliseconds. */
  retryMaxMs: number;
  fetch: typeof fetch;
  workerId?: string;
  capabilities?: string[];
}

/** One request. */
export interface RequestSpec {
  method: "GET" | "POST";
  /** Path without query, such as `/fulfill/abc`; already encoded. */
  path: string;
  query?: Record<string, string | number | boolean | undefined | null>;
  /** A JSON value; omitted when undefined. */
  body?: unknown;
  /** The body as JSON text already; wins over `body`. */
  json?: string;
  /** Sent unchanged on every retry. */
  idempotencyKey?: string;
  signal?: AbortSignal;
  /** Overrides the per-attempt timeout. */
  timeoutMs?: number;
  /** A 404 here means the lease is lost. */
  leaseRoute?: boolean;
  /** Send the admin token. */
  admin?: boolean;
}

/** A successful reply. */
export interface Reply {
  status: number;
  headers: Headers;
  /** Parsed JSON, the raw text when not JSON, or undefined when empty. */
  body: unknown;
}

/**
 * The query string sorted by key and RFC 3986-encoded, so the URL sent is
 * already in the order and encoding the signature covers.
 *
 * @param query Parameters; undefined and null values are left out.
 * @returns `?a=1&b=2`, or the empty string.
 */
export function queryString(query: RequestSpec["query"] = {}): string {
  const pairs = Object.entries(query)
    .filter(([, v]) => v !== undefined && v !== null)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${encodeRfc3986(k)}=${encodeRfc3986(String(v))}`);
  return pairs.length ? `?${pairs.join("&")}` : "";
}

function parseBody(text: string): unknown {
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Sends requests to one server; see the module doc. */
export class Transport {
  readonly options: TransportOptions;
  readonly #base: string;

  /** @param options Where and how to send. */
  constructor(options: TransportOptions) {
    this.options = options;
    this.#base = options.url.replace(/\/+$/, "");
  }

  async #headers(spec: RequestSpec, target: string, bytes?: Uint8Array) {
    const o = this.options;
    const h: Record<string, string> = { Accept: "application/json" };
    if (bytes) h["Content-Type"] = "application/json";
    if (o.apiKey) h["X-API-KEY"] = o.apiKey;
    if (spec.admin && o.adminToken) h["X-Admin-Token"] = o.adminToken;
    if (spec.idempotencyKey) h["Idempotency-Key"] = spec.idempotencyKey;
    if (o.workerId) h["X-Worker-ID"] = o.workerId;
    if (o.capabilities?.length) {
      h["X-Worker-Capabilities"] = o.capabilities.join(",");
    }
    if (o.sign && o.apiKey) {
      Object.assign(
        h,
        await signHeaders(o.apiKey, spec.method, target, bytes),
      );
    }
    return h;
  }

  /**
   * Sends one request, retrying what may be retried.
   *
   * @param spec The request.
   * @returns The reply, for any 2xx status.
   * @throws {IntentBusError} The named error for an error response, or code
   *   `network_error` / `timeout` once retries are used up.
   * @throws {ValidationError} code `invalid_json` when the body cannot be
   *   encoded; nothing is sent.
   */
  async request(spec: RequestSpec): Promise<Reply> {
    const o = this.options;
    const target = spec.path + queryString(spec.query);
    const encoded = spec.json ??
      (spec.body === undefined ? undefined : jsonText(spec.body, "Body"));
    const bytes = encoded === undefined
      ? undefined
      : new TextEncoder().encode(encoded);
    for (let attempt = 0;; attempt++) {
      if (spec.signal?.aborted) throw spec.signal.reason;
      const last = attempt >= o.retries;
      const headers = await this.#headers(spec, target, bytes);
      const link = linkSignal(spec.signal, spec.timeoutMs ?? o.timeoutMs);
      let res: Response;
      let text: string;
      try {
        res = await o.fetch(this.#base + target, {
          method: spec.method,
          headers,
          body: bytes,
          signal: link.signal,
        });
        text = await res.text();
      } catch (cause) {
        if (spec.signal?.aborted) throw spec.signal.reason;
        const timedOut = link.signal.aborted;
        const err = new IntentBusError(
          timedOut ? "timeout" : "network_error",
          timedOut
            ? `Request timed out: ${spec.method} ${spec.path}`
            : `Request failed: ${spec.method} ${spec.path}: ${cause}`,
        );
        err.cause = cause;
        if (last) throw err;
        await sleep(this.#delay(attempt), spec.signal);
        continue;
      } finally {
        link.dispose();
      }
      const body = parseBody(text);
      if (res.ok) return { status: res.status, headers: res.headers, body };
      const retryAfter = parseRetryAfter(res.headers.get("Retry-After"));
      const retryable = res.status === 429 || res.status === 503;
      if (!retryable || last) {
        throw errorFromResponse({
          status: res.status,
          body,
          retryAfter,
          leaseRoute: spec.leaseRoute,
        });
      }
      const wait = retryAfter === undefined
        ? this.#delay(attempt)
        : retryAfter * 1000;
      await sleep(wait, spec.signal);
    }
  }

  #delay(attempt: number): number {
    return backoffDelay(
      attempt,
      this.options.retryBaseMs,
      this.options.retryMaxMs,
    );
  }
}
