/**
 * Small helpers around `AbortSignal` that work on Node 20 and Deno alike.
 *
 * @module
 */

/**
 * Waits `ms` milliseconds, or rejects with the signal's reason when it aborts
 * first. The timer never outlives the wait.
 *
 * @param ms Milliseconds to wait.
 * @param signal Cancels the wait.
 * @returns A promise that resolves after the wait.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** A signal that aborts when any source aborts, and a way to detach it. */
export interface LinkedSignal {
  /** Aborts with the first source's reason, or when `timeoutMs` passes. */
  signal: AbortSignal;
  /** Detaches from the sources and clears the timer. */
  dispose(): void;
}

/**
 * Links an optional caller signal with a timeout. When the timeout fires, the
 * reason is a `DOMException` named `TimeoutError`.
 *
 * @param source The caller's signal, if any.
 * @param timeoutMs Milliseconds before aborting; 0 or less for no timeout.
 * @returns The linked signal and its disposer.
 */
export function linkSignal(
  source: AbortSignal | undefined,
  timeoutMs: number,
): LinkedSignal {
  const controller = new AbortController();
  const onAbort = () => controller.abort(source?.reason);
  if (source?.aborted) onAbort();
  else source?.addEventListener("abort", onAbort, { once: true });
  const timer = timeoutMs > 0
    ? setTimeout(() =>
      controller.abort(
        new DOMException(`Timed out after ${timeoutMs} ms`, "TimeoutError"),
      ), timeoutMs)
    : undefined;
  return {
    signal: controller.signal,
    dispose() {
      clearTimeout(timer);
      source?.removeEventListener("abort", onAbort);
    },
  };
}

/**
 * Waits for `work`, at most `ms` milliseconds or until `hurry` fires. The
 * timer never outlives the wait.
 *
 * @param work What to wait for.
 * @param ms Longest wait.
 * @param hurry Ends the wait early.
 * @returns False when `work` settled first, true when time ran out.
 */
export async function outlasts(
  work: Promise<unknown>,
  ms: number,
  hurry: AbortSignal,
): Promise<boolean> {
  const timer = new AbortController();
  const end = () => timer.abort();
  if (hurry.aborted) end();
  else hurry.addEventListener("abort", end, { once: true });
  try {
    return await Promise.race([
      work.then(() => false),
      sleep(ms, timer.signal).then(() => true, () => true),
    ]);
  } finally {
    timer.abort();
    hurry.removeEventListener("abort", end);
  }
}
