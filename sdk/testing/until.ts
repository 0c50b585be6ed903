// Test helper: polls until a condition holds, failing after a deadline, so
// that tests wait for state instead of sleeping a fixed time.

/**
 * Resolves once `ok()` holds; rejects when it still does not after `ms`.
 *
 * @param ok The condition, sync or async.
 * @param what Names the awaited state in the error.
 * @param ms The deadline, 20,000 ms by default.
 */
export async function until(
  ok: () => boolean | Promise<boolean>,
  what: string,
  ms = 20_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) {
      throw new Error(`Not within ${ms} ms: ${what}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}
