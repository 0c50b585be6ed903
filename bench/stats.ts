/**
 * Latency statistics for the load generator: a fixed-memory histogram with
 * exact values below 1,024 µs and under 0.2% relative error above (the
 * HdrHistogram layout), plus named counters. Histograms merge, so several
 * load processes can report separately and be summed.
 *
 * @example
 * ```ts
 * import { Histogram } from "./stats.ts";
 *
 * const h = new Histogram();
 * for (const ms of [1, 2, 3, 4, 100]) h.record(ms);
 * console.log(h.percentile(50), h.percentile(99), h.max); // 3 100 100
 * ```
 *
 * @module
 */

/** Exact sub-buckets per power of two; 1,024 means values < 1,024 µs are exact. */
const SUB = 1024;
const SUB_BITS = 10;
/** Powers of two above SUB that are covered: up to about 2^44 µs (200 days). */
const RANGES = 35;

/** Summary of one histogram, in milliseconds. */
export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

function bucketOf(us: number): number {
  if (us < SUB) return us;
  const shift = Math.floor(Math.log2(us)) - SUB_BITS + 1;
  return SUB + (shift - 1) * (SUB / 2) +
    (Math.floor(us / 2 ** shift) - SUB / 2);
}

function valueOf(bucket: number): number {
  if (bucket < SUB) return bucket;
  const shift = Math.floor((bucket - SUB) / (SUB / 2)) + 1;
  const sub = (bucket - SUB) % (SUB / 2) + SUB / 2;
  return sub * 2 ** shift;
}

/**
 * A latency histogram in milliseconds with microsecond resolution. Memory is
 * fixed (about 70 KB) whatever the number of samples.
 */
export class Histogram {
  #counts = new Float64Array(SUB + RANGES * (SUB / 2));
  #count = 0;
  #sum = 0;
  #max = 0;

  /**
   * Records one latency.
   *
   * @param ms Milliseconds; negative values count as 0.
   */
  record(ms: number): void {
    const us = Math.max(0, Math.round(ms * 1000));
    const b = Math.min(bucketOf(us), this.#counts.length - 1);
    this.#counts[b]++;
    this.#count++;
    this.#sum += ms;
    if (ms > this.#max) this.#max = ms;
  }

  /** How many samples were recorded. */
  get count(): number {
    return this.#count;
  }

  /** The largest sample, exact, in milliseconds; 0 when empty. */
  get max(): number {
    return this.#max;
  }

  /** The mean, in milliseconds; 0 when empty. */
  get mean(): number {
    return this.#count === 0 ? 0 : this.#sum / this.#count;
  }

  /**
   * The nearest-rank percentile: the smallest recorded value (to bucket
   * precision, rounded down) with at least `p`% of samples at or below it.
   *
   * @param p A percentile in (0, 100].
   * @returns Milliseconds; 0 when empty. P100 is the exact maximum.
   * @throws {RangeError} when `p` is out of range.
   */
  percentile(p: number): number {
    if (!(p > 0 && p <= 100)) {
      throw new RangeError(`Percentile must be in (0, 100]: ${p}`);
    }
    if (this.#count === 0) return 0;
    if (p === 100) return this.#max;
    const rank = Math.ceil((p / 100) * this.#count);
    let seen = 0;
    for (let b = 0; b < this.#counts.length; b++) {
      seen += this.#counts[b];
      if (seen >= rank) return Math.min(valueOf(b) / 1000, this.#max);
    }
    return this.#max;
  }

  /**
   * Adds another histogram's samples into this one.
   *
   * @param other The histogram to merge; it is not changed.
   */
  merge(other: Histogram): void {
    const theirs = other.#counts;
    for (let b = 0; b < theirs.length; b++) this.#counts[b] += theirs[b];
    this.#count += other.#count;
    this.#sum += other.#sum;
    if (other.#max > this.#max) this.#max = other.#max;
  }

  /** @returns Count, P50, P90, P99, max and mean, in milliseconds. */
  summary(): LatencySummary {
    return {
      count: this.#count,
      p50: this.percentile(50),
      p90: this.percentile(90),
      p99: this.percentile(99),
      max: this.#max,
      mean: this.mean,
    };
  }

  /** @returns A compact JSON form for passing between processes. */
  toJSON(): { buckets: [number, number][]; sum: number; max: number } {
    const buckets: [number, number][] = [];
    this.#counts.forEach((c, b) => c > 0 && buckets.push([b, c]));
    return { buckets, sum: this.#sum, max: this.#max };
  }

  /**
   * Rebuilds a histogram from {@linkcode Histogram.toJSON}.
   *
   * @param json The output of `toJSON()`.
   * @returns The histogram.
   */
  static fromJSON(
    json: { buckets: [number, number][]; sum: number; max: number },
  ): Histogram {
    const h = new Histogram();
    for (const [b, c] of json.buckets) {
      h.#counts[b] += c;
      h.#count += c;
    }
    h.#sum = json.sum;
    h.#max = json.max;
    return h;
  }
}

/** Named integer counters, such as errors by kind. */
export class Counters {
  #map = new Map<string, number>();

  /**
   * Adds to a counter.
   *
   * @param name The counter.
   * @param by How much; 1 by default.
   */
  add(name: string, by = 1): void {
    this.#map.set(name, (this.#map.get(name) ?? 0) + by);
  }

  /**
   * @param name The counter.
   * @returns Its value; 0 when never added to.
   */
  get(name: string): number {
    return this.#map.get(name) ?? 0;
  }

  /** @param other Counters to add into these. */
  merge(other: Counters): void {
    for (const [k, v] of other.#map) this.add(k, v);
  }

  /** @returns The counters as a plain object, keys sorted. */
  toJSON(): Record<string, number> {
    return Object.fromEntries(
      [...this.#map].sort(([a], [b]) => a < b ? -1 : 1),
    );
  }
}
