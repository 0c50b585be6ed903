// The component schemas, shared responses and security schemes of the
// OpenAPI document built in openapi.ts. Limits come from core/limits.ts so
// the reference cannot drift from what the validators enforce.

import { LIMITS } from "../../core/limits.ts";

type Schema = Record<string, unknown>;

/** Every `dead_reason` the stores write; see `Intent.deadReason`. */
const DEAD_REASONS = [
  "attempts_exhausted",
  "lease_expired",
  "expired",
  "cancelled",
];

const str = (description: string, extra: Schema = {}): Schema => ({
  type: "string",
  description,
  ...extra,
});
const int = (description: string, extra: Schema = {}): Schema => ({
  type: "integer",
  description,
  ...extra,
});
const num = (description: string): Schema => ({ type: "number", description });
const nullable = (s: Schema): Schema => ({ ...s, type: [s.type, "null"] });
const ref = (name: string): Schema => ({
  $ref: `#/components/schemas/${name}`,
});
const obj = (
  properties: Record<string, Schema>,
  required: string[] = [],
  description?: string,
): Schema => ({
  type: "object",
  ...(description ? { description } : {}),
  properties,
  ...(required.length > 0 ? { required } : {}),
});
const ok = { type: "boolean", const: true };
const id = str("32 lowercase hex characters", { pattern: "^[0-9a-f]{32}$" });
const unixSeconds = num("Unix time in (fractional) seconds");
const state = str("Intent state", {
  enum: ["open", "claimed", "fulfilled", "dead"],
});

const publishFields: Record<string, Schema> = {
  goal: str("Queue name, 1 to 256 characters after trimming"),
  payload: ref("JsonValue"),
  namespace: str("Queue space, default `default`", {
    pattern: "^[A-Za-z0-9_.-]{1,64}$",
  }),
  priority: int("Higher first", {
    minimum: LIMITS.priorityMin,
    maximum: LIMITS.priorityMax,
    default: LIMITS.priorityDefault,
  }),
  delay: num(`Seconds before it may be claimed, up to ${LIMITS.delayMax}`),
  max_attempts: int("Claims before it goes dead", {
    minimum: LIMITS.maxAttemptsMin,
    maximum: LIMITS.maxAttemptsMax,
    default: LIMITS.maxAttemptsDefault,
  }),
  backoff_base: num("Seconds; a failure waits base × 2^attempts plus jitter"),
  visibility: str("Who may claim it", {
    enum: ["private", "public"],
    default: "private",
  }),
  target_worker: str("Only the worker with this id may claim it"),
  required_capability: str("Only a worker listing this capability"),
};

const statusFields: Record<string, Schema> = {
  id,
  namespace: str("Namespace"),
  goal: str("Goal"),
  status: state,
  priority: int("Priority"),
  visibility: str("private or public"),
  claim_attempts: int("Claims so far"),
  max_attempts: int("Claims allowed"),
  run_at: unixSeconds,
  created_at: unixSeconds,
  expires_at: unixSeconds,
  claim_expires_at: nullable(unixSeconds),
  target_worker: nullable(str("Target worker")),
  required_capability: nullable(str("Required capability")),
  completed_at: nullable(unixSeconds),
  last_error: nullable(str("The last failure's text")),
  dead_reason: str("Why it is dead (only when dead)", { enum: DEAD_REASONS }),
};

const claimed = obj({
  id,
  namespace: str("Namespace"),
  goal: str("Goal"),
  payload: ref("JsonValue"),
  claim_attempts: int("Claims so far, this one included"),
  max_attempts: int("Claims allowed"),
  priority: int("Priority"),
  target_worker: nullable(str("Target worker")),
  required_capability: nullable(str("Required capability")),
  claim_token: str("Present it to fulfil, fail, extend or release"),
  claim_timeout: int("Lease length in seconds"),
  lease_expires_at: unixSeconds,
}, ["id", "goal", "payload", "claim_token", "claim_timeout"]);

const adminFields: Record<string, Schema> = {
  ...statusFields,
  payload: ref("JsonValue"),
  publisher: str("Hash of the publisher's key"),
  claimed_by: nullable(str("Hash of the claimer's key")),
  worker_id: nullable(str("Worker id of the claim")),
  claim_token: nullable(str("Current claim token")),
  lease_epoch: int("Fencing token: one more on every claim"),
  backoff_base: num("Seconds; a failure waits base × 2^attempts plus jitter"),
  updated_at: num("When it last changed, unix seconds"),
  result: ref("JsonValue"),
  result_type: str("Absent until there is a result", {
    enum: ["json", "text"],
  }),
  dead_reason: nullable(
    str("Why it is dead; null while it is not", {
      enum: [...DEAD_REASONS, null],
    }),
  ),
};

