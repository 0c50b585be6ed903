import { storageConformance } from "../testing/mod.ts";
import { openTempPgStore } from "./_temp.ts";

// The whole suite, each case in a fresh schema of a throwaway cluster.
storageConformance(
  "postgres",
  async () => (await openTempPgStore({ poolSize: 4 })).store,
);
