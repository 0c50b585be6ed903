import assert from "node:assert/strict";
import { ValidationError } from "../core/errors.ts";
import { BODY_BUDGET, jsonText, packBatches, utf8Length } from "./_pack.ts";

Deno.test("utf8Length counts what TextEncoder writes, surrogate pairs included", () => {
  const encoder = new TextEncoder();
  for (
    const text of [
      "",
      "plain",
      "é",
      "€uro",
      "😀 ok",
      "\u07ff\u0800",
      "a\u00e9\u20ac\u{1f600}",
    ]
  ) {
    assert.equal(utf8Length(text), encoder.encode(text).length, text);
  }
  // JSON.stringify escapes a lone surrogate, so none reaches utf8Length.
  assert.equal(JSON.stringify("\ud800"), '"\\ud800"');
});

Deno.test("jsonText names a value that cannot be encoded with code invalid_json", () => {
  assert.equal(jsonText({ a: [1] }, "Result"), '{"a":[1]}');
  const circular: Record<string, unknown> = {};
  circular.self = circular;
  for (const bad of [{ n: 1n }, circular]) {
    assert.throws(
      () => jsonText(bad, "Result"),
      (e) =>
        e instanceof ValidationError && e.code === "invalid_json" &&
        e.message.startsWith("Result is not JSON: ") && e.cause !== undefined,
    );
  }
});

Deno.test("jsonText refuses what JSON would drop or empty silently, and keeps undefined fields out as before", () => {
  const fn = () => 1;
  const lossy: [unknown, RegExp][] = [
    [fn, /the value is a function/],
    [{ goal: "g", payload: fn }, /"payload" is a function/],
    [{ a: [1, Symbol("s")] }, /"1" is a symbol/],
    [{ m: new Map([["k", 1]]) }, /"m" is a Map, which JSON writes as \{\}/],
    [{ s: new Set([1]) }, /"s" is a Set/],
    [Promise.resolve(1), /the value is a Promise/],
  ];
  for (const [bad, why] of lossy) {
    assert.throws(
      () => jsonText(bad, "Payload"),
      (e) =>
        e instanceof ValidationError && e.code === "invalid_json" &&
        e.message.startsWith("Payload is not JSON: ") && why.test(e.message),
    );
  }
  const when = new Date(0);
  assert.equal(
    jsonText({ a: undefined, b: null, when }, "Body"),
    '{"b":null,"when":"1970-01-01T00:00:00.000Z"}',
  );
});

Deno.test("packBatches keeps each batch within its count and bytes, in order", () => {
  const texts = ["aaaa", "bb", "ccc", "dddddd", "e"];
  // Each item costs its length plus a comma.
  assert.deepEqual(packBatches(texts, 2, 100).batches, [[0, 1], [2, 3], [4]]);
  assert.deepEqual(packBatches(texts, 10, 10).batches, [[0, 1], [2], [3, 4]]);
  assert.deepEqual(packBatches(texts, 10, 100).batches, [[0, 1, 2, 3, 4]]);
  assert.deepEqual(packBatches([], 10, 100), { batches: [], oversized: [] });
  // Multi-byte text is counted in bytes: 4 euro signs are 12 bytes.
  assert.deepEqual(packBatches(["€€€€", "x"], 10, 14).batches, [[0], [1]]);
});

Deno.test("packBatches reports an item too large for any batch and packs the rest", () => {
  const big = "x".repeat(BODY_BUDGET);
  const small = "y".repeat(1000);
  const packed = packBatches([small, big, small], 1000);
  assert.deepEqual(packed.batches, [[0, 2]]);
  assert.deepEqual(packed.oversized, [{ index: 1, bytes: BODY_BUDGET }]);
});
