/**
 * Process signal listeners on Deno or Node, whichever runs the code.
 *
 * @module
 */

interface DenoSignals {
  addSignalListener(name: string, fn: () => void): void;
  removeSignalListener(name: string, fn: () => void): void;
}
interface NodeSignals {
  on(name: string, fn: () => void): unknown;
  off(name: string, fn: () => void): unknown;
}

/**
 * Calls `fn` on each of the named signals until the returned disposer runs.
 * Signals the platform does not support (SIGTERM on Windows) are skipped.
 *
 * @param names Signal names, such as `SIGINT`.
 * @param fn The listener.
 * @returns A function that removes every listener added.
 */
export function listenSignals(names: string[], fn: () => void): () => void {
  const g = globalThis as {
    Deno?: Partial<DenoSignals>;
    process?: Partial<NodeSignals>;
  };
  const removers: (() => void)[] = [];
  for (const name of names) {
    try {
      const deno = g.Deno;
      const node = g.process;
      if (deno?.addSignalListener && deno.removeSignalListener) {
        deno.addSignalListener(name, fn);
        removers.push(() => deno.removeSignalListener?.(name, fn));
      } else if (node?.on && node.off) {
        node.on(name, fn);
        removers.push(() => node.off?.(name, fn));
      }
    } catch {
      // Unsupported on this platform: the worker still stops on stop().
    }
  }
  return () => {
    for (const remove of removers) {
      try {
        remove();
      } catch {
        // Already removed.
      }
    }
  };
}
