import assert from "node:assert/strict";
import { makeTestApp } from "./testing.ts";

Deno.test("behind a trusted proxy, the last X-Forwarded-Proto value counts: one the client sent in front does not make plain HTTP secure", async () => {
  await using t = await makeTestApp({
    config: { enforceHttps: true, trustProxy: true },
  });
  for (
    const [proto, status] of [
      ["https", 204],
      ["HTTPS", 204],
      ["http, https", 204],
      // A proxy that appends: the client claimed https, the proxy saw http.
      ["https, http", 403],
      ["http", 403],
    ] as const
  ) {
    const res = await t.call("POST", "/claim?goal=g", {
      headers: { "X-Forwarded-Proto": proto },
    });
    assert.equal(res.status, status, proto);
  }
});
