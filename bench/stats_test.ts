import assert from "node:assert/strict";
import { Counters, Histogram } from "./stats.ts";

Deno.test("percentiles use the nearest rank over exact sub-millisecond values", () => {
  const h = new Histogram();
  // 1..100 µs, shuffled order must not matter.
  const values = Array.from({ length: 100 }, (_, i) => (i + 1) / 1000);
  values.reverse();
  for (const v of values) h.record(v);
  assert.equal(h.count, 100);
  assert.equal(h.percentile(50), 0.05);
  assert.equal(h.percentile(90), 0.09);
  assert.equal(h.percentile(99), 0.099);
  assert.equal(h.percentile(100), 0.1);
  assert.equal(h.max, 0.1);
  assert.equal(h.percentile(0.5), 0.001);
});

Deno.test("percentiles of a small sample pick the sample at rank ceil(p × n)", () => {
  const h = new Histogram();
  for (const ms of [0.2, 0.4, 0.1, 0.3, 0.5]) h.record(ms);
  assert.deepEqual(h.summary(), {
    count: 5,
    p50: 0.3,
    p90: 0.5,
    p99: 0.5,
    max: 0.5,
    mean: 0.3,
  });
});

Deno.test("large latencies keep three significant digits and the exact maximum", () => {
  const h = new Histogram();
  h.record(12.345); // 12,345 µs: bucket width 16 µs at this size
  h.record(1500);
  assert.equal(h.percentile(50), 12.336);
  assert.equal(h.percentile(99), 1499.136); // bucket of 2,048 µs, rounded down
  assert.equal(h.max, 1500);
  const inner = new Histogram();
  for (const ms of [1.024, 2.047, 2.048, 1000, 60_000]) inner.record(ms);
  assert.equal(inner.percentile(20), 1.024);
  assert.equal(inner.percentile(40), 2.046);
  assert.equal(inner.percentile(60), 2.048);
  assert.ok(Math.abs(inner.percentile(80) - 1000) / 1000 < 0.002);
});

Deno.test("an empty histogram reports zeros and rejects bad percentiles", () => {
  const h = new Histogram();
  assert.deepEqual(h.summary(), {
    count: 0,
    p50: 0,
    p90: 0,
    p99: 0,
    max: 0,
    mean: 0,
  });
  assert.throws(() => h.percentile(0), RangeError);
  assert.throws(() => h.percentile(101), RangeError);
});

Deno.test("merged and JSON round-tripped histograms equal one fed every sample", () => {
  const a = new Histogram();
  const b = new Histogram();
  const all = new Histogram();
  for (let i = 1; i <= 1000; i++) {
    const ms = (i * 7919 % 5000) / 100;
    (i % 2 ? a : b).record(ms);
    all.record(ms);
  }
  const merged = Histogram.fromJSON(JSON.parse(JSON.stringify(a)));
  merged.merge(Histogram.fromJSON(b.toJSON()));
  assert.deepEqual(merged.summary(), all.summary());
  assert.equal(merged.count, 1000);
});

Deno.test("counters add, merge and list their names in order", () => {
  const c = new Counters();
  c.add("error:claim:503");
  c.add("empty_polls", 5);
  const d = new Counters();
  d.add("empty_polls", 2);
  d.add("duplicates");
  c.merge(d);
  assert.equal(c.get("empty_polls"), 7);
  assert.equal(c.get("absent"), 0);
  assert.deepEqual(c.toJSON(), {
    duplicates: 1,
    empty_polls: 7,
    "error:claim:503": 1,
  });
});
