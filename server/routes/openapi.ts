/**
 * `GET /openapi.json`: the reference of every route, old and new, as an
 * OpenAPI 3.1 document built from the table below (schemas in
 * `_openapi_schemas.ts`). With extensions off, the additions are left out,
 * so the document always lists exactly the routes the app serves (a test
 * walks `app.routes` to prove it).
 *
 * @example
 * ```ts
 * import { openApiDocument } from "./openapi.ts";
 *
 * const doc = openApiDocument({ extensions: true, version: "0.1.0" });
 * console.log(doc.openapi, "/claim" in doc.paths); // "3.1.0" true
 * ```
 *
 * @module
 */

import type { Hono } from "hono";
import type { AppEnv, Services } from "../context.ts";
import { RESPONSES, SCHEMAS, SECURITY_SCHEMES } from "./_openapi_schemas.ts";

type Auth = "open" | "apiKey" | "admin" | "metrics";
type Param = [name: string, description: string, ext?: "ext"];

/** One documented route. */
interface RouteDoc {
  method: "get" | "post";
  /** In Hono's form: `/status/:id`. */
  path: string;
  summary: string;
  auth: Auth;
  /** Only served with extensions on. */
  ext?: boolean;
  query?: Param[];
  headers?: Param[];
  /** Request body schema name. */
  body?: string;
  /** Success status, schema name (null: no body), content type. */
  ok: [status: number, schema: string | null, type?: string];
  /** Also answers 204 with Retry-After (claim). */
  empty?: boolean;
  errors?: ErrorName[];
}

/** The shared error answers, by status. */
const ERROR_STATUS = {
  BadRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  Conflict: 409,
  TooLarge: 413,
  RateLimited: 429,
  Busy: 503,
  StorageFull: 507,
} as const;
type ErrorName = keyof typeof ERROR_STATUS;

const KEYED: ErrorName[] = ["Unauthorized", "Forbidden", "RateLimited"];
const LEASE: ErrorName[] = [
  "BadRequest",
  ...KEYED,
  "NotFound",
  "Busy",
  "StorageFull",
];
const ADMIN: ErrorName[] = ["BadRequest", "Unauthorized"];

