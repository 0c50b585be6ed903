import assert from "node:assert/strict";
import { startServer } from "./_server.ts";

const SCRIPT = new URL("./python_client.py", import.meta.url).pathname;

function hasPython(): boolean {
  try {
    return new Deno.Command("python3", { args: ["--version"] }).outputSync()
      .success;
  } catch {
    return false;
  }
}

Deno.test({
  name:
    "a client signing like the Python SDK 2.x works unchanged over real HTTP",
  ignore: !hasPython(),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "intentbus-py-" });
    const server = await startServer(`${dir}/bus.db`);
    try {
      const out = await new Deno.Command("python3", {
        args: [SCRIPT, server.url, "e2e-master"],
      }).output();
      const text = new TextDecoder().decode(out.stdout) +
        new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, text);
      assert.match(text, /^OK$/m);
    } finally {
      assert.equal(await server.stop(), 0);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
