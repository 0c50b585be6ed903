import assert from "node:assert/strict";
import {
  AuthError,
  BusyError,
  ConflictError,
  IntentBusError,
  LeaseLostError,
  LimitError,
  NotFoundError,
  RateLimitedError,
  StorageFullError,
  ValidationError,
} from "../core/errors.ts";
import { errorFromResponse, isMissingRoute } from "./_error_map.ts";

const body = (code: string, message = "boom") => ({ error: { code, message } });

Deno.test("404 on a lease route is a lost lease, elsewhere not found", () => {
  const lost = errorFromResponse({
    status: 404,
    body: body("not_found"),
    leaseRoute: true,
  });
  assert.ok(lost instanceof LeaseLostError);
  assert.equal(lost.code, "lease_lost");
  const missing = errorFromResponse({ status: 404, body: body("not_found") });
  assert.ok(missing instanceof NotFoundError);
  assert.equal(missing.message, "boom");
});

Deno.test("our server's 404 for a route it lacks is a missing route, even on a lease route", () => {
  for (const leaseRoute of [true, false]) {
    const e = errorFromResponse({
      status: 404,
      body: body("not_found", "No such route"),
      leaseRoute,
    });
    assert.ok(e instanceof NotFoundError, String(e));
    assert.ok(isMissingRoute(e));
  }
  assert.ok(!isMissingRoute(new NotFoundError("Intent not found")));
  assert.ok(!isMissingRoute(new LeaseLostError("No such route")));
});

Deno.test("protocol codes map to their named errors", () => {
  const cases: [number, string, new (...a: never[]) => IntentBusError][] = [
    [401, "unauthorized", AuthError],
    [403, "invalid_signature", AuthError],
    [429, "rate_limited", RateLimitedError],
    [503, "database_busy", BusyError],
    [507, "storage_full", StorageFullError],
    [409, "idempotency_conflict", ConflictError],
    [400, "invalid_payload", ValidationError],
    [413, "payload_too_large", ValidationError],
    [429, "limit_exceeded", LimitError],
  ];
  for (const [status, code, type] of cases) {
    const err = errorFromResponse({ status, body: body(code) });
    assert.ok(err instanceof type, `${code} is ${type.name}`);
    assert.equal(err.code, code);
  }
});

Deno.test("rate limits carry Retry-After seconds", () => {
  const err = errorFromResponse({
    status: 429,
    body: body("rate_limited"),
    retryAfter: 2.5,
  });
  assert.ok(err instanceof RateLimitedError);
  assert.equal(err.retryAfter, 2.5);
});

Deno.test("unknown codes and bodies still give an IntentBusError", () => {
  const odd = errorFromResponse({ status: 418, body: body("teapot") });
  assert.equal(odd.constructor, IntentBusError);
  assert.equal(odd.code, "teapot");
  const flat = errorFromResponse({ status: 500, body: { error: "oops" } });
  assert.equal(flat.code, "http_500");
  assert.equal(flat.message, "oops");
  const html = errorFromResponse({ status: 401, body: "<html>" });
  assert.ok(html instanceof AuthError);
});
