/**
 * `IntentClient`: every route of the Intent Protocol as a typed method, with
 * retries, timeouts, optional HMAC signing and named errors.
 *
 * The file is longer than our usual 200 lines on purpose: one class with one
 * thin, documented method per route reads better than a class split across
 * files. The machinery lives elsewhere: the options and transport wiring in
 * `_client_transport.ts`, the requests of one-route calls in
 * `_call_specs.ts`, the batch calls in `_publish_many.ts` and
 * `_ack_many.ts`, the HTTP exchange in `_transport.ts`, the wire format in
 * `_wire.ts`.
 *
 * @module
 */

import { NotFoundError } from "../core/errors.ts";
import type { JsonInput, JsonValue, ResultType } from "../core/intent.ts";
import { LIMITS } from "../core/limits.ts";
import { ackMany } from "./_ack_many.ts";
import {
  adminSpec,
  claimBatchOf,
  claimSpec,
  getSpec,
  leaseSpec,
} from "./_call_specs.ts";
import { clientSetup } from "./_client_transport.ts";
import { isMissingRoute } from "./_error_map.ts";
import { jsonText } from "./_pack.ts";
import { publishMany } from "./_publish_many.ts";
import { randomHex } from "./_sign.ts";
import type { Reply, RequestSpec, Transport } from "./_transport.ts";
import { errorText, publishBody } from "./_wire.ts";
import type {
  Ack,
  AckResult,
  CallOptions,
  ClaimBatch,
  ClaimOptions,
  ClientOptions,
  Health,
  IntentStatus,
  LeasedIntent,
  Published,
  PublishItem,
  PublishOptions,
  PublishResult,
} from "./types.ts";

const seg = encodeURIComponent;

/**
 * A client of one Intent Bus server. It holds no connection and no timers, so
 * it can be created freely and dropped at any time.
 *
 * @example Publishing and working by hand
 * ```ts ignore
 * import { IntentClient } from "./client.ts";
 *
 * const bus = new IntentClient({ url: "http://127.0.0.1:8080", apiKey: "k" });
 * const { id } = await bus.publish("resize", { src: "a.png" });
 * const job = await bus.claim("resize");
 * if (job) await bus.fulfil(job.id, job.claimToken, { ok: true });
 * console.log((await bus.result(id)).status); // "fulfilled"
 * ```
 *
 * @example Constructing a signing client
 * ```ts
 * import { IntentClient } from "./client.ts";
 *
 * const bus = new IntentClient({ url: "http://127.0.0.1:1", apiKey: "k", sign: true });
 * console.log(bus.url); // "http://127.0.0.1:1"
 * ```
 */
export class IntentClient {
  /** The server's base URL. */
  readonly url: string;
  /** The namespace used when a call names none. */
  readonly namespace: string;
  readonly #http: Transport;
  #features?: Promise<Set<string>>;

  /**
   * Makes a client; no request is sent until a method is called.
   *
   * @param options Where the server is and how to talk to it.
   * @throws {TypeError} when `url` is missing or not an http(s) URL.
   */
  constructor(options: ClientOptions) {
    const { url, namespace, http } = clientSetup(options);
    this.url = url;
    this.namespace = namespace;
    this.#http = http;
  }

