import assert from "node:assert/strict";
import { ValidationError } from "../core/errors.ts";
import type { JsonValue } from "../core/intent.ts";
import { checkJsonValue, readBody, shapeProblem } from "./body.ts";

/** Headers with the given Content-Length, and without one (a chunked body). */
function lengths(n: string): Record<string, string>[] {
  return [{ "content-length": n }, {}];
}

/** A body that sends `sent` and then fails, as Deno's does when the client closes the connection mid-body. */
function cutOff(sent: string): ReadableStream<Uint8Array> {
  let first = true;
  return new ReadableStream({
    pull(c) {
      if (first) {
        first = false;
        c.enqueue(new TextEncoder().encode(sent));
      } else {
        c.error(new Deno.errors.BadResource("Cannot read request body"));
      }
    },
  });
}

Deno.test("a body cut off by the client is a 400 invalid_request, with or without a Content-Length", async () => {
  for (const headers of lengths("500")) {
    const req = new Request("http://x/intent", {
      method: "POST",
      headers,
      body: cutOff('{"goal":"g","payload":1}'),
    });
    await assert.rejects(
      readBody(req, 1024),
      (e) =>
        e instanceof ValidationError && e.code === "invalid_request" &&
        e.message ===
          "Request body is incomplete: the connection closed before it all arrived",
      JSON.stringify(headers),
    );
  }
});

Deno.test("reading a body twice stays a TypeError, not a client error", async () => {
  for (const headers of lengths("2")) {
    const req = new Request("http://x/intent", {
      method: "POST",
      headers,
      body: "{}",
    });
    await req.text();
    await assert.rejects(readBody(req, 1024), TypeError);
  }
});

Deno.test("a whole body is read both ways: by Content-Length and streamed", async () => {
  const body = '{"goal":"g"}';
  for (const headers of lengths(String(body.length))) {
    const req = new Request("http://x/intent", {
      method: "POST",
      headers,
      body: new Blob([body]).stream(),
    });
    assert.equal(new TextDecoder().decode(await readBody(req, 1024)), body);
  }
});

Deno.test("a number JSON cannot hold (1e999 parses as Infinity) is invalid_payload, not stored as null", () => {
  for (const value of [1e999, -1e400, { a: [1, { b: Infinity }] }]) {
    assert.throws(
      () => checkJsonValue(value as JsonValue, "payload", 10, 7168),
      (e) => e instanceof ValidationError && e.code === "invalid_payload",
    );
  }
  checkJsonValue({ a: [1.5e308, -0, 5e-324] }, "payload", 10, 7168);
  assert.equal(shapeProblem([[[1]]], 2), "deep");
  assert.equal(shapeProblem([[[1]]], 3), null);
});
