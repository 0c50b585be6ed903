/**
 * The three Intent Protocol calls a benchmark worker makes (publish, claim,
 * fulfil) over one {@linkcode HttpConnection}, answering plain outcomes
 * instead of throwing, so the load loop can count every kind of failure.
 *
 * @module
 */

import { HttpConnection } from "./http_client.ts";

/** The outcome of one call: `ok`, `empty` (204 claim) or an error kind. */
export type Outcome =
  | { kind: "ok"; status: number; body: Record<string, unknown> }
  | { kind: "empty"; status: 204 }
  | { kind: "error"; status: number; error: string };

/** Where a benchmark talks to: a base URL and an API key. */
export interface BusTarget {
  /** `http://host:port` of an Intent Protocol server. */
  url: string;
  /** The `X-API-KEY` to send; the master key in our dev server. */
  key: string;
}

/** One keep-alive connection speaking the Intent Protocol. */
export class BusConnection {
  readonly #http: HttpConnection;
  readonly #headers: string;

  /** @param target The server and key. */
  constructor(target: BusTarget) {
    this.#http = new HttpConnection(target.url);
    this.#headers =
      `X-API-KEY: ${target.key}\r\nContent-Type: application/json\r\n`;
  }

  /**
   * Publishes one intent (`POST /intent`).
   *
   * @param body The JSON body, already serialised.
   * @returns `ok` with `{id}` on 201/200, else an error.
   */
  publish(body: string): Promise<Outcome> {
    return this.#call("publish", "POST", "/intent", body);
  }

  /**
   * Claims one intent (`POST /claim`).
   *
   * @param query The query string, such as `goal=x&namespace=default`.
   * @returns `ok` with the claimed intent, `empty` on 204, else an error.
   */
  claim(query: string): Promise<Outcome> {
    return this.#call("claim", "POST", `/claim?${query}`);
  }

  /**
   * Fulfils a claimed intent (`POST /fulfill/<id>`).
   *
   * @param id The intent id.
   * @param token The claim token.
   * @returns `ok`, or an error (`fulfil:404` means the lease was lost).
   */
  fulfil(id: string, token: string): Promise<Outcome> {
    const body = `{"claim_token":${
      JSON.stringify(token)
    },"result":{"ok":true}}`;
    return this.#call("fulfil", "POST", `/fulfill/${id}`, body);
  }

  /**
   * Publishes many intents in one request (`POST /intents`, our addition).
   *
   * @param body `{"intents":[...]}`, already serialised.
   * @returns `ok` with `{results:[{id}|{error}]}`, else an error.
   */
  publishMany(body: string): Promise<Outcome> {
    return this.#call("publish", "POST", "/intents", body);
  }

  /**
   * Acknowledges many claimed intents in one request (`POST /ack`).
   *
   * @param body `{"acks":[{id,claim_token,status,result}]}`, serialised.
   * @returns `ok` with `{results:[{ok,id}|{id,error}]}`, else an error.
   */
  ack(body: string): Promise<Outcome> {
    return this.#call("ack", "POST", "/ack", body);
  }

  /** Closes the connection. */
  close(): void {
    this.#http.close();
  }

  async #call(
    op: string,
    method: string,
    path: string,
    body?: string,
  ): Promise<Outcome> {
    let res;
    try {
      res = await this.#http.request(method, path, this.#headers, body);
    } catch {
      return { kind: "error", status: 0, error: `${op}:network` };
    }
    if (res.status === 204) return { kind: "empty", status: 204 };
    if (res.status >= 200 && res.status < 300) {
      // A fulfil's answer carries nothing the load loop reads.
      if (op === "fulfil") return { kind: "ok", status: res.status, body: {} };
      try {
        return { kind: "ok", status: res.status, body: JSON.parse(res.body) };
      } catch {
        return { kind: "error", status: res.status, error: `${op}:bad_json` };
      }
    }
    let code = "";
    try {
      code = JSON.parse(res.body)?.error?.code ?? "";
    } catch { /* not JSON */ }
    return {
      kind: "error",
      status: res.status,
      error: `${op}:${res.status}${code ? `:${code}` : ""}`,
    };
  }
}