/** Every route of the app, in the order of the protocol's table. */
// deno-fmt-ignore -- a table reads best one route per line or two
export const ROUTE_DOCS: readonly RouteDoc[] = [
  { method: "get", path: "/", summary: "Index", auth: "open", ok: [200, "Index"] },
  { method: "get", path: "/health", summary: "Liveness and the extensions offered", auth: "open", ok: [200, "Health"] },
  { method: "get", path: "/openapi.json", summary: "This document", auth: "open", ok: [200, null, "application/json"] },
  {
    method: "post", path: "/intent", summary: "Publish an intent", auth: "apiKey",
    headers: [["Idempotency-Key", "A replay with the same key and body answers the stored 201; other fields 409"]],
    body: "PublishRequest", ok: [201, "Published"],
    errors: ["BadRequest", ...KEYED, "Conflict", "TooLarge", "Busy", "StorageFull"],
  },
  { method: "get", path: "/status/:id", summary: "An intent's state (publisher, claimer or master)", auth: "apiKey", ok: [200, "IntentStatus"], errors: [...KEYED, "NotFound"] },
  { method: "get", path: "/result/:id", summary: "An intent's state and result", auth: "apiKey", ok: [200, "IntentResult"], errors: [...KEYED, "NotFound"] },
  {
    method: "post", path: "/claim", summary: "Lease the next claimable intent(s) of a goal", auth: "apiKey",
    query: [
      ["goal", "Goal (required)"], ["namespace", "Namespace, default `default`"],
      ["publisher", "Only this publisher's intents (own key or hash; others' for the master)"],
      ["worker_id", "Worker id (X-Worker-ID wins)"], ["capabilities", "Comma list (X-Worker-Capabilities wins)"],
      ["lease", "Lease seconds, 10 to 3600, default 60", "ext"],
      ["max", "Claim up to N (1 to 100); answers {intents:[...]}", "ext"],
      ["wait", "Long poll: hold up to S seconds (≤ 30) for an intent", "ext"],
    ],
    headers: [["X-Worker-ID", "Worker id"], ["X-Worker-Capabilities", "Comma list of capabilities"]],
    ok: [200, "ClaimedIntent"], empty: true, errors: ["BadRequest", ...KEYED, "Busy", "StorageFull"],
  },
  { method: "post", path: "/release/:id", summary: "Give a claimed intent back without using an attempt", auth: "apiKey", ext: true, body: "LeaseRequest", ok: [200, "Acted"], errors: LEASE },
  { method: "post", path: "/extend_claim/:id", summary: "Renew a lease (heartbeat)", auth: "apiKey", body: "ExtendRequest", ok: [200, "Extended"], errors: LEASE },
  { method: "post", path: "/fulfill/:id", summary: "Finish with a result; idempotent for the fulfilling token", auth: "apiKey", body: "FulfilRequest", ok: [200, "Ok"], errors: [...LEASE, "TooLarge"] },
  { method: "post", path: "/fail/:id", summary: "Fail: retried after backoff, or dead", auth: "apiKey", body: "FailRequest", ok: [200, "Acted"], errors: LEASE },
  { method: "post", path: "/intents", summary: "Publish up to 1000 intents in one transaction", auth: "apiKey", ext: true, body: "BatchPublishRequest", ok: [200, "BatchPublished"], errors: ["BadRequest", ...KEYED, "TooLarge", "Busy", "StorageFull"] },
  { method: "post", path: "/ack", summary: "Fulfil or fail many intents, each on its own", auth: "apiKey", ext: true, body: "AckRequest", ok: [200, "Acked"], errors: ["BadRequest", ...KEYED, "TooLarge", "Busy", "StorageFull"] },
  { method: "post", path: "/set/:key", summary: "Store a value private to this key", auth: "apiKey", body: "KvSetRequest", ok: [200, "OkOnly"], errors: ["BadRequest", ...KEYED, "TooLarge", "Busy", "StorageFull"] },
  { method: "get", path: "/get/:key", summary: "Read a stored value", auth: "apiKey", ok: [200, "KvValue"], errors: [...KEYED, "NotFound"] },
  { method: "get", path: "/metrics", summary: "Prometheus metrics", auth: "metrics", ok: [200, null, "text/plain"], errors: ["Unauthorized"] },
  { method: "get", path: "/admin/dashboard", summary: "HTML dashboard", auth: "admin", ok: [200, null, "text/html"], errors: ["Unauthorized"] },
  { method: "post", path: "/admin/generate_key", summary: "Issue an API key", auth: "admin", body: "KeyRequest", ok: [201, "KeyIssued"], errors: ADMIN },
  { method: "post", path: "/admin/revoke_key", summary: "Revoke an API key", auth: "admin", body: "RevokeRequest", ok: [200, "Revoked"], errors: [...ADMIN, "NotFound"] },
  { method: "post", path: "/admin/purge", summary: "Delete intents (all, or one namespace)", auth: "admin", body: "PurgeRequest", ok: [200, "Purged"], errors: ADMIN },
  { method: "post", path: "/admin/cleanup", summary: "Run maintenance now", auth: "admin", ok: [200, "Cleaned"], errors: ADMIN },
  { method: "get", path: "/admin/intents/:id", summary: "Every field of an intent", auth: "admin", ok: [200, "AdminIntent"], errors: [...ADMIN, "NotFound"] },
  { method: "post", path: "/admin/intents/:id/cancel", summary: "Cancel into the dead letters", auth: "admin", ok: [200, "Acted"], errors: [...ADMIN, "NotFound", "Conflict"] },
  { method: "post", path: "/admin/intents/:id/retry", summary: "Bring a dead intent back", auth: "admin", ok: [200, "Acted"], errors: [...ADMIN, "NotFound", "Conflict"] },
  {
    method: "get", path: "/admin/dead", summary: "List dead intents, newest first", auth: "admin",
    query: [["namespace", "Only this namespace"], ["goal", "Only this goal (not empty)"], ["limit", "1 to 1000, default 100"], ["before", "Only those that died before this unix time, in seconds to the millisecond (paging)"], ["before_id", "With before: also those that died in that very millisecond with a lower id. The page after an entry is before=<its died_at>&before_id=<its id>; before alone skips the rest of that millisecond"]],
    ok: [200, "DeadList"], errors: ADMIN,
  },
  { method: "get", path: "/admin/dead/:id", summary: "One dead intent", auth: "admin", ok: [200, "DeadIntentDetail"], errors: [...ADMIN, "NotFound"] },
  { method: "post", path: "/admin/dead/redrive", summary: "Dead intents back to open by filter", auth: "admin", ext: true, body: "RedriveRequest", ok: [200, "Redriven"], errors: ADMIN },
  { method: "post", path: "/admin/pause", summary: "Stop claims of a goal", auth: "admin", ext: true, body: "GoalRequest", ok: [200, "GoalState"], errors: ADMIN },
  { method: "post", path: "/admin/resume", summary: "Restart claims of a goal", auth: "admin", ext: true, body: "GoalRequest", ok: [200, "GoalState"], errors: ADMIN },
];

