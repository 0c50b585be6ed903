// The command-line plumbing the bench tools share: one way to end on an
// error (as `run_profiles.ts` always has) and to read a count from a flag.

/**
 * Runs a tool's `main` and exits with the code it returns; what it throws
 * (a bad flag or value, a revision git does not know) is printed as one
 * line, `error: <message>`, with exit code 2, instead of a stack.
 *
 * @param main The tool, given its arguments.
 */
export async function runMain(
  main: (args: string[]) => number | Promise<number>,
): Promise<never> {
  let code: number;
  try {
    code = await main(Deno.args);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    // parseArgs explains some refusals over three lines.
    console.error(`error: ${message.trim().split(/\s*\n\s*/).join(" ")}`);
    code = 2;
  }
  Deno.exit(code);
}

/**
 * Reads a whole number of at least `min` from a flag's text.
 *
 * @param name The flag, without its dashes.
 * @param text What was given.
 * @param min The least it may be; 1 by default.
 * @returns The number.
 * @throws {RangeError} for anything else, naming the flag and the text.
 */
export function countFlag(name: string, text: string, min = 1): number {
  const n = Number(text);
  if (text.trim() === "" || !Number.isInteger(n) || n < min) {
    throw new RangeError(
      `Invalid --${name}: "${text}" (a whole number, at least ${min})`,
    );
  }
  return n;
}
