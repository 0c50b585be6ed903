import assert from "node:assert/strict";
import { DEFAULT_CONFIG } from "../config.ts";
import { ADMIN, makeTestApp } from "../testing.ts";
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

type Schema = Record<string, unknown>;

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function typeIs(type: unknown, v: unknown): boolean {
  switch (type) {
    case "null":
      return v === null;
    case "integer":
      return Number.isInteger(v);
    case "array":
      return Array.isArray(v);
    case "object":
      return isObject(v);
    case "number":
      return typeof v === "number";
    case "string":
      return typeof v === "string";
    case "boolean":
      return typeof v === "boolean";
    default:
      throw new TypeError(`Unknown schema type: ${JSON.stringify(type)}`);
  }
}

/** The node a `{"$ref"}` points at, or the node itself. */
function resolve(doc: Schema, node: Schema): Schema {
  if (typeof node.$ref !== "string") return node;
  let out: unknown = doc;
  for (const part of node.$ref.replace(/^#\//, "").split("/")) {
    out = (out as Schema)[part];
  }
  return out as Schema;
}

/**
 * The ways `value` breaks `schema`, for the part of JSON Schema the document
 * uses (`$ref`, `type`, `const`, `enum`, `pattern`, `oneOf`, `items`,
 * `properties`, `required`), plus one rule of ours: an object's every field
 * is declared, so the reference names all that an answer holds.
 */
function violations(
  doc: Schema,
  schema: Schema,
  value: unknown,
  at = "$",
): string[] {
  if (typeof schema.$ref === "string") {
    return violations(doc, resolve(doc, schema), value, at);
  }
  const out: string[] = [];
  const shown = JSON.stringify(value);
  if ("const" in schema && value !== schema.const) {
    out.push(`${at}: ${shown} is not ${JSON.stringify(schema.const)}`);
  }
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) {
    out.push(`${at}: ${shown} is not one of ${schema.enum.join(", ")}`);
  }
  if (
    schema.type !== undefined &&
    ![schema.type].flat().some((t) => typeIs(t, value))
  ) {
    out.push(`${at}: ${shown} is not ${[schema.type].flat().join(" or ")}`);
  }
  if (
    typeof schema.pattern === "string" && typeof value === "string" &&
    !new RegExp(schema.pattern, "u").test(value)
  ) out.push(`${at}: ${shown} does not match ${schema.pattern}`);
  if (Array.isArray(schema.oneOf)) {
    const fits = schema.oneOf.filter((s) =>
      violations(doc, s, value, at).length === 0
    );
    if (fits.length !== 1) out.push(`${at}: fits ${fits.length} of oneOf`);
  }
  if (Array.isArray(value) && isObject(schema.items)) {
    const items = schema.items;
    value.forEach((v, i) =>
      out.push(...violations(doc, items, v, `${at}[${i}]`))
    );
  }
  if (isObject(value) && isObject(schema.properties)) {
    const props = schema.properties as Record<string, Schema>;
    for (const name of (schema.required ?? []) as string[]) {
      if (!(name in value)) out.push(`${at}.${name}: missing`);
    }
    for (const [name, v] of Object.entries(value)) {
      if (name in props) {
        out.push(...violations(doc, props[name], v, `${at}.${name}`));
      } else out.push(`${at}.${name}: not declared`);
    }
  }
  return out;
}

Deno.test("the schema checker used below finds what it should", () => {
  const doc = openApiDocument({ extensions: true, version: "x" });
  const revoked = { $ref: "#/components/schemas/Revoked" };
  assert.deepEqual(violations(doc, revoked, { ok: true, revoked: true }), []);
  assert.deepEqual(violations(doc, revoked, { ok: 1, extra: null }), [
    "$.revoked: missing",
    "$.ok: 1 is not true",
    "$.ok: 1 is not boolean",
    "$.extra: not declared",
  ]);
  const list = { $ref: "#/components/schemas/DeadList" };
  assert.deepEqual(violations(doc, list, [{ id: "x", attempts: 1.5 }]), [
    "$[0].created_at: missing",
    "$[0].died_at: missing",
    '$[0].id: "x" does not match ^[0-9a-f]{32}$',
    "$[0].attempts: 1.5 is not integer",
  ]);
});

Deno.test("admin answers match their OpenAPI schemas", async () => {
  await using t = await makeTestApp({ config: { extensions: true } });
  const doc = openApiDocument({ extensions: true, version: "x" });
  const headers = { "X-Admin-Token": ADMIN };
  const checked = new Set<string>();
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await t.call(method, path, { key: null, headers, body });
    const route = `${method} ${path.replace(/[0-9a-f]{32}/, "{id}")}`;
    const [m, template] = route.split(" ");
    const op = doc.paths[template][m.toLowerCase()] as {
      responses: Record<string, Schema>;
    };
    const answer = op.responses[res.status];
    assert.ok(answer, `${route}: ${res.status} is not documented`);
    const { content } = resolve(doc, answer) as {
      content: Record<string, { schema: Schema }>;
    };
    assert.deepEqual(
      violations(doc, content["application/json"].schema, res.body),
      [],
      `${route}: ${res.text}`,
    );
    checked.add(route);
    return res.body;
  };
  const publish = async (body: Record<string, unknown> = {}) =>
    (await t.call("POST", "/intent", {
      body: { goal: "g", payload: { n: 1 }, ...body },
    })).body.id as string;

  const { api_key } = await call("POST", "/admin/generate_key", { owner: "o" });
  const done = await publish();
  await call("GET", `/admin/intents/${done}`);
  const { claim_token } = (await t.call("POST", "/claim?goal=g")).body;
  await t.call("POST", `/fulfill/${done}`, {
    body: { claim_token, result: "r", result_type: "text" },
  });
  await call("GET", `/admin/intents/${done}`);
  await publish({ goal: "lost", max_attempts: 1 });
  await publish({ goal: "lost" });
  await t.call("POST", "/claim?goal=lost&max=2");
  t.clock.advance(3 * 86_400_000);
  await call("POST", "/admin/cleanup");
  const dead = await publish();
  await call("POST", `/admin/intents/${dead}/cancel`);
  await call("GET", `/admin/intents/${dead}`);
  await call("GET", "/admin/dead");
  await call("GET", `/admin/dead/${dead}`);
  await call("POST", `/admin/intents/${dead}/retry`);
  await call("POST", `/admin/intents/${dead}/cancel`);
  await call("POST", "/admin/dead/redrive", {});
  await call("POST", "/admin/pause", { goal: "g" });
  await call("POST", "/admin/resume", { goal: "g" });
  await call("POST", "/admin/purge", { confirm: true });
  await call("POST", "/admin/purge", {});
  await call("POST", "/admin/revoke_key", { api_key });
  const adminJson = Object.entries(doc.paths).flatMap(([path, ops]) =>
    path.startsWith("/admin/")
      ? Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)
      : []
  ).filter((r) => r !== "GET /admin/dashboard");
  assert.deepEqual(adminJson.filter((r) => !checked.has(r)), []);
});
