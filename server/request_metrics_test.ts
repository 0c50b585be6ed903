import assert from "node:assert/strict";
import { RequestMetrics } from "./request_metrics.ts";

function series(text: string): string[] {
  return text.split("\n").filter((l) =>
    l.startsWith("intent_bus_http_requests_total{")
  );
}

Deno.test("every route of the protocol and its extensions has its own label; anything else is other", () => {
  const m = new RequestMetrics();
  for (
    const path of [
      "/intents",
      "/ack",
      "/release/abc",
      "/openapi.json",
      "/claim",
      "/admin/dead",
      "/nope/x",
    ]
  ) m.observe(path, "POST", 200, 1);
  const routes = series(m.render()).map((l) => /route="([^"]*)"/.exec(l)![1]);
  assert.deepEqual(routes.sort(), [
    "/ack",
    "/admin",
    "/claim",
    "/intents",
    "/openapi.json",
    "/release",
    "other",
  ]);
});

Deno.test("a client cannot add label values with made-up methods", () => {
  const m = new RequestMetrics();
  for (let i = 0; i < 1000; i++) m.observe("/x", `M${i}`, 404, 1);
  m.observe("/x", "GET", 404, 1);
  const lines = series(m.render());
  assert.deepEqual(lines, [
    'intent_bus_http_requests_total{route="other",method="other",status="404"} 1000',
    'intent_bus_http_requests_total{route="other",method="GET",status="404"} 1',
  ]);
});
