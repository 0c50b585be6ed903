/**
 * Request counters and a latency histogram, kept by the app in memory and
 * rendered by `GET /metrics`. Routes are labelled by their first path
 * segment (`/claim`, `/fulfill`, `/admin`), and methods outside the usual
 * seven as `other`, so no client can grow the label set.
 *
 * @example
 * ```ts
 * import { RequestMetrics } from "./request_metrics.ts";
 *
 * const m = new RequestMetrics();
 * m.observe("/claim/x", "POST", 204, 0.8);
 * console.log(m.render().includes('route="/claim"')); // true
 * ```
 *
 * @module
 */

const KNOWN = new Set([
  "/",
  "/health",
  "/intent",
  "/claim",
  "/extend_claim",
  "/fulfill",
  "/fail",
  "/status",
  "/result",
  "/set",
  "/get",
  "/metrics",
  "/admin",
  // The extensions' routes.
  "/intents",
  "/ack",
  "/release",
  "/openapi.json",
]);

/** Methods kept as labels; any other is counted as `other`. */
const METHODS = new Set([
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "PATCH",
  "DELETE",
  "OPTIONS",
]);

/** Upper bounds of the latency buckets, in seconds. */
export const LATENCY_BUCKETS = [
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
];

/** Counts requests by route, method and status, and their latency. */
export class RequestMetrics {
  #counts = new Map<string, number>();
  #buckets = new Array<number>(LATENCY_BUCKETS.length).fill(0);
  #sum = 0;
  #n = 0;

  /**
   * Records one request.
   *
   * @param path The request path.
   * @param method The HTTP method.
   * @param status The response status.
   * @param ms How long it took, in milliseconds.
   */
  observe(path: string, method: string, status: number, ms: number): void {
    const slash = path.indexOf("/", 1);
    let route = slash === -1 ? path : path.slice(0, slash);
    if (!KNOWN.has(route)) route = "other";
    // Any token is a method on the wire: a client must not add label values.
    const m = METHODS.has(method) ? method : "other";
    const key = `${route} ${m} ${status}`;
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
    const s = ms / 1000;
    for (let i = 0; i < LATENCY_BUCKETS.length; i++) {
      if (s <= LATENCY_BUCKETS[i]) {
        this.#buckets[i]++;
        break;
      }
    }
    this.#sum += s;
    this.#n++;
  }

  /**
   * Renders the counters in the Prometheus text format.
   *
   * @returns Lines ending in a newline.
   */
  render(): string {
    const lines = [
      "# HELP intent_bus_http_requests_total HTTP requests by route, method and status.",
      "# TYPE intent_bus_http_requests_total counter",
    ];
    for (const [key, n] of this.#counts) {
      const [route, method, status] = key.split(" ");
      lines.push(
        `intent_bus_http_requests_total{route="${route}",method="${method}",status="${status}"} ${n}`,
      );
    }
    lines.push(
      "# HELP intent_bus_http_request_duration_seconds Time to answer a request.",
      "# TYPE intent_bus_http_request_duration_seconds histogram",
    );
    let cumulative = 0;
    LATENCY_BUCKETS.forEach((le, i) => {
      cumulative += this.#buckets[i];
      lines.push(
        `intent_bus_http_request_duration_seconds_bucket{le="${le}"} ${cumulative}`,
      );
    });
    lines.push(
      `intent_bus_http_request_duration_seconds_bucket{le="+Inf"} ${this.#n}`,
      `intent_bus_http_request_duration_seconds_sum ${this.#sum}`,
      `intent_bus_http_request_duration_seconds_count ${this.#n}`,
    );
    return lines.join("\n") + "\n";
  }
}