  /**
   * Sends a request. A route the server does not have (an extension's, on a
   * server restarted without them) makes the client forget the features it
   * read, so the next {@linkcode IntentClient.features} reads them again.
   */
  async #request(spec: RequestSpec): Promise<Reply> {
    try {
      return await this.#http.request(spec);
    } catch (error) {
      if (isMissingRoute(error)) this.#features = undefined;
      throw error;
    }
  }

  /** Milliseconds each attempt of a request may take, unless a call says. */
  get timeoutMs(): number {
    return this.#http.options.timeoutMs;
  }

  /**
   * Publishes one intent. Retries reuse one idempotency key, so a retry after
   * a lost answer never publishes twice.
   *
   * @param goal The goal (queue) name.
   * @param payload Any JSON value, at most 7 KiB compact.
   * @param opts Optional fields, idempotency key, signal and timeout.
   * @returns The new intent's id, status and namespace.
   * @throws {ValidationError} when the server refuses a field, or code
   *   `invalid_json` when the payload cannot be encoded (nothing is sent).
   */
  async publish(
    goal: string,
    payload: JsonInput,
    opts: PublishOptions = {},
  ): Promise<Published> {
    const r = await this.#request({
      method: "POST",
      path: "/intent",
      json: jsonText(
        publishBody(goal, payload, opts, this.namespace),
        "Payload",
      ),
      idempotencyKey: opts.idempotencyKey ?? randomHex(),
      signal: opts.signal,
      timeoutMs: opts.timeoutMs,
    });
    const b = r.body as Partial<Published>;
    return {
      id: String(b.id),
      status: b.status ?? "published",
      namespace: b.namespace ?? opts.namespace ?? this.namespace,
    };
  }

  /**
   * Publishes many intents: when the server offers batch publish, in
   * requests of up to 1,000 items and under its 1 MiB body limit, else one
   * by one. One bad item (refused, not JSON, too large for any request) does
   * not sink the others unless `atomic` is set, which needs batch publish
   * and everything in one request. A request that fails (the server down
   * past the retries, a 5xx) gives its error to its own items only: those
   * of the requests before it keep their ids.
   *
   * @param items The intents.
   * @param opts `atomic`, signal and timeout.
   * @returns One result per item, in order.
   * @throws {IntentBusError} code `unsupported` for `atomic` without batch
   *   publish, or with items that do not fit one request.
   * @throws {ValidationError} with `atomic`, for an item that cannot be
   *   encoded or is too large; nothing is sent.
   */
  async publishMany(
    items: PublishItem[],
    opts: CallOptions & { atomic?: boolean } = {},
  ): Promise<PublishResult[]> {
    return await publishMany(this, (spec) => this.#request(spec), items, opts);
  }

  /**
   * Claims one intent, or answers null when nothing is claimable.
   *
   * @param goal The goal to work on.
   * @param opts Namespace, long-poll `wait`, `lease`, signal and timeout.
   * @returns The leased intent, or null.
   */
  async claim(
    goal: string,
    opts: ClaimOptions = {},
  ): Promise<LeasedIntent | null> {
    return (await this.poll(goal, opts)).intents[0] ?? null;
  }

  /**
   * Claims up to `max` intents in one request when the server offers batch
   * claim, else at most one.
   *
   * @param goal The goal to work on.
   * @param max 1 to 100.
   * @param opts Namespace, long-poll `wait`, `lease`, signal and timeout.
   * @returns The leased intents; empty when none are claimable.
   */
  async claimMany(
    goal: string,
    max: number,
    opts: ClaimOptions = {},
  ): Promise<LeasedIntent[]> {
    const batch = (await this.features(opts)).has("batch_claim");
    return (await this.poll(goal, { ...opts, max: batch ? max : undefined }))
      .intents;
  }

  /**
   * One claim request, answering the intents and the server's `Retry-After`
   * hint for an empty answer. The worker's building block.
   *
   * @param goal The goal to work on.
   * @param opts Claim options, plus `max` for a batch claim.
   * @returns The intents claimed and the idle hint.
   */
  async poll(
    goal: string,
    opts: ClaimOptions & { max?: number } = {},
  ): Promise<ClaimBatch> {
    const r = await this.#request(
      claimSpec(goal, opts, this.namespace, this.#http.options.timeoutMs),
    );
    return claimBatchOf(r, opts.lease);
  }

  /**
   * Fulfils a claimed intent with an optional result.
   *
   * @param id The intent id.
   * @param claimToken The token of the current claim.
   * @param result Any JSON value (or text with `resultType` "text").
   * @param resultType "json" (default) or "text".
   * @param opts Signal and timeout.
   * @throws {LeaseLostError} when another claim took the intent over.
   * @throws {ValidationError} when the server refuses the result, or code
   *   `invalid_json` when it cannot be encoded (nothing is sent).
   */
  async fulfil(
    id: string,
    claimToken: string,
    result?: JsonInput,
    resultType?: ResultType,
    opts: CallOptions = {},
  ): Promise<void> {
    await this.#lease(`/fulfill/${seg(id)}`, opts, {
      claim_token: claimToken,
      result,
      result_type: result === undefined ? undefined : resultType ?? "json",
    }, "Result");
  }

  /**
   * Fails a claimed intent; it is retried after backoff while attempts last.
   *
   * @param id The intent id.
   * @param claimToken The token of the current claim.
   * @param error An error or text; cut to 500 characters.
   * @param opts Signal and timeout.
   * @throws {LeaseLostError} when another claim took the intent over.
   */
  async fail(
    id: string,
    claimToken: string,
    error: unknown,
    opts: CallOptions = {},
  ): Promise<void> {
    await this.#lease(`/fail/${seg(id)}`, opts, {
      claim_token: claimToken,
      error: errorText(error),
    });
  }

  /**
   * Extends a lease to now plus `seconds` (the heartbeat).
   *
   * @param id The intent id.
   * @param claimToken The token of the current claim.
   * @param seconds 10 to 3600.
   * @param opts Signal and timeout.
   * @throws {LeaseLostError} when the lease is lost.
   */
  async extend(
    id: string,
    claimToken: string,
    seconds: number = LIMITS.leaseDefault,
    opts: CallOptions = {},
  ): Promise<void> {
    await this.#lease(`/extend_claim/${seg(id)}`, opts, {
      claim_token: claimToken,
      seconds,
    });
  }

  /**
   * Gives a claimed intent back without using up an attempt.
   *
   * @param id The intent id.
   * @param claimToken The token of the current claim.
   * @param opts Signal and timeout.
   * @throws {LeaseLostError} when the lease is already lost.
   */
  async release(
    id: string,
    claimToken: string,
    opts: CallOptions = {},
  ): Promise<void> {
    await this.#lease(`/release/${seg(id)}`, opts, { claim_token: claimToken });
  }

  #lease(
    path: string,
    opts: CallOptions,
    body: unknown,
    what = "Body",
  ): Promise<Reply> {
    return this.#request(leaseSpec(path, opts, body, what));
  }

  /**
   * Fulfils and fails many intents: when the server offers batch
   * acknowledge, in requests of up to 1,000 and under its 1 MiB body limit,
   * else one by one. Each acknowledgement gets its own outcome: one whose
   * result cannot be encoded (code `invalid_json`) or is too large for any
   * request (`payload_too_large`) is refused alone, and a request that fails
   * gives its error to each of its acknowledgements.
   *
   * @param acks The acknowledgements.
   * @param opts Signal and timeout.
   * @returns One result per acknowledgement, in order.
   * @throws The signal's reason when it aborts.
   */
  async ack(acks: Ack[], opts: CallOptions = {}): Promise<AckResult[]> {
    return await ackMany(this, (spec) => this.#request(spec), acks, opts);
  }

  /**
   * The state of an intent.
   *
   * @param id The intent id.
   * @param opts Signal and timeout.
   * @returns Its fields as the server answers them.
   * @throws {NotFoundError} when it does not exist or is not visible.
   */
  async status(id: string, opts: CallOptions = {}): Promise<IntentStatus> {
    return (await this.#get(`/status/${seg(id)}`, opts)).body as IntentStatus;
  }

  /**
   * The state and result of an intent.
   *
   * @param id The intent id.
   * @param opts Signal and timeout.
   * @returns Its fields, with `result` once fulfilled.
   * @throws {NotFoundError} when it does not exist or is not visible.
   */
  async result(id: string, opts: CallOptions = {}): Promise<IntentStatus> {
    return (await this.#get(`/result/${seg(id)}`, opts)).body as IntentStatus;
  }

  /**
   * Reads a value of this key's private store.
   *
   * @param key The name.
   * @param opts Signal and timeout.
   * @returns The value, or undefined when absent or expired.
   */
  async kvGet(
    key: string,
    opts: CallOptions = {},
  ): Promise<JsonValue | undefined> {
    try {
      const r = await this.#get(`/get/${seg(key)}`, opts);
      return (r.body as { value?: JsonValue })?.value;
    } catch (e) {
      if (e instanceof NotFoundError) return undefined;
      throw e;
    }
  }

  /**
   * Stores a value for `ttl` seconds (1 to 86400, default 600).
   *
   * @param key The name.
   * @param value Any JSON value.
   * @param opts `ttl`, signal and timeout.
   */
  async kvSet(
    key: string,
    value: JsonInput,
    opts: CallOptions & { ttl?: number } = {},
  ): Promise<void> {
    await this.#request({
      method: "POST",
      path: `/set/${seg(key)}`,
      body: { value, ttl: opts.ttl },
      idempotencyKey: randomHex(),
      signal: opts.signal,
      timeoutMs: opts.timeoutMs,
    });
  }

  /**
   * The server's health answer (no API key needed).
   *
   * @param opts Signal and timeout.
   * @returns `ok`, version and the protocol extensions offered.
   */
  async health(opts: CallOptions = {}): Promise<Health> {
    return (await this.#get("/health", opts)).body as Health;
  }

  /**
   * The protocol extensions the server offers, read from `/health` and
   * remembered until the server answers that an extension's route is
   * missing (restarted with its extensions off); a failed read is tried
   * again on the next call.
   *
   * @param opts Signal and timeout.
   * @returns Names such as `longpoll`, `batch_claim`, `release`.
   */
  features(opts: CallOptions = {}): Promise<Set<string>> {
    if (!this.#features) {
      this.#features = this.health(opts).then((h) =>
        new Set(Array.isArray(h?.features) ? h.features.map(String) : [])
      );
      this.#features.catch(() => this.#features = undefined);
    }
    return this.#features;
  }

  /**
   * Issues an API key (admin). The key is shown only in this answer.
   *
   * @param owner Who the key is for.
   * @param opts Signal and timeout.
   * @returns The new key and its owner.
   * @throws {AuthError} without a valid `adminToken`.
   */
  async adminGenerateKey(
    owner: string,
    opts: CallOptions = {},
  ): Promise<{ api_key: string; owner: string }> {
    const r = await this.#admin("POST", "/admin/generate_key", opts, { owner });
    return r.body as { api_key: string; owner: string };
  }

  /**
   * Revokes an API key (admin).
   *
   * @param apiKey The key to revoke.
   * @param opts Signal and timeout.
   */
  async adminRevokeKey(apiKey: string, opts: CallOptions = {}): Promise<void> {
    await this.#admin("POST", "/admin/revoke_key", opts, { api_key: apiKey });
  }

  /**
   * Lists dead intents (admin), optionally filtered, a page at a time.
   *
   * @param filter `namespace`, `goal`, `limit`; for the next page, `before`
   *   and `beforeId`: the last entry's `died_at` (unix seconds) and `id`.
   * @param opts Signal and timeout.
   * @returns The dead intents, newest first, as the server lists them.
   */
  async adminDeadList(
    filter: AdminFilter & { before?: number; beforeId?: string } = {},
    opts: CallOptions = {},
  ): Promise<Record<string, unknown>[]> {
    const { beforeId, ...rest } = filter;
    const query = { ...rest, before_id: beforeId };
    const r = await this.#admin("GET", "/admin/dead", opts, undefined, query);
    const body = r.body as { dead?: unknown } | unknown[];
    return (Array.isArray(body) ? body : body?.dead ?? []) as Record<
      string,
      unknown
    >[];
  }

  /**
   * Moves dead intents back to open (admin), by filter or ids.
   *
   * @param filter `namespace`, `goal`, `ids`, `limit`.
   * @param opts Signal and timeout.
   * @returns The server's answer, such as the count redriven.
   */
  async adminRedrive(
    filter: AdminFilter & { ids?: string[] } = {},
    opts: CallOptions = {},
  ): Promise<Record<string, unknown>> {
    const r = await this.#admin("POST", "/admin/dead/redrive", opts, filter);
    return r.body as Record<string, unknown>;
  }

  /**
   * Pauses claims of a goal (admin); publishing continues.
   *
   * @param goal The goal.
   * @param opts Namespace, signal and timeout.
   */
  async adminPause(
    goal: string,
    opts: CallOptions & { namespace?: string } = {},
  ): Promise<void> {
    const namespace = opts.namespace ?? this.namespace;
    await this.#admin("POST", "/admin/pause", opts, { goal, namespace });
  }

  /**
   * Resumes claims of a paused goal (admin).
   *
   * @param goal The goal.
   * @param opts Namespace, signal and timeout.
   */
  async adminResume(
    goal: string,
    opts: CallOptions & { namespace?: string } = {},
  ): Promise<void> {
    const namespace = opts.namespace ?? this.namespace;
    await this.#admin("POST", "/admin/resume", opts, { goal, namespace });
  }

  /**
   * Cancels an intent (admin): it goes dead and its lease is lost.
   *
   * @param id The intent id.
   * @param opts Signal and timeout.
   */
  async adminCancel(id: string, opts: CallOptions = {}): Promise<void> {
    await this.#admin("POST", `/admin/intents/${seg(id)}/cancel`, opts, {});
  }

  #admin(
    method: "GET" | "POST",
    path: string,
    opts: CallOptions,
    body?: unknown,
    query?: RequestSpec["query"],
  ): Promise<Reply> {
    return this.#request(adminSpec(method, path, opts, body, query));
  }

  #get(path: string, opts: CallOptions): Promise<Reply> {
    return this.#request(getSpec(path, opts));
  }
}

/**
 * Which intents an admin call is about.
 *
 * @example
 * ```ts
 * import type { AdminFilter } from "./client.ts";
 *
 * const filter: AdminFilter = { namespace: "default", goal: "resize", limit: 50 };
 * console.log(filter.limit); // 50
 * ```
 */
export interface AdminFilter {
  /** Only this namespace. */
  namespace?: string;
  /** Only this goal. */
  goal?: string;
  /** At most this many. */
  limit?: number;
}
