/**
 * A real TCP proxy on 127.0.0.1 (port 0) in front of a server, for tests
 * that need a stalled or cut connection: requests whose request line holds a
 * given path can be held (the connection then forwards nothing until
 * {@linkcode TcpProxy.pass}) or cut (the connection closes without the
 * request reaching the server).
 *
 * It reads each chunk from the client as the start of a request when it
 * begins with a request line, as fetch sends one request at a time per
 * connection.
 *
 * @example
 * ```ts ignore
 * import { startTcpProxy } from "./tcp_proxy.ts";
 *
 * await using proxy = await startTcpProxy("http://127.0.0.1:8080");
 * proxy.stall("/extend_claim/"); // heartbeats now hang
 * console.log(proxy.url);
 * ```
 *
 * @module
 */

/** A running proxy. */
export interface TcpProxy extends AsyncDisposable {
  /** The proxy's base URL, such as `http://127.0.0.1:40123`. */
  url: string;
  /** Holds every later request whose request line contains `path`. */
  stall(path: string): void;
  /**
   * Closes the connection of each of the next `count` requests whose
   * request line contains `path`, before the server sees them.
   */
  cut(path: string, count: number): void;
  /** Stops stalling and cutting; held requests go on to the server. */
  pass(): void;
  /**
   * Sends new connections to another server and cuts the open ones, as a
   * server restart would.
   */
  retarget(target: string): void;
  /** Requests seen so far whose request line (`POST /ack HTTP/1.1`) contains `path`. */
  seen(path: string): number;
  /** Closes the listener and every connection. */
  close(): Promise<void>;
}

const LINE = /^(GET|POST|PUT|DELETE|PATCH|HEAD|OPTIONS) \S+ HTTP\/[\d.]+/;

interface Link {
  client: Deno.Conn;
  server: Deno.Conn;
  /** Chunks held from the client while stalled; null when flowing. */
  held: Uint8Array[] | null;
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) at += await conn.write(bytes.slice(at));
}

/**
 * Starts a proxy to `target`.
 *
 * @param target The server's base URL (http, on this machine).
 * @returns The running proxy.
 */
export function startTcpProxy(target: string): Promise<TcpProxy> {
  let to = new URL(target);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const links = new Set<Link>();
  const tasks = new Set<Promise<void>>();
  const lines: string[] = [];
  let stalled: string | undefined;
  let cutPath: string | undefined;
  let cuts = 0;
  const track = (p: Promise<void>) => {
    const t = p.catch(() => {}).finally(() => tasks.delete(t));
    tasks.add(t);
  };
  const end = (link: Link) => {
    links.delete(link);
    for (const c of [link.client, link.server]) {
      try {
        c.close();
      } catch {
        // Already closed.
      }
    }
  };
  const upstream = async (link: Link) => {
    const buf = new Uint8Array(64 * 1024);
    for (;;) {
      const n = await link.client.read(buf);
      if (n === null) break;
      const chunk = buf.slice(0, n);
      const head = new TextDecoder().decode(chunk.subarray(0, 2048));
      const line = LINE.exec(head)?.[0];
      if (line !== undefined) {
        lines.push(line);
        if (cutPath !== undefined && cuts > 0 && line.includes(cutPath)) {
          cuts--;
          break;
        }
        if (stalled !== undefined && line.includes(stalled)) link.held = [];
      }
      if (link.held) link.held.push(chunk);
      else await writeAll(link.server, chunk);
    }
    end(link);
  };
  const downstream = async (link: Link) => {
    const buf = new Uint8Array(64 * 1024);
    for (;;) {
      const n = await link.server.read(buf);
      if (n === null) break;
      await writeAll(link.client, buf.slice(0, n));
    }
    end(link);
  };
  track((async () => {
    for await (const client of listener) {
      const server = await Deno.connect({
        hostname: to.hostname === "localhost" ? "127.0.0.1" : to.hostname,
        port: Number(to.port),
      }).catch(() => undefined);
      if (!server) {
        client.close();
        continue;
      }
      const link: Link = { client, server, held: null };
      links.add(link);
      track(upstream(link));
      track(downstream(link));
    }
  })());
  let closed: Promise<void> | undefined;
  const close = () =>
    closed ??= (async () => {
      try {
        listener.close();
      } catch {
        // Already closed.
      }
      for (const link of [...links]) end(link);
      while (tasks.size > 0) await Promise.all([...tasks]);
    })();
  return Promise.resolve({
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    stall(path) {
      stalled = path;
    },
    cut(path, count) {
      cutPath = path;
      cuts = count;
    },
    pass() {
      stalled = undefined;
      cuts = 0;
      for (const link of links) {
        const held = link.held;
        link.held = null;
        if (held) {
          track((async () => {
            for (const chunk of held) await writeAll(link.server, chunk);
          })());
        }
      }
    },
    retarget(target) {
      to = new URL(target);
      for (const link of [...links]) end(link);
    },
    seen: (path) => lines.filter((l) => l.includes(path)).length,
    close,
    [Symbol.asyncDispose]: close,
  });
}
