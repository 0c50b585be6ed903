/**
 * A cheap HTTP/1.1 client for load generation: one keep-alive TCP connection
 * per {@linkcode HttpConnection}, one request in flight at a time (no
 * pipelining), reused read and write buffers, `Content-Length` and chunked
 * responses. `fetch` from one Deno process tops out near 7k requests/s on a
 * 2-core machine; this client does several times that, so the benchmark
 * measures the server, not itself.
 *
 * @example
 * ```ts
 * import { HttpConnection } from "./http_client.ts";
 *
 * const server = Deno.serve({ port: 0, onListen() {} }, () => new Response("hi"));
 * const conn = new HttpConnection(`http://127.0.0.1:${server.addr.port}`);
 * const res = await conn.request("GET", "/");
 * console.log(res.status, res.body); // 200 hi
 * conn.close();
 * await server.shutdown();
 * ```
 *
 * @module
 */

import { findHeaderEnd, parseChunked } from "./_http_parse.ts";

/** A response read by {@linkcode HttpConnection.request}. */
export interface HttpResponse {
  /** The status code. */
  status: number;
  /** The raw header block (status line excluded), lines joined by CRLF. */
  head: string;
  /** The body decoded as UTF-8; empty when there is none. */
  body: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Reads a header's value from a raw header block.
 *
 * @param head The `head` of an {@linkcode HttpResponse}.
 * @param name The header name, any case.
 * @returns The trimmed value, or null when absent.
 */
export function headerValue(head: string, name: string): string | null {
  return valueIn(head, head.toLowerCase(), name);
}

function valueIn(head: string, lower: string, name: string): string | null {
  const at = lower.indexOf(`\r\n${name.toLowerCase()}:`);
  if (at < 0) return null;
  const start = at + name.length + 3;
  const end = lower.indexOf("\r\n", start);
  return head.slice(start, end < 0 ? undefined : end).trim();
}

/**
 * One keep-alive HTTP/1.1 connection; it connects lazily and reconnects after
 * the server closes it. Not safe for concurrent requests: await each one.
 */
export class HttpConnection {
  readonly #hostname: string;
  readonly #port: number;
  readonly #hostHeader: string;
  #conn: Deno.TcpConn | null = null;
  #read = new Uint8Array(16 * 1024);
  #write = new Uint8Array(16 * 1024);
  #body = new Uint8Array(16 * 1024);
  #busy = false;

  /** @param baseUrl `http://host:port`; any path is ignored. */
  constructor(baseUrl: string) {
    const url = new URL(baseUrl);
    if (url.protocol !== "http:") {
      throw new TypeError(`Only http: is supported: "${baseUrl}"`);
    }
    this.#hostname = url.hostname.replace(/^\[|\]$/g, "");
    this.#port = Number(url.port || 80);
    this.#hostHeader = url.host;
  }

  /**
   * Sends one request and reads its whole response.
   *
   * @param method Such as `GET` or `POST`.
   * @param path The path and query, already encoded.
   * @param extraHeaders Extra header lines, each ending in CRLF.
   * @param body The request body, if any.
   * @returns The response.
   * @throws {Error} when the connection fails or closes mid-response.
   */
  async request(
    method: string,
    path: string,
    extraHeaders = "",
    body?: string,
  ): Promise<HttpResponse> {
    if (this.#busy) throw new Error("Connection is busy: await each request");
    this.#busy = true;
    try {
      const conn = this.#conn ??= await this.#connect();
      await this.#send(conn, method, path, extraHeaders, body);
      return await this.#receive(conn, method === "HEAD");
    } catch (err) {
      this.close();
      throw err;
    } finally {
      this.#busy = false;
    }
  }

  /** Closes the socket; the next request reconnects. */
  close(): void {
    try {
      this.#conn?.close();
    } catch { /* already closed */ }
    this.#conn = null;
  }

  async #connect(): Promise<Deno.TcpConn> {
    const conn = await Deno.connect({
      hostname: this.#hostname,
      port: this.#port,
    });
    conn.setNoDelay(true);
    return conn;
  }

  async #send(
    conn: Deno.TcpConn,
    method: string,
    path: string,
    extraHeaders: string,
    body: string | undefined,
  ): Promise<void> {
    let bodyBytes = 0;
    if (body !== undefined) {
      if (body.length * 3 > this.#body.length) {
        this.#body = new Uint8Array(body.length * 3);
      }
      bodyBytes = encoder.encodeInto(body, this.#body).written;
    }
    const length = body !== undefined || (method !== "GET" && method !== "HEAD")
      ? `Content-Length: ${bodyBytes}\r\n`
      : "";
    const head = `${method} ${path} HTTP/1.1\r\nHost: ${this.#hostHeader}\r\n` +
      extraHeaders + length + "\r\n";
    const need = head.length * 3 + bodyBytes;
    if (need > this.#write.length) this.#write = new Uint8Array(need);
    let written = encoder.encodeInto(head, this.#write).written;
    this.#write.set(this.#body.subarray(0, bodyBytes), written);
    written += bodyBytes;
    let off = 0;
    while (off < written) {
      off += await conn.write(this.#write.subarray(off, written));
    }
  }

  async #receive(conn: Deno.TcpConn, noBody: boolean): Promise<HttpResponse> {
    let end = 0;
    let headEnd = -1;
    while (headEnd < 0) {
      end = await this.#fill(conn, end);
      headEnd = findHeaderEnd(this.#read, end);
    }
    const buf = this.#read;
    const status = (buf[9] - 48) * 100 + (buf[10] - 48) * 10 + buf[11] - 48;
    const lineEnd = buf.indexOf(13);
    const head = decoder.decode(buf.subarray(lineEnd, headEnd));
    const bodyStart = headEnd + 4;
    const lower = head.toLowerCase();
    const closeAfter = /\r\nconnection:\s*close/.test(lower);
    let body = "";
    if (!noBody && status !== 204 && status !== 304 && status >= 200) {
      const length = valueIn(head, lower, "content-length");
      if (length !== null) {
        const total = bodyStart + Number(length);
        while (end < total) end = await this.#fill(conn, end);
        body = decoder.decode(this.#read.subarray(bodyStart, total));
      } else if (
        /chunked/.test(valueIn(head, lower, "transfer-encoding") ?? "")
      ) {
        let parsed = parseChunked(this.#read, bodyStart, end);
        while (parsed === null) {
          end = await this.#fill(conn, end);
          parsed = parseChunked(this.#read, bodyStart, end);
        }
        body = decoder.decode(parsed);
      } else {
        for (;;) {
          try {
            end = await this.#fill(conn, end);
          } catch {
            break;
          }
        }
        body = decoder.decode(this.#read.subarray(bodyStart, end));
        this.close();
      }
    }
    if (closeAfter) this.close();
    return { status, head, body };
  }

  /** Reads more bytes after `end`, growing the buffer; returns the new end. */
  async #fill(conn: Deno.TcpConn, end: number): Promise<number> {
    if (end === this.#read.length) {
      const grown = new Uint8Array(this.#read.length * 2);
      grown.set(this.#read);
      this.#read = grown;
    }
    const n = await conn.read(this.#read.subarray(end));
    if (n === null) throw new Error("Connection closed by the server");
    return end + n;
  }
}