const SECURITY: Record<Auth, Record<string, string[]>[]> = {
  open: [],
  apiKey: [{ apiKey: [] }, { apiKey: [], signature: [] }],
  admin: [{ adminToken: [] }, { dashboardBasic: [] }],
  metrics: [{ metricsBearer: [] }, { adminToken: [] }, { dashboardBasic: [] }],
};

const schemaRef = (name: string) => ({ $ref: `#/components/schemas/${name}` });

function operation(r: RouteDoc, extensions: boolean) {
  const params = [
    ...[...r.path.matchAll(/:(\w+)/g)].map(([, name]) => ({
      name,
      in: "path",
      required: true,
      schema: { type: "string" },
    })),
    ...(r.query ?? []).filter(([, , e]) => extensions || e !== "ext").map((
      [name, description],
    ) => ({ name, in: "query", description, schema: { type: "string" } })),
    ...(r.headers ?? []).map(([name, description]) => ({
      name,
      in: "header",
      description,
      schema: { type: "string" },
    })),
  ];
  const [status, schema, type = "application/json"] = r.ok;
  let okSchema: unknown = schema === null ? {} : schemaRef(schema);
  if (r.path === "/claim" && extensions) {
    okSchema = { oneOf: [schemaRef("ClaimedIntent"), schemaRef("ClaimBatch")] };
  }
  const responses: Record<string, unknown> = {
    [status]: {
      description: "Success",
      content: { [type]: { schema: okSchema } },
    },
  };
  if (r.empty) {
    responses[204] = {
      description: "Nothing claimable; Retry-After: 1",
      headers: { "Retry-After": { schema: { type: "string" } } },
    };
  }
  for (const e of r.errors ?? []) {
    const code = ERROR_STATUS[e];
    responses[code] = { $ref: `#/components/responses/${e}` };
  }
  return {
    summary: r.summary,
    ...(r.ext ? { "x-extension": true } : {}),
    security: SECURITY[r.auth],
    ...(params.length > 0 ? { parameters: params } : {}),
    ...(r.body
      ? {
        requestBody: {
          required: false,
          content: { "application/json": { schema: schemaRef(r.body) } },
        },
      }
      : {}),
    responses,
  };
}

/**
 * Builds the document for a server with or without the extensions.
 *
 * @param opts Whether extensions are on, and the server version.
 * @returns The OpenAPI 3.1 document; `paths` keys use `{id}` templates.
 */
export function openApiDocument(
  opts: { extensions: boolean; version: string },
):
  & { openapi: string; paths: Record<string, Record<string, unknown>> }
  & Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of ROUTE_DOCS) {
    if (r.ext && !opts.extensions) continue;
    const path = r.path.replace(/:(\w+)/g, "{$1}");
    (paths[path] ??= {})[r.method] = operation(r, opts.extensions);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Intent Bus",
      version: opts.version,
      description: "Intent Protocol 2.1" +
        (opts.extensions ? ", plus the additions marked x-extension" : "") +
        '. Errors are {"error":{"code","message"}}; times are unix ' +
        "float seconds; every response carries X-Intent-Version: 2.1.",
    },
    paths,
    components: {
      schemas: SCHEMAS,
      responses: RESPONSES,
      securitySchemes: SECURITY_SCHEMES,
    },
  };
}

/**
 * Registers `GET /openapi.json` (open to anyone).
 *
 * @param app The app.
 * @param s The services (extensions switch, version).
 */
export function openApiRoutes(app: Hono<AppEnv>, s: Services): void {
  const doc = openApiDocument({
    extensions: s.config.extensions,
    version: s.config.version,
  });
  app.get("/openapi.json", (c) => c.json(doc));
}
