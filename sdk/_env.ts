/**
 * Reads one environment variable on Deno, Node or Bun without throwing.
 *
 * @module
 */

interface DenoEnv {
  env: { get(name: string): string | undefined };
}
interface NodeProcess {
  env: Record<string, string | undefined>;
}

/**
 * The value of an environment variable, or undefined when it is unset or
 * cannot be read (Deno without `--allow-env`, a browser).
 *
 * @param name The variable name.
 * @returns Its value, or undefined.
 */
export function readEnv(name: string): string | undefined {
  const g = globalThis as { Deno?: DenoEnv; process?: NodeProcess };
  try {
    if (g.Deno?.env) return g.Deno.env.get(name) ?? undefined;
    return g.process?.env?.[name] ?? undefined;
  } catch {
    // Deno throws NotCapable without env permission: treat as unset.
    return undefined;
  }
}
