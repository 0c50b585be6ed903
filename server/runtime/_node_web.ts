// Light web objects for the Node listener. On Node 20 building an undici
// `Request` (headers, abort signal, body stream) and a `Response` (body
// stream), then reading the response back through its stream, cost more
// CPU than the app itself (profiled in npm-build/README.md). These classes
// keep what the listener already has (Node's headers, the body bytes, the
// response's body and init) and build the real object only when something
// asks for a part they do not cover. They inherit from the real prototypes,
// so `instanceof Request` / `instanceof Response` / `instanceof Headers` hold.

const RealRequest = globalThis.Request;
const RealResponse = globalThis.Response;

type NodeHeaderValue = string | string[] | undefined;

/** Read-mostly request headers over Node's lower-cased header object. */
class LightHeaders {
  #h: Record<string, NodeHeaderValue>;
  #real: Headers | undefined;

  constructor(h: Record<string, NodeHeaderValue>) {
    this.#h = h;
  }

  #materialize(): Headers {
    if (!this.#real) {
      this.#real = new Headers();
      for (const [k, v] of Object.entries(this.#h)) {
        if (v === undefined) continue;
        for (const one of Array.isArray(v) ? v : [v]) this.#real.append(k, one);
      }
    }
    return this.#real;
  }

  get(name: string): string | null {
    if (this.#real) return this.#real.get(name);
    const v = this.#h[name.toLowerCase()];
    if (v === undefined) return null;
    return Array.isArray(v) ? v.join(", ") : v;
  }

  has(name: string): boolean {
    return this.get(name) !== null;
  }

  set(name: string, value: string): void {
    this.#materialize().set(name, value);
  }

  append(name: string, value: string): void {
    this.#materialize().append(name, value);
  }

  delete(name: string): void {
    this.#materialize().delete(name);
  }

  getSetCookie(): string[] {
    return this.#materialize().getSetCookie();
  }

  forEach(fn: (value: string, key: string, parent: Headers) => void): void {
    const real = this.#materialize();
    real.forEach((v, k) => fn(v, k, this as unknown as Headers));
  }

  entries(): IterableIterator<[string, string]> {
    return this.#materialize().entries();
  }

  keys(): IterableIterator<string> {
    return this.#materialize().keys();
  }

  values(): IterableIterator<string> {
    return this.#materialize().values();
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.#materialize().entries();
  }
}
Object.setPrototypeOf(LightHeaders.prototype, Headers.prototype);

const REAL = Symbol("real");

/** Defines, for each member of `proto` the light class lacks, a getter that forwards to the real object. */
function forwardMissing(light: object, proto: object): void {
  for (const name of Object.getOwnPropertyNames(proto)) {
    if (name in light || name === "constructor") continue;
    Object.defineProperty(light, name, {
      get(this: { [REAL](): object }) {
        const real = this[REAL]() as Record<string, unknown>;
        const v = real[name];
        return typeof v === "function" ? v.bind(real) : v;
      },
    });
  }
}

/**
 * A request from Node's parsed head and the body bytes already read. The
 * app reads `method`, `url`, `headers` and the body (`arrayBuffer`, `text`,
 * `json`, or `body`); anything else builds the real `Request`.
 */
export class LightRequest {
  #method: string;
  #url: string;
  #rawHeaders: Record<string, NodeHeaderValue>;
  #headers: LightHeaders | undefined;
  #bytes: Uint8Array | null;
  #used = false;
  #stream: ReadableStream<Uint8Array> | undefined;
  #real: Request | undefined;
  #makeSignal: () => AbortSignal;
  #signal: AbortSignal | undefined;

  /**
   * Wraps what the Node listener read.
   *
   * @param method The request method.
   * @param url The absolute URL.
   * @param headers Node's `IncomingMessage.headers`.
   * @param bytes The whole body; null when there is none.
   * @param signal Makes the signal that aborts when the client goes away.
   */
  constructor(
    method: string,
    url: string,
    headers: Record<string, NodeHeaderValue>,
    bytes: Uint8Array | null,
    signal: () => AbortSignal,
  ) {
    this.#method = method;
    this.#url = url;
    this.#rawHeaders = headers;
    this.#bytes = method === "GET" || method === "HEAD" ? null : bytes;
    this.#makeSignal = signal;
  }