const deadFields: Record<string, Schema> = {
  intent_id: id,
  id,
  namespace: str("Namespace"),
  goal: str("Goal"),
  attempts: int("Claims used"),
  reason: nullable(str("Why it is dead", { enum: [...DEAD_REASONS, null] })),
  last_error: nullable(str("The last failure's text")),
  created_at: num("When it was published, unix seconds"),
  died_at: num("When it went dead, unix seconds (whole milliseconds)"),
};

const errorItem = obj({ error: ref("ErrorBody") }, ["error"]);

/** The `components.schemas` of the document. */
export const SCHEMAS: Record<string, Schema> = {
  JsonValue: { description: "Any JSON value" },
  ErrorBody: obj({
    code: str("Stable snake_case code, such as `lease_lost`"),
    message: str("Human-readable detail"),
  }, ["code", "message"]),
  Error: obj({ error: ref("ErrorBody") }, ["error"], "Every error answer"),
  Index: obj({
    name: str("Intent Bus"),
    version: str("Server version"),
    protocol: str("2.1"),
    health: str("/health"),
  }),
  Health: obj({
    ok,
    ts: unixSeconds,
    version: str("Server version"),
    features: {
      type: "array",
      items: { type: "string" },
      description: "Protocol extensions offered; absent when they are off",
    },
  }, ["ok", "ts", "version"]),
  PublishRequest: obj(publishFields, ["goal", "payload"]),
  Published: obj({
    id,
    status: { const: "published" },
    namespace: str("Namespace"),
  }, ["id", "status", "namespace"]),
  ClaimedIntent: claimed,
  ClaimBatch: obj({ intents: { type: "array", items: claimed } }, ["intents"]),
  LeaseRequest: obj({
    claim_token: str("Token of the current claim; v1.1 clients omit it"),
  }),
  ExtendRequest: obj({
    claim_token: str("Token of the current claim"),
    seconds: int("The lease becomes now + seconds", {
      minimum: LIMITS.leaseMin,
      maximum: LIMITS.leaseMax,
      default: LIMITS.leaseDefault,
    }),
  }),
  Extended: obj({
    ok,
    id,
    extended_by: int("Seconds"),
    lease_expires_at: unixSeconds,
  }, ["ok", "id", "extended_by"]),
  FulfilRequest: obj({
    claim_token: str(
      "Token of the current claim (a replay with the token " +
        "that fulfilled it answers 200 again)",
    ),
    result: ref("JsonValue"),
    result_type: str("How the result is stored", {
      enum: ["json", "text"],
      default: "json",
    }),
  }),
  FailRequest: obj({
    claim_token: str(
      "Token of the current claim (a replay with the token " +
        "that failed it answers 200 again, until the next claim)",
    ),
    error: str("Why", { maxLength: LIMITS.errorTextMax }),
  }),
  Ok: obj({ ok, id }, ["ok", "id"]),
  Acted: obj({ ok, id, status: state, run_at: unixSeconds }, ["ok", "id"]),
  IntentStatus: obj(statusFields, ["id", "status"]),
  IntentResult: obj({
    ...statusFields,
    result: ref("JsonValue"),
    result_type: str("Absent until there is a result", {
      enum: ["json", "text"],
    }),
    error: str("The last failure's text"),
  }, ["id", "status"]),
  KvSetRequest: obj({
    value: ref("JsonValue"),
    ttl: num(
      `Seconds, ${LIMITS.kvTtlMin} to ${LIMITS.kvTtlMax}, default ` +
        `${LIMITS.kvTtlDefault}`,
    ),
  }, ["value"]),
  KvValue: obj({ value: ref("JsonValue") }, ["value"]),
  OkOnly: obj({ ok }, ["ok"]),
  BatchPublishRequest: obj({
    intents: {
      type: "array",
      minItems: 1,
      maxItems: LIMITS.batchPublishMax,
      items: obj({
        ...publishFields,
        idempotency_key: str("Per-item idempotency key"),
      }, ["goal", "payload"]),
    },
    atomic: { type: "boolean", description: "One bad item fails them all" },
  }, ["intents"]),
  BatchPublished: obj({
    results: {
      type: "array",
      items: { oneOf: [ref("Published"), errorItem] },
    },
  }, ["results"]),
  AckRequest: obj({
    acks: {
      type: "array",
      minItems: 1,
      maxItems: LIMITS.batchPublishMax,
      items: obj({
        id,
        claim_token: str("Token of the claim"),
        status: str("Outcome", { enum: ["fulfilled", "failed"] }),
        result: ref("JsonValue"),
        result_type: str("json or text", { enum: ["json", "text"] }),
        error: str("Why it failed"),
      }, ["id", "claim_token", "status"]),
    },
  }, ["acks"]),
  Acked: obj({
    results: {
      type: "array",
      items: {
        oneOf: [
          obj({ ok, id, status: state }, ["ok", "id", "status"]),
          obj({ id, error: ref("ErrorBody") }, ["error"]),
        ],
      },
    },
  }, ["results"]),
  KeyRequest: obj({
    owner: str(
      "Who the key is for, 1 to 100 characters (code points) without NUL " +
        "or a lone surrogate; default `anonymous`",
    ),
  }),
  KeyIssued: obj({
    api_key: str("Shown only here"),
    owner: str("Owner"),
  }, ["api_key", "owner"]),
  RevokeRequest: obj({ api_key: str("The key to revoke") }, ["api_key"]),
  Revoked: obj({ ok, revoked: { const: true } }, ["ok", "revoked"]),
  PurgeRequest: obj({
    confirm: { const: true },
    namespace: str("Only this namespace; omit it for all (empty is refused)", {
      pattern: "^[A-Za-z0-9_.-]{1,64}$",
    }),
  }, ["confirm"]),
  Purged: obj({ ok, deleted: int("Rows"), namespace: nullable(str("")) }),
  Cleaned: obj({
    ok,
    expired_claims_requeued: int("Expired leases reopened"),
    expired_claims_dead: int("Expired leases on their last attempt"),
    deleted: obj(
      {
        intents: int("Fulfilled intents past retention"),
        dead: int("Dead intents past retention"),
        nonces: int("Expired signing nonces"),
        idempotency_keys: int("Idempotency keys past retention"),
        kv: int("Expired stored values"),
      },
      ["intents", "dead", "nonces", "idempotency_keys", "kv"],
      "Rows pruned",
    ),
  }, ["ok", "expired_claims_requeued", "expired_claims_dead", "deleted"]),
  AdminIntent: obj(adminFields, ["id", "status"]),
  DeadIntent: obj(deadFields, ["id", "created_at", "died_at"]),
  DeadIntentDetail: obj(
    { ...adminFields, ...deadFields },
    ["id", "status", "created_at", "died_at"],
    "A dead intent's every field, with the names of its listing entry",
  ),
  DeadList: { type: "array", items: ref("DeadIntent") },
  RedriveRequest: obj({
    namespace: str("Only this namespace"),
    goal: str("Only this goal"),
    ids: { type: "array", items: id, maxItems: 1000 },
    limit: int("At most this many", { minimum: 1, maximum: 1000 }),
  }),
  Redriven: obj({
    ok,
    redriven: int("How many"),
    ids: { type: "array", items: id },
  }, ["ok", "redriven", "ids"]),
  GoalRequest: obj({ goal: str("Goal"), namespace: str("Namespace") }, [
    "goal",
  ]),
  GoalState: obj({
    ok,
    namespace: str("Namespace"),
    goal: str("Goal"),
    paused: { type: "boolean" },
  }),
};

