/**
 * `deno bench` over the four profiles, each against a freshly spawned
 * server (`server/main.ts --dev`) with real concurrent HTTP workers. One
 * iteration per bench keeps `deno task bench` to a few minutes; the runner
 * (`deno task profiles`) gives the full figures and counters.
 *
 * @module
 */

import { PROFILES, runProfile } from "./profiles.ts";
import { withBusServer } from "./server_process.ts";

for (const name of Object.keys(PROFILES)) {
  Deno.bench({
    name: `profile ${name} (${PROFILES[name].workers} workers, ${
      PROFILES[name].intents
    } intents)`,
    group: "profiles",
    baseline: name === "low",
    n: 1,
    warmup: 0,
    async fn(b) {
      // Spawning the server is outside the timed part.
      const r = await withBusServer(async (server) => {
        b.start();
        const r = await runProfile({ profile: name, target: server });
        b.end();
        return r;
      });
      if (r.lost > 0 || r.duplicateDeliveries > 0) {
        throw new Error(
          `Profile ${name}: ${r.lost} lost, ${r.duplicateDeliveries} duplicates`,
        );
      }
    },
  });
}
