// Random requests to every route, from a seeded generator: whatever a
// request holds, the answer is never a 5xx, an error is the protocol's
// `{"error":{"code","message"}}` with one of the stable codes below, and a
// refused request (4xx) changes no row of the queue's tables. The random
// requests mix plausible values (ids and tokens seen in earlier answers,
// goals in use) with wrong types, bounds, encodings and sizes, so that they
// get past the first check often enough to reach the deeper ones.
//
// The seed is fixed, so that CI runs the same requests every time;
// FUZZ_SEED=random explores new ones, FUZZ_SEED=<n> replays a run (a failure
// prints its seed and request), and FUZZ_RUNS=<n> sets its length.

import assert from "node:assert/strict";
import { ADMIN, makeTestApp, type TestApp } from "./testing.ts";

/** Every error code the server may answer; a new one must be added here. */
const CODES = new Set([
  "invalid_request",
  "invalid_payload",
  "payload_too_large",
  "invalid_json",
  "not_found",
  "lease_lost",
  "conflict",
  "idempotency_conflict",
  "invalid_state",
  "limit_exceeded",
  "rate_limited",
  "unauthorized",
  "invalid_signature",
  "forbidden",
  "method_not_allowed",
  "storage_full",
]);

const PUBLISH = [
  "goal",
  "payload",
  "namespace",
  "priority",
  "delay",
  "max_attempts",
  "backoff_base",
  "visibility",
  "target_worker",
  "required_capability",
  "idempotency_key",
];

/** The fields each route reads; bodies are drawn mostly from these. */
const ROUTE_FIELDS: Record<string, string[]> = {
  // The first two of each are the ones the route needs most.
  "/intent": PUBLISH,
  "/intents": ["intents", "atomic", "namespace"],
  "/ack": ["acks"],
  "/fulfill/:id": ["claim_token", "result", "result_type"],
  "/fail/:id": ["claim_token", "error"],
  "/extend_claim/:id": ["claim_token", "seconds"],
  "/release/:id": ["claim_token"],
  "/set/:key": ["value", "ttl"],
  "/admin/generate_key": ["owner"],
  "/admin/revoke_key": ["api_key"],
  "/admin/purge": ["confirm", "namespace"],
  "/admin/pause": ["goal", "namespace"],
  "/admin/resume": ["goal", "namespace"],
  "/admin/dead/redrive": ["ids", "goal", "namespace", "limit"],
};

const FIELDS = [
  ...new Set([...Object.values(ROUTE_FIELDS).flat(), "id", "status"]),
];

const QUERY = [
  "goal",
  "namespace",
  "max",
  "lease",
  "wait",
  "worker_id",
  "capabilities",
  "publisher",
  "limit",
  "before",
  "state",
  "format",
  "ttl",
];

const METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];

/** mulberry32: small, fast, and the same sequence for the same seed. */
function generator(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  return { next, int, pick, chance: (p: number) => next() < p };
}

type Gen = ReturnType<typeof generator>;

/** What earlier answers handed out, for later requests to reuse. */
interface Seen {
  ids: string[];
  tokens: string[];
  keys: string[];
  /** Leases from claim answers, each id with its own token. */
  leases: { id: string; token: string }[];
  /** The lease this request is about, if any: its id and token go together. */
  lease: { id: string; token: string } | null;
}

const GOALS = ["g", "h", "  g  ", "", "x".repeat(300), "a\u0000b", "é💥"];

function text(g: Gen, seen: Seen): string {
  return g.pick([
    () => "",
    () => " ",
    () => "g",
    () => g.pick(GOALS),
    () => "10",
    () => "-1",
    () => "1e309",
    () => "0x1F",
    () => " 7 ",
    () => "null",
    () => "<script>alert(1)</script>",
    () => "\u0000",
    () => "\uD800",
    () => "é💥",
    () => "a".repeat(g.pick([64, 65, 129, 257, 5000])),
    () => crypto.randomUUID().replaceAll("-", ""),
    () => g.pick(seen.ids.length ? seen.ids : ["none"]),
    () => g.pick(seen.tokens.length ? seen.tokens : ["none"]),
  ])();
}

function value(g: Gen, seen: Seen, depth = 0): unknown {
  const atoms = [
    () => null,
    () => true,
    () => false,
    () => 0,
    () => -1,
    () => 1,
    () => g.int(200) - 50,
    () => 0.5,
    () => 2 ** 31,
    () => 2 ** 53 + 2,
    () => -1e308,
    () => 1e308,
    () => text(g, seen),
  ];
  if (depth > 3 || g.chance(0.7)) return g.pick(atoms)();
  if (g.chance(0.5)) {
    return Array.from({ length: g.int(4) }, () => value(g, seen, depth + 1));
  }
  return object(g, seen, FIELDS.slice(0, 4), depth + 1);
}

