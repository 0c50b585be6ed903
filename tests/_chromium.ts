/**
 * A real headless Chromium for tests, driven over the Chrome DevTools
 * Protocol with Deno's own `WebSocket`: no npm package, no downloaded
 * browser. It uses Debian's `chromium` (`/usr/bin/chromium`, or `CHROMIUM`);
 * `sh tests/setup_system.sh` installs it, and `deno task ci` runs that
 * first.
 *
 * @module
 */

/** Where Chromium is looked for. */
export const CHROMIUM = Deno.env.get("CHROMIUM") ?? "/usr/bin/chromium";

// As the machine notes say: without the background-networking flags,
// Chromium's own connections are refused by the closed network.
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--remote-debugging-port=0",
];

/** One page's DevTools session. */
export interface Page {
  /** Sends a command; resolves with its result, rejects with its error. */
  send(
    method: string,
    params?: Record<string, unknown>,
  ): Promise<Record<string, unknown>>;
  /** Every event of this name, from now on. */
  on(event: string, fn: (params: Record<string, unknown>) => void): void;
  /** The next event of this name. */
  next(event: string, timeoutMs?: number): Promise<Record<string, unknown>>;
}

/**
 * Evaluates `expression` in the page and returns its value; an exception in
 * the page rejects with its text.
 *
 * @param page The page.
 * @param expression JavaScript, evaluated as an expression.
 * @returns The value, by JSON.
 */
export async function evaluate(
  page: Page,
  expression: string,
): Promise<unknown> {
  const r = await page.send("Runtime.evaluate", {
    expression,
    returnByValue: true,
  }) as {
    result: { value?: unknown };
    exceptionDetails?: { exception?: { description?: string }; text: string };
  };
  if (r.exceptionDetails) {
    const e = r.exceptionDetails;
    throw new Error(`In the page: ${e.exception?.description ?? e.text}`);
  }
  return r.result.value;
}

/**
 * Waits until `expression` is truthy in the page (polled), so a test reads
 * the document it navigated to, not one still being replaced.
 *
 * @param page The page.
 * @param expression JavaScript, evaluated as an expression.
 * @param ms Deadline.
 */
export async function waitFor(
  page: Page,
  expression: string,
  ms = 20_000,
): Promise<void> {
  await until(expression, async () => {
    return (await evaluate(page, expression)) ? true : undefined;
  }, ms);
}

/** A running Chromium with one page. */
export interface Chromium extends AsyncDisposable {
  page: Page;
  close(): Promise<void>;
}

async function until<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  ms = 20_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`Chromium: timed out waiting for ${what}`);
}

/**
 * Starts Chromium on a fresh profile and connects to its first page.
 *
 * @returns The browser; `close()` (or `await using`) ends it.
 * @throws {Error} when Chromium is not installed.
 */
export async function launchChromium(): Promise<Chromium> {
  if (!(await Deno.stat(CHROMIUM).catch(() => null))) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}: run "sh tests/setup_system.sh" (Debian's chromium) or set CHROMIUM`,
    );
  }
  const profile = await Deno.makeTempDir({ prefix: "intentbus_chromium_" });
  const child = new Deno.Command(CHROMIUM, {
    args: [...FLAGS, `--user-data-dir=${profile}`, "about:blank"],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const close = async () => {
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
    await child.status;
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  };
  try {
    // Chromium writes its DevTools port as the first line of this file.
    const port = await until("DevToolsActivePort", async () => {
      const text = await Deno.readTextFile(`${profile}/DevToolsActivePort`);
      const n = Number(text.split("\n")[0]);
      return n > 0 ? n : undefined;
    });
    const target = await until("a page target", async () => {
      const res = await fetch(`http://127.0.0.1:${port}/json/list`);
      const list = await res.json() as {
        type: string;
        webSocketDebuggerUrl: string;
      }[];
      return list.find((t) => t.type === "page");
    });
    const page = await connect(target.webSocketDebuggerUrl);
    const closeAll = async () => {
      const closed = new Promise((r) => page.ws.onclose = r);
      page.ws.close();
      await closed;
      await close();
    };
    return { page, close: closeAll, [Symbol.asyncDispose]: closeAll };
  } catch (err) {
    await close();
    throw err;
  }
}

async function connect(url: string): Promise<Page & { ws: WebSocket }> {
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error(`Chromium: cannot connect to ${url}`));
  });
  let id = 0;
  const pending = new Map<
    number,
    {
      resolve: (v: Record<string, unknown>) => void;
      reject: (e: Error) => void;
    }
  >();
  const listeners = new Map<string, ((p: Record<string, unknown>) => void)[]>();
  ws.onmessage = (e) => {
    const msg = JSON.parse(e.data);
    if (msg.id !== undefined) {
      const p = pending.get(msg.id);
      pending.delete(msg.id);
      if (msg.error) p?.reject(new Error(`${msg.error.message}`));
      else p?.resolve(msg.result);
      return;
    }
    for (const fn of listeners.get(msg.method) ?? []) fn(msg.params);
  };
  const on = (event: string, fn: (p: Record<string, unknown>) => void) => {
    listeners.set(event, [...(listeners.get(event) ?? []), fn]);
  };
  return {
    ws,
    send: (method, params = {}) =>
      new Promise((resolve, reject) => {
        pending.set(++id, { resolve, reject });
        ws.send(JSON.stringify({ id, method, params }));
      }),
    on,
    next: (event, timeoutMs = 20_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`Chromium: no ${event} in ${timeoutMs} ms`)),
          timeoutMs,
        );
        let done = false;
        on(event, (p) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          resolve(p);
        });
      }),
  };
}
