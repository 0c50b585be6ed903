/**
 * Runs a command beside one throwaway PostgreSQL cluster, shared by every
 * test process it starts through `INTENTBUS_PG_URL` (instead of a cluster
 * per test module), then stops the cluster: `deno task test` wraps its
 * runs in it.
 *
 * ```text
 * deno run -A tests/with_postgres.ts <command> [args…]
 * ```
 *
 * @module
 */

import { startCluster } from "../storage/postgres/_cluster.ts";

if (import.meta.main) {
  const [cmd, ...args] = Deno.args;
  if (cmd === undefined) {
    console.error("usage: with_postgres.ts <command> [args…]");
    Deno.exit(2);
  }
  const cluster = startCluster();
  let code = 1;
  try {
    const child = new Deno.Command(cmd, {
      args,
      env: { INTENTBUS_PG_URL: cluster.url },
      stdin: "inherit",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
    code = (await child.status).code;
  } finally {
    cluster.stop();
  }
  Deno.exit(code);
}
