import assert from "node:assert/strict";
import { migratedSchema } from "./schema_snapshot.ts";

Deno.test("schema.sql matches what the migrations produce", async () => {
  const committed = await Deno.readTextFile(
    new URL("./schema.sql", import.meta.url),
  );
  assert.equal(
    migratedSchema(),
    committed,
    "Migrations drifted from storage/sqlite/schema.sql. If the change is " +
      "intended, regenerate it: deno run -A storage/sqlite/schema_snapshot.ts" +
      " > storage/sqlite/schema.sql",
  );
});