  /** The real request, without the body (the light one owns it). */
  [REAL](): Request {
    return this.#real ??= new RealRequest(this.#url, {
      method: this.#method,
      headers: this.headers,
      signal: this.signal,
    });
  }

  /**
   * Aborts when the client goes away before the response is sent; made on
   * first use, as few requests ask (a long poll does).
   */
  get signal(): AbortSignal {
    return this.#signal ??= this.#makeSignal();
  }

  /** The request method. */
  get method(): string {
    return this.#method;
  }

  /** The absolute URL. */
  get url(): string {
    return this.#url;
  }

  /** The request headers, read from Node's header object. */
  get headers(): Headers {
    return (this.#headers ??= new LightHeaders(
      this.#rawHeaders,
    )) as unknown as Headers;
  }

  /**
   * A one-chunk stream, made on first use (`readBody` tests it for null);
   * reading it uses the body, and so does reading the body another way.
   */
  get body(): ReadableStream<Uint8Array> | null {
    if (this.#bytes === null) return null;
    if (this.#stream === undefined) {
      const take = () => this.#take();
      this.#stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          const bytes = take();
          if (bytes && bytes.length > 0) controller.enqueue(bytes);
          controller.close();
        },
      });
    }
    return this.#stream;
  }

  /** Whether the body was read. */
  get bodyUsed(): boolean {
    return this.#used;
  }

  /** The bytes, once; null once used. */
  #take(): Uint8Array | null {
    if (this.#used) return null;
    this.#used = true;
    return this.#bytes;
  }

  /** Reads the body, once. @returns Its bytes. */
  arrayBuffer(): Promise<ArrayBuffer> {
    if (this.#used || this.#stream?.locked) {
      return Promise.reject(new TypeError("Body is unusable"));
    }
    const b = this.#take();
    if (b === null) return Promise.resolve(new ArrayBuffer(0));
    return Promise.resolve(
      b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer,
    );
  }

  /** Reads the body, once. @returns Its bytes. */
  bytes(): Promise<Uint8Array> {
    return this.arrayBuffer().then((b) => new Uint8Array(b));
  }

  /** Reads the body, once. @returns It as UTF-8 text. */
  text(): Promise<string> {
    return this.arrayBuffer().then((b) => new TextDecoder().decode(b));
  }

  /** Reads the body, once. @returns It parsed as JSON. */
  json(): Promise<unknown> {
    return this.text().then((t) => JSON.parse(t));
  }
}
forwardMissing(LightRequest.prototype, RealRequest.prototype);
Object.setPrototypeOf(LightRequest.prototype, RealRequest.prototype);

/** A response body the listener can write without reading a stream. */
export type DirectBody = string | Uint8Array | null;

/**
 * A response that keeps its body and init, builds its `Headers` on first
 * use and the real `Response` only when something reads it as one.
 * Installed as the global `Response` by {@linkcode installLightResponse}.
 */
export class LightResponse {
  #body: BodyInit | null;
  #init: ResponseInit | undefined;
  #headers: Headers | undefined;
  #real: Response | undefined;

  /** Real responses (from `fetch`) are instances too. */
  static [Symbol.hasInstance](value: unknown): boolean {
    return value instanceof RealResponse;
  }

  /**
   * Keeps the body and init; builds nothing yet.
   *
   * @param body As for `Response`.
   * @param init As for `Response`.
   */
  constructor(body?: BodyInit | null, init?: ResponseInit) {
    this.#body = body ?? null;
    this.#init = init;
  }

  /** The real response, with the same body, status and headers. */
  [REAL](): Response {
    return this.#real ??= new RealResponse(this.#body, {
      status: this.status,
      statusText: this.statusText,
      headers: this.headers,
    });
  }

  /** The status code; default 200. */
  get status(): number {
    return this.#init?.status ?? 200;
  }

  /** The status text. */
  get statusText(): string {
    return this.#init?.statusText ?? "";
  }

  /** Whether the status is 2xx. */
  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  /** The response headers, built on first use from the init. */
  get headers(): Headers {
    if (!this.#headers) {
      this.#headers = new Headers(this.#init?.headers);
      if (
        typeof this.#body === "string" && !this.#headers.has("content-type")
      ) {
        this.#headers.set("content-type", "text/plain;charset=UTF-8");
      }
    }
    return this.#headers;
  }

  /**
   * The body of a light response when it is a string, bytes or absent and
   * nothing read it yet; undefined otherwise (and for real responses, which
   * `instanceof` cannot tell apart, see `Symbol.hasInstance`).
   */
  static directBodyOf(r: unknown): DirectBody | undefined {
    return r !== null && typeof r === "object" && #body in r
      ? (r as LightResponse).directBody()
      : undefined;
  }

  /** The body when it is a string, bytes or absent, before any read. */
  directBody(): DirectBody | undefined {
    if (this.#real) return undefined;
    const b = this.#body;
    if (b === null || typeof b === "string" || b instanceof Uint8Array) {
      return b;
    }
    return undefined;
  }
}
forwardMissing(LightResponse.prototype, RealResponse.prototype);
Object.setPrototypeOf(LightResponse.prototype, RealResponse.prototype);
for (const name of ["json", "error", "redirect"] as const) {
  Object.defineProperty(LightResponse, name, {
    value: (RealResponse[name] as (...a: unknown[]) => Response).bind(
      RealResponse,
    ),
  });
}

/**
 * Makes `LightResponse` the global `Response` (once; Hono builds its
 * responses with the global). Real responses, such as those `fetch`
 * returns, are still `instanceof Response`.
 */
export function installLightResponse(): void {
  if (globalThis.Response !== RealResponse) return;
  Object.defineProperty(globalThis, "Response", {
    value: LightResponse,
    writable: true,
    configurable: true,
  });
}
