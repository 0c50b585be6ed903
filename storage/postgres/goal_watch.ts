/**
 * Wake-ups between servers that share one PostgreSQL queue: each store
 * sends a notification ({@linkcode channelOf}) with the goal when it makes an intent
 * claimable (publish, release, retry, redrive, resume), in the same
 * transaction, and listens on one connection of its own for the others'.
 * A long poll on one server is then answered by a publish on another at
 * once, instead of at its next re-check.
 *
 * The payload is `<sender>\n<namespace>\n<goal>`; a store skips its own
 * (its server woke its waiters already).
 *
 * The listening connection runs `SELECT 1` every `heartbeatMs`: an idle
 * connection to a database that stopped answering (a partition, a frozen
 * host) would otherwise look alive for as long as TCP takes to give up,
 * many minutes. A heartbeat that fails or times out (the client's
 * `query_timeout`) drops the connection and listens anew; waiters re-check
 * every second meanwhile, so a notice lost in the gap only delays them.
 *
 * A publish notifies at most once per goal every {@linkcode NOTICE_GAP_MS}:
 * a notifying commit takes PostgreSQL's notification queue lock, and with
 * one per publish Heavy fell from 835–1,118 to 624–669 intents/s. Under load
 * another server's waiters are then woken within that gap (and re-check
 * every second anyway); a quiet queue still wakes them at every publish.
 *
 * @module
 */

import type pg from "pg";

/**
 * The channel the stores of one queue notify and listen on: `intentbus`,
 * or `intentbus_<schema>` for a queue in a schema of its own, so that
 * queues sharing a database do not wake each other.
 *
 * @param schema The store's schema, if it has one.
 * @returns The channel name (at most 63 characters, PostgreSQL's limit).
 */
export function channelOf(schema?: string): string {
  return (schema === undefined ? "intentbus" : `intentbus_${schema}`)
    .slice(0, 63);
}

/** Called with a goal another store made claimable. */
export type GoalListener = (namespace: string, goal: string) => void;

/** The least time between two publish notices of one goal, ms. */
export const NOTICE_GAP_MS = 50;

/** Most goals whose last notice time is kept. */
const NOTICED_MAX = 10_000;

/** How long to wait before listening again after the connection dropped. */
const RECONNECT_MS = 1000;

/**
 * The listening side: one connection, opened on the first listener and
 * reopened after it drops, closed by {@linkcode GoalWatch.close}.
 */
export class GoalWatch {
  #listeners = new Set<GoalListener>();
  #client: pg.Client | null = null;
  #closed = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #noticed = new Map<string, number>();

  /**
   * @param sender This store's id; its own notifications are skipped.
   * @param channel From {@linkcode channelOf}.
   * @param connect Makes a new, unconnected client.
   * @param heartbeatMs How often the listening connection is checked.
   */
  constructor(
    readonly sender: string,
    readonly channel: string,
    private readonly connect: () => pg.Client,
    private readonly heartbeatMs = 15_000,
  ) {}

  /**
   * Calls `fn` for each goal another store makes claimable.
   *
   * @param fn The listener.
   * @returns Stops calling it.
   */
  add(fn: GoalListener): () => void {
    this.#listeners.add(fn);
    if (this.#client === null && this.#timer === undefined) this.#listen();
    return () => this.#listeners.delete(fn);
  }

  #listen(): void {
    this.#timer = undefined;
    if (this.#closed) return;
    const client = this.connect();
    this.#client = client;
    const retry = () => {
      if (this.#client !== client) return;
      this.#client = null;
      clearInterval(this.#heartbeat);
      client.end().catch(() => {});
      if (!this.#closed) {
        this.#timer = setTimeout(() => this.#listen(), RECONNECT_MS);
      }
    };
    client.on("error", retry);
    client.on("end", retry);
    client.on("notification", (msg: { payload?: string }) => {
      const [from, namespace, goal] = (msg.payload ?? "").split("\n");
      if (from === this.sender || goal === undefined) return;
      for (const fn of this.#listeners) fn(namespace, goal);
    });
    client.connect()
      .then(() => client.query(`LISTEN "${this.channel}"`))
      .then(() => {
        if (this.#client !== client) return;
        this.#heartbeat = setInterval(() => {
          client.query("SELECT 1").catch(retry);
        }, this.heartbeatMs);
      })
      .catch(retry);
  }

  /**
   * Whether a publish to this goal should notify now: not within
   * {@linkcode NOTICE_GAP_MS} of the last one. Saying yes counts as noticing.
   *
   * @param namespace The goal's namespace. @param goal The goal.
   * @returns True when the publish should notify.
   */
  noticeDue(namespace: string, goal: string): boolean {
    const key = `${namespace}\n${goal}`;
    const now = performance.now();
    const last = this.#noticed.get(key);
    if (last !== undefined && now - last < NOTICE_GAP_MS) return false;
    if (this.#noticed.size >= NOTICED_MAX) this.#noticed.clear();
    this.#noticed.set(key, now);
    return true;
  }

  /** Stops listening for good. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    clearInterval(this.#heartbeat);
    const client = this.#client;
    this.#client = null;
    this.#listeners.clear();
    await client?.end().catch(() => {});
  }
}