const error = (description: string) => ({
  description,
  content: { "application/json": { schema: ref("Error") } },
});

/** The `components.responses`: error answers shared by many routes. */
export const RESPONSES: Record<string, Schema> = {
  BadRequest: error("invalid_request, invalid_payload or invalid_json"),
  Unauthorized: error("unauthorized: missing or unknown credential"),
  Forbidden: error("invalid_signature, forbidden or https_required"),
  NotFound: error("not_found, or lease_lost on the lease routes"),
  Conflict: error("idempotency_conflict or invalid_state"),
  TooLarge: error("payload_too_large"),
  RateLimited: error("rate_limited or limit_exceeded, with Retry-After"),
  Busy: error("database_busy or maintenance, with Retry-After"),
  StorageFull: error(
    "storage_full: the database has no room left, nothing was written; Retry-After",
  ),
};

/** The `components.securitySchemes`. */
export const SECURITY_SCHEMES: Record<string, Schema> = {
  apiKey: {
    type: "apiKey",
    in: "header",
    name: "X-API-KEY",
    description: "The master key (BUS_SECRET) or a key issued by the admin",
  },
  signature: {
    type: "apiKey",
    in: "header",
    name: "X-Signature",
    description:
      "Strict auth, with X-Timestamp (unix s, ±300 s) and X-Nonce: " +
      "hex HMAC-SHA256 keyed with the API key of " +
      "METHOD\\nCANONICAL_PATH\\nTIMESTAMP\\nNONCE\\nRAW_BODY, the query " +
      "sorted and RFC 3986 encoded. Required when BUS_REQUIRE_SIGNATURES.",
  },
  adminToken: {
    type: "apiKey",
    in: "header",
    name: "X-Admin-Token",
    description: "BUS_ADMIN_SECRET",
  },
  dashboardBasic: {
    type: "http",
    scheme: "basic",
    description: "admin:<DASHBOARD_PASSWORD>",
  },
  metricsBearer: {
    type: "http",
    scheme: "bearer",
    description: "BUS_METRICS_TOKEN",
  },
};
