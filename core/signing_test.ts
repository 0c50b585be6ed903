import assert from "node:assert/strict";
import {
  canonicalQuery,
  canonicalTarget,
  encodeRfc3986,
  signRequest,
  timingSafeEqual,
  verifyRequest,
} from "./signing.ts";

const encoder = new TextEncoder();

Deno.test("canonical query sorts by key and encodes / as %2F", () => {
  assert.equal(
    canonicalQuery("?namespace=default&goal=a/b%20c&publisher=x*y"),
    "goal=a%2Fb%20c&namespace=default&publisher=x%2Ay",
  );
});

Deno.test("canonical query decodes + as a space and keeps blank values", () => {
  assert.equal(canonicalQuery("b=1+2&a&c="), "a=&b=1%202&c=");
});

Deno.test("canonical query keeps the order of repeated keys", () => {
  assert.equal(canonicalQuery("z=1&a=2&z=0"), "a=2&z=1&z=0");
});

Deno.test("canonical target decodes the path and drops an empty query", () => {
  assert.equal(canonicalTarget("/get/my%20key?"), "/get/my key");
  assert.equal(
    canonicalTarget(new URL("http://h/claim?goal=x&namespace=n")),
    "/claim?goal=x&namespace=n",
  );
});

Deno.test("RFC 3986 encoding leaves only unreserved characters", () => {
  assert.equal(
    encodeRfc3986("aZ09-._~!'()*/ é"),
    "aZ09-._~%21%27%28%29%2A%2F%20%C3%A9",
  );
});

Deno.test("signature matches the Python SDK's HMAC for the same request", async () => {
  // Computed with Python's hmac/hashlib/urllib.parse.quote(safe="") and
  // json.dumps(sort_keys=True, separators=(",", ":")), as the SDK 2.x does.
  const body = encoder.encode('{"goal":"\\u00e9","payload":{"a":[1,2],"b":1}}');
  const target = canonicalTarget(
    "/claim?namespace=default&goal=a%2Fb%20c&publisher=x%2Ay",
  );
  assert.equal(
    target,
    "/claim?goal=a%2Fb%20c&namespace=default&publisher=x%2Ay",
  );
  const parts = {
    method: "post",
    target,
    timestamp: "1767225600",
    nonce: "0123456789abcdef0123456789abcdef",
    body,
  };
  const sig = await signRequest("k3y", parts);
  assert.equal(
    sig,
    "3cf0687d9af80a7a5aa899b80819e828a34009b48e7887b7c990b9cf3a85a98e",
  );
  assert.equal(await verifyRequest("k3y", parts, sig.toUpperCase()), true);
});

Deno.test("a tampered body or another key fails verification", async () => {
  const parts = {
    method: "POST",
    target: "/fulfill/abc",
    timestamp: "1",
    nonce: "n",
    body: encoder.encode('{"a":1}'),
  };
  const sig = await signRequest("key", parts);
  assert.equal(await verifyRequest("key", parts, sig), true);
  assert.equal(
    await verifyRequest(
      "key",
      { ...parts, body: encoder.encode('{"a":2}') },
      sig,
    ),
    false,
  );
  assert.equal(await verifyRequest("other", parts, sig), false);
  assert.equal(await verifyRequest("key", parts, sig.slice(1)), false);
});

Deno.test("timing-safe equality compares whole strings", () => {
  assert.equal(timingSafeEqual("abc", "abc"), true);
  assert.equal(timingSafeEqual("abc", "abd"), false);
  assert.equal(timingSafeEqual("abc", "ab"), false);
  assert.equal(timingSafeEqual("", ""), true);
});
