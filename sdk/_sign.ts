/**
 * Signature headers for the protocol's strict auth, using the one canonical
 * form in `core/signing.ts`. A fresh timestamp and nonce on every call, so
 * every retry is signed anew.
 *
 * @module
 */

import {
  canonicalTarget,
  importSigningKey,
  signRequest,
} from "../core/signing.ts";

const keys = new Map<string, Promise<CryptoKey>>();

function cachedKey(apiKey: string): Promise<CryptoKey> {
  let key = keys.get(apiKey);
  if (!key) {
    key = importSigningKey(apiKey);
    keys.set(apiKey, key);
  }
  return key;
}

/** 32 lowercase hex characters from the platform's CSPRNG. */
export function randomHex(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

/**
 * `X-Timestamp`, `X-Nonce` and `X-Signature` for one request.
 *
 * @param apiKey The key that signs (and is sent in `X-API-KEY`).
 * @param method The HTTP method.
 * @param target The path and query exactly as sent.
 * @param body The exact body bytes, if any.
 * @param now The current time, unix milliseconds.
 * @returns The three headers.
 */
export async function signHeaders(
  apiKey: string,
  method: string,
  target: string,
  body: Uint8Array | undefined,
  now = Date.now(),
): Promise<Record<string, string>> {
  const timestamp = String(Math.floor(now / 1000));
  const nonce = randomHex();
  const signature = await signRequest(await cachedKey(apiKey), {
    method,
    target: canonicalTarget(target),
    timestamp,
    nonce,
    body: body ?? new Uint8Array(),
  });
  return {
    "X-Timestamp": timestamp,
    "X-Nonce": nonce,
    "X-Signature": signature,
  };
}