/** A plausible value for a field most of the time, anything otherwise. */
function field(g: Gen, seen: Seen, name: string, depth: number): unknown {
  if (g.chance(0.12)) return value(g, seen, depth);
  switch (name) {
    case "goal":
      return g.pick(["g", "h"]);
    case "payload":
    case "result":
      return g.chance(0.01) ? "p".repeat(1_100_000) : { n: g.int(10) };
    case "claim_token":
      if (seen.lease && g.chance(0.8)) return seen.lease.token;
      return g.pick(seen.tokens.length ? seen.tokens : ["0".repeat(32)]);
    case "id":
      return g.pick(seen.ids.length ? seen.ids : ["0".repeat(32)]);
    case "ids":
      return seen.ids.slice(0, g.int(5));
    case "intents":
      return Array.from(
        { length: g.chance(0.03) ? 1001 : g.pick([0, 1, 3]) },
        () =>
          g.chance(0.2)
            ? value(g, seen, depth + 1)
            : object(g, seen, PUBLISH, depth + 1),
      );
    case "acks":
      return Array.from({ length: g.chance(0.03) ? 1001 : g.int(4) }, () => ({
        id: g.pick(seen.ids.length ? seen.ids : ["0".repeat(32)]),
        claim_token: g.pick(seen.tokens.length ? seen.tokens : ["x"]),
        status: g.pick(["fulfilled", "failed", "done"]),
        ...object(g, seen, ["result", "result_type", "error"], depth + 1),
      }));
    case "visibility":
      return g.pick(["public", "private", "secret"]);
    case "result_type":
      return g.pick(["json", "text", "binary"]);
    case "namespace":
      return g.pick(["default", "ns1"]);
    case "target_worker":
      return g.pick(["w1", "w2"]);
    case "required_capability":
      return g.pick(["gpu", "cpu"]);
    case "idempotency_key":
      return `k${g.int(5)}`;
    case "api_key":
      return g.pick(seen.keys.length ? seen.keys : ["none"]);
    case "backoff_base":
    case "priority":
    case "max_attempts":
    case "seconds":
    case "delay":
    case "ttl":
    case "limit":
      // In range for most fields, and past the edges of some.
      return g.pick([0, 1, 2, 5, 10, 30, 60, 100, 1000, 3601, -1]);
    case "confirm":
    case "atomic":
      return g.chance(0.8);
    default:
      return text(g, seen);
  }
}

function object(
  g: Gen,
  seen: Seen,
  names: readonly string[] = FIELDS,
  depth = 0,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  // The route's first two fields (those it needs most) nearly always, half
  // of the others, and now and then a field it does not read.
  for (const [i, name] of names.entries()) {
    if (g.chance(i < 2 ? 0.9 : 0.5)) out[name] = field(g, seen, name, depth);
  }
  if (depth === 0 && g.chance(0.2)) {
    const name = g.pick(FIELDS);
    out[name] = field(g, seen, name, depth);
  }
  return out;
}

function body(
  g: Gen,
  seen: Seen,
  route: string,
): string | undefined {
  const own = ROUTE_FIELDS[route] ?? [];
  if (own.length && g.chance(0.7)) return JSON.stringify(object(g, seen, own));
  return g.pick([
    () => undefined,
    () => "",
    () => "{",
    () => "[1,",
    () => "null",
    () => '"text"',
    () => "[]",
    () => "1",
    () => '{"goal":"g","payload":' + "[".repeat(200) + "]".repeat(200) + "}",
    () => JSON.stringify(value(g, seen)),
    () => JSON.stringify(object(g, seen, FIELDS)),
    () =>
      JSON.stringify({ goal: g.pick(["g", "h"]), payload: object(g, seen) }),
  ])();
}

/** Percent-encodes; a lone surrogate becomes bytes that are not UTF-8. */
function enc(v: string): string {
  try {
    return encodeURIComponent(v);
  } catch {
    return "%ED%A0%80%FF";
  }
}

function path(g: Gen, seen: Seen, route: string): string {
  let p = route.replace("/*", "/" + g.pick(["", "x", "intents"]));
  p = p.replace(
    /:[a-z]+/g,
    () =>
      seen.lease ? seen.lease.id : enc(
        g.chance(0.6) && seen.ids.length ? g.pick(seen.ids) : text(g, seen),
      ),
  );
  // Most claims are well formed, so that there are leases to work on.
  if (route === "/claim" && g.chance(0.7)) {
    return `/claim?goal=${g.pick(["g", "h"])}${
      g.pick(["", "&max=3", "&lease=10", "&worker_id=w1"])
    }`;
  }
  const params: string[] = [];
  for (let n = g.int(5); n > 0; n--) {
    const name = g.pick(QUERY);
    const v = name === "wait"
      // A valid wait of a second or more would hold an empty claim.
      ? g.pick(["0", "-1", "31", "abc", "", "1e99", "0.001"])
      : g.chance(0.5)
      ? g.pick(["g", "h", "1", "100", "0", "-5", "3601", "9", "abc", ""])
      : text(g, seen);
    params.push(`${name}=${enc(v)}`);
  }
  return params.length ? `${p}?${params.join("&")}` : p;
}

