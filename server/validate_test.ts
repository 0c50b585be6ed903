import assert from "node:assert/strict";
import { ValidationError } from "../core/errors.ts";
import { booleanField, errorField, goalValue } from "./validate.ts";

Deno.test("error text is cut to 500 code points, never inside a surrogate pair", () => {
  const emoji = "\u{1F600}";
  // An emoji straddling the 500th code unit: kept whole or not at all.
  const straddling = errorField({ error: "a".repeat(499) + emoji + "tail" });
  assert.equal(straddling, "a".repeat(499) + emoji);
  assert.equal(straddling.isWellFormed(), true);
  // 500 emoji are 500 characters, as the original server counted.
  assert.equal(errorField({ error: emoji.repeat(500) }), emoji.repeat(500));
  assert.equal(errorField({ error: emoji.repeat(501) }), emoji.repeat(500));
  assert.equal(errorField({ error: "x".repeat(501) }), "x".repeat(500));
  assert.equal(errorField({ error: "  short  " }), "short");
});

Deno.test("error text keeps no NUL or lone surrogate: each becomes U+FFFD, as a store would store it", () => {
  assert.equal(
    errorField({ error: "a\u0000b\ud83dc\udc00" }),
    "a\uFFFDb\uFFFDc\uFFFD",
  );
  assert.equal(errorField({ error: { e: "\ud83d" } }), '{"e":"\\ud83d"}');
  assert.equal(errorField({}), "unknown");
  assert.equal(errorField({ error: "   " }), "unknown");
});

Deno.test("a boolean field is true, false, or absent; anything else is refused, naming it", () => {
  assert.equal(booleanField({ atomic: true }, "atomic", false), true);
  assert.equal(booleanField({ atomic: false }, "atomic", true), false);
  assert.equal(booleanField({ atomic: null }, "atomic", true), true);
  assert.equal(booleanField({}, "atomic", false), false);
  for (const atomic of ["true", 1, 0, "", {}]) {
    assert.throws(
      () => booleanField({ atomic }, "atomic", false),
      (e) =>
        e instanceof ValidationError && e.code === "invalid_request" &&
        e.message === "Invalid atomic: must be true or false",
    );
  }
});

Deno.test("a goal is 1 to 256 code points after trimming, without NUL or a lone surrogate", () => {
  const emoji = "\u{1F600}";
  assert.equal(goalValue(emoji.repeat(256)), emoji.repeat(256));
  assert.equal(goalValue(` ${"a".repeat(256)} `), "a".repeat(256));
  for (
    const goal of [
      "",
      " ",
      emoji.repeat(257),
      "a".repeat(257),
      "a" + emoji.repeat(256),
      "a\u0000",
      "\ud83d",
      "a\udfffb",
      "\udc00\ud83d",
    ]
  ) {
    assert.throws(() => goalValue(goal), ValidationError, JSON.stringify(goal));
  }
});
