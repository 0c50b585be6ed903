import { storageConformance } from "../testing/mod.ts";
import { openTempStore } from "./_temp.ts";
import { DRIVERS } from "./drivers/mod.ts";

// Every registered driver runs the whole suite on a temp WAL file.
for (const driver of Object.keys(DRIVERS)) {
  storageConformance(
    `sqlite:${driver}`,
    async () => (await openTempStore({ driver })).store,
  );
}