function headers(g: Gen, seen: Seen, p: string) {
  const h: Record<string, string> = {};
  if (p.startsWith("/admin") || g.chance(0.05)) {
    h["X-Admin-Token"] = g.chance(0.85) ? ADMIN : "wrong";
  }
  if (g.chance(0.1)) h["Idempotency-Key"] = `k${g.int(5)}`;
  if (g.chance(0.1)) h["X-Worker-ID"] = g.pick(["w1", "w2", " "]);
  if (g.chance(0.1)) h["Content-Type"] = g.pick(["text/plain", "x/y"]);
  const key = g.chance(0.75)
    ? undefined // the master key
    : g.pick([null, "wrong", ...(seen.keys.length ? seen.keys : [])]);
  return { h, key };
}

/** Every row of the queue's tables, to prove a refused request changed none. */
async function snapshot(t: TestApp): Promise<string> {
  const out: unknown[] = [];
  for (const table of ["intents", "dead_intents", "idempotency_keys", "kv"]) {
    out.push(await t.sql(`SELECT * FROM ${table} ORDER BY 1, 2`));
  }
  return JSON.stringify(out, (_k, v) => typeof v === "bigint" ? String(v) : v);
}

function remember(seen: Seen, b: unknown): void {
  if (b === null || typeof b !== "object") return;
  const o = b as Record<string, unknown>;
  if (typeof o.id === "string" && seen.ids.length < 200) seen.ids.push(o.id);
  if (typeof o.claim_token === "string") {
    seen.tokens.push(o.claim_token);
    if (typeof o.id === "string") {
      seen.leases.push({ id: o.id, token: o.claim_token });
    }
  }
  if (typeof o.api_key === "string") seen.keys.push(o.api_key);
  for (const v of Object.values(o)) {
    if (Array.isArray(v)) { for (const x of v.slice(0, 20)) remember(seen, x); }
  }
}

Deno.test("random requests to every route: never a 5xx, errors in the protocol's shape with a known code, a refused one changes nothing", async () => {
  const given = Deno.env.get("FUZZ_SEED") ?? "1128";
  const seed = given === "random" ? Date.now() % 1_000_000 : Number(given);
  const runs = Number(Deno.env.get("FUZZ_RUNS") ?? 2000);
  const g = generator(seed);
  await using t = await makeTestApp({ config: { emptyHoldMs: 0 } });
  const routes = t.app.routes.filter((r, i, all) =>
    all.findIndex((o) => o.method === r.method && o.path === r.path) === i
  );
  const hot = routes.filter((r) =>
    r.method === "POST" && !r.path.startsWith("/admin") &&
    r.path !== "/set/:key"
  );
  const seen: Seen = { ids: [], tokens: [], keys: [], leases: [], lease: null };
  for (let i = 0; i < 20; i++) {
    const r = await t.call("POST", "/intent", {
      body: { goal: i % 2 ? "g" : "h", payload: i, visibility: "public" },
    });
    remember(seen, r.body);
  }
  const codes = new Map<string, number>();
  const statuses = new Map<number, number>();
  let before = await snapshot(t);
  for (let i = 0; i < runs; i++) {
    // Half of the requests go to the worker's routes, where the state is.
    const route = g.pick(g.chance(0.5) ? hot : routes);
    const method = g.chance(0.85) && route.method !== "ALL"
      ? route.method
      : g.pick(METHODS);
    seen.lease = route.path.endsWith("/:id") && seen.leases.length &&
        g.chance(0.6)
      ? g.pick(seen.leases.slice(-20))
      : null;
    const p = path(g, seen, route.path);
    const { h, key } = headers(g, seen, p);
    const b = method === "GET" || method === "HEAD"
      ? undefined
      : body(g, seen, route.path);
    const what = `seed ${seed}, request ${i}: ${method} ${p.slice(0, 300)} ${
      JSON.stringify(h)
    } key=${key} body=${b?.slice(0, 300)}`;
    const res = await t.call(method, p, { key, headers: h, body: b });
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    assert.ok(res.status < 500, `${res.status} ${res.text}\n${what}`);
    const after = await snapshot(t);
    if (res.status >= 400) {
      if (method !== "HEAD") {
        const e = res.body?.error;
        assert.ok(
          typeof e?.code === "string" && CODES.has(e.code),
          `unknown error shape or code: ${res.text}\n${what}`,
        );
        assert.ok(typeof e.message === "string" && e.message !== "", what);
        assert.match(res.headers.get("content-type") ?? "", /json/, what);
        codes.set(e.code, (codes.get(e.code) ?? 0) + 1);
      }
      assert.equal(after, before, `a ${res.status} changed rows\n${what}`);
    } else {
      remember(seen, res.body);
    }
    before = after;
    // Claims take what is open: publish now and then so there is some.
    if (i % 10 === 0) {
      const r = await t.call("POST", "/intent", {
        body: { goal: "g", payload: i, visibility: "public" },
      });
      remember(seen, r.body);
      before = await snapshot(t);
    }
  }
  // The run reached past the first checks: successes and many kinds of error.
  const ok = [...statuses].filter(([s]) => s < 300).reduce(
    (n, [, c]) => n + c,
    0,
  );
  assert.ok(ok > runs / 20, `only ${ok} successes: ${[...statuses]}`);
  assert.ok(codes.size >= 6, `only these codes: ${[...codes.keys()]}`);
});
