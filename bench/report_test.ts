import assert from "node:assert/strict";
import { costText, progressBar, table } from "./report.ts";

Deno.test("table right-aligns cells under their headers", () => {
  assert.equal(
    table(["a", "bbb"], [["10", "2"], ["3", "4000"]]),
    " a   bbb\n--  ----\n10     2\n 3  4000",
  );
});

Deno.test("costText adds up one lifecycle and the rate one core allows", () => {
  const row = (op: string, cpuMicros: number) => ({
    op,
    requests: 100,
    requestsPerSec: 1000,
    serverCpuPercent: 50,
    cpuMicros,
    generatorCpuPercent: 20,
  });
  const text = costText([
    row("publish", 100),
    row("claim (hit)", 150),
    row("fulfil", 150),
    row("claim (empty)", 50),
  ]);
  assert.match(text, /400 µs of server CPU, so at most 2500 intents\/s/);
  assert.match(text, /claim \(empty\)\s+100\s+1000\s+50\s+50\s+20/);
});

Deno.test("progressBar fills in proportion and never overflows", () => {
  assert.equal(
    progressBar("heavy", 1, 2),
    `\rheavy    [${"#".repeat(15)}${".".repeat(15)}] 1/2`,
  );
  assert.equal(progressBar("x", 5, 2), `\rx        [${"#".repeat(30)}] 5/2`);
});
