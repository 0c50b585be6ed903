import assert from "node:assert/strict";
import { DEFAULT_CONFIG } from "../config.ts";
import { makeTestApp } from "../testing.ts";
import { openApiDocument } from "./openapi.ts";

/** `METHOD /path/{param}` for every route the Hono app registered. */
function appRoutes(
  routes: readonly { method: string; path: string }[],
): Set<string> {
  return new Set(
    routes.filter((r) => r.method !== "ALL").map((r) =>
      `${r.method} ${r.path.replace(/:(\w+)/g, "{$1}")}`
    ),
  );
}

function documented(paths: Record<string, Record<string, unknown>>) {
  const out = new Set<string>();
  for (const [path, ops] of Object.entries(paths)) {
    for (const method of Object.keys(ops)) {
      out.add(`${method.toUpperCase()} ${path}`);
    }
  }
  return out;
}

/** Every `$ref` in the document, as a path under `#/`. */
function refs(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) { for (const x of node) refs(x, out); }
  else if (node !== null && typeof node === "object") {
    for (const [k, v] of Object.entries(node)) {
      if (k === "$ref" && typeof v === "string") out.push(v);
      else refs(v, out);
    }
  }
  return out;
}

for (const extensions of [true, false]) {
  const mode = extensions ? "with extensions" : "with extensions off";

  Deno.test(`${mode}, /openapi.json documents exactly the routes the app registers`, async () => {
    await using t = await makeTestApp({ config: { extensions } });
    const res = await t.call("GET", "/openapi.json", { key: null });
    assert.equal(res.status, 200);
    assert.equal(res.body.openapi, "3.1.0");
    const inApp = appRoutes(t.app.routes);
    const inDoc = documented(res.body.paths);
    assert.deepEqual(
      [...inApp].filter((r) => !inDoc.has(r)),
      [],
      "registered but not documented",
    );
    assert.deepEqual(
      [...inDoc].filter((r) => !inApp.has(r)),
      [],
      "documented but not registered",
    );
    assert.deepEqual(
      res.body,
      openApiDocument({ extensions, version: DEFAULT_CONFIG.version }),
    );
  });
}

Deno.test("every $ref of the document resolves, and errors share one shape", () => {
  const doc = openApiDocument({ extensions: true, version: "x" });
  const all = refs(doc);
  assert.ok(all.length > 50);
  for (const ref of new Set(all)) {
    let node: unknown = doc;
    for (const part of ref.replace(/^#\//, "").split("/")) {
      node = (node as Record<string, unknown>)?.[part];
    }
    assert.ok(node !== undefined, `unresolved ${ref}`);
  }
  const components = doc.components as {
    responses: Record<string, { content: Record<string, unknown> }>;
    securitySchemes: Record<string, unknown>;
  };
  for (const r of Object.values(components.responses)) {
    assert.deepEqual(r.content["application/json"], {
      schema: { $ref: "#/components/schemas/Error" },
    });
  }
  assert.deepEqual(Object.keys(components.securitySchemes).sort(), [
    "adminToken",
    "apiKey",
    "dashboardBasic",
    "metricsBearer",
    "signature",
  ]);
});

Deno.test("the extensions are marked, and left out when they are off", () => {
  const on = openApiDocument({ extensions: true, version: "x" });
  const off = openApiDocument({ extensions: false, version: "x" });
  const marked = Object.entries(on.paths).filter(([, ops]) =>
    Object.values(ops).some((op) =>
      (op as Record<string, unknown>)["x-extension"] === true
    )
  ).map(([p]) => p).sort();
  assert.deepEqual(marked, [
    "/ack",
    "/admin/dead/redrive",
    "/admin/pause",
    "/admin/resume",
    "/intents",
    "/release/{id}",
  ]);
  for (const p of marked) assert.equal(off.paths[p], undefined);
  const claimQuery = (doc: typeof on) =>
    (doc.paths["/claim"].post as { parameters: { name: string }[] })
      .parameters.map((p) => p.name);
  assert.ok(claimQuery(on).includes("wait"));
  assert.ok(!claimQuery(off).includes("wait"));
});
