/**
 * Wake-ups between servers that share one PostgreSQL queue: each store
 * sends `NOTIFY intentbus` with the goal when it makes an intent
 * claimable (publish, release, retry, redrive, resume), in the same
 * transaction, and listens on one connection of its own for the others'.
 * A long poll on one server is then answered by a publish on another at
 * once, instead of at its next re-check.
 *
 * The payload is `<sender>\n<namespace>\n<goal>`; a store skips its own
 * (its server woke its waiters already).
 *
 * @module
 */

import type pg from "pg";

/** The channel every store notifies and listens on. */
export const CHANNEL = "intentbus";

/** Called with a goal another store made claimable. */
export type GoalListener = (namespace: string, goal: string) => void;

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

  /**
   * @param sender This store's id; its own notifications are skipped.
   * @param connect Makes a new, unconnected client.
   */
  constructor(
    readonly sender: string,
    private readonly connect: () => pg.Client,
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
      .then(() => client.query(`LISTEN ${CHANNEL}`))
      .catch(retry);
  }

  /** Stops listening for good. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    const client = this.#client;
    this.#client = null;
    this.#listeners.clear();
    await client?.end().catch(() => {});
  }
}
