/**
 * The transport wiring of an `IntentClient`: its options checked, their
 * defaults and the environment filled in, and the one function every call
 * sends its request through.
 *
 * @module
 */

import { readEnv } from "./_env.ts";
import { type Reply, type RequestSpec, Transport } from "./_transport.ts";
import type { ClientOptions } from "./types.ts";

/** Sends one request through the client, as its private `#request` does. */
export type Send = (spec: RequestSpec) => Promise<Reply>;

/** What a client is made of, once its options are read. */
export interface ClientSetup {
  /** The server's base URL, without trailing slashes. */
  url: string;
  /** The namespace used when a call names none. */
  namespace: string;
  /** The transport every request goes through. */
  http: Transport;
}

/**
 * Reads a client's options: the URL checked, the keys taken from the
 * environment when not given, the retry and timeout defaults filled in.
 *
 * @param options As given to the client's constructor.
 * @returns The URL, namespace and transport.
 * @throws {TypeError} when `url` is missing or not an http(s) URL, or no
 *   `fetch` is available.
 */
export function clientSetup(options: ClientOptions): ClientSetup {
  const url = options?.url;
  if (typeof url !== "string" || !/^https?:\/\/./i.test(url)) {
    throw new TypeError(
      `Intent Bus URL is required and must be http(s): got "${url}"`,
    );
  }
  const fetchFn = options.fetch ?? globalThis.fetch?.bind(globalThis);
  if (!fetchFn) throw new TypeError("No fetch available: pass options.fetch");
  const base = url.replace(/\/+$/, "");
  return {
    url: base,
    namespace: options.namespace ?? "default",
    http: new Transport({
      url: base,
      apiKey: options.apiKey ?? readEnv("INTENT_API_KEY"),
      adminToken: options.adminToken ?? readEnv("INTENT_ADMIN_TOKEN"),
      sign: options.sign ?? false,
      timeoutMs: options.timeoutMs ?? 30_000,
      retries: options.retries ?? 3,
      retryBaseMs: options.retryBaseMs ?? 200,
      retryMaxMs: options.retryMaxMs ?? 10_000,
      fetch: fetchFn,
      workerId: options.workerId,
      capabilities: options.capabilities,
    }),
  };
}
