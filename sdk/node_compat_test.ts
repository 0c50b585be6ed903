/**
 * The SDK is plain web-platform code: bundled, it runs under Node 20+ (global
 * fetch, WebCrypto) against the real server, signing included.
 */
import assert from "node:assert/strict";
import { startBusServer } from "./testing/bus_server.ts";

async function which(cmd: string): Promise<boolean> {
  try {
    const { success } = await new Deno.Command(cmd, {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } catch {
    return false;
  }
}

Deno.test({
  name: "a bundle of the SDK works under Node against the real server",
  ignore: !(await which("node")),
  async fn() {
    await using bus = await startBusServer();
    const dir = await Deno.makeTempDir({ prefix: "intentbus-node-" });
    try {
      const bundle = `${dir}/sdk.mjs`;
      const built = await new Deno.Command(Deno.execPath(), {
        args: [
          "bundle",
          "--platform",
          "browser",
          "--keep-names",
          new URL("./mod.ts", import.meta.url).pathname,
          "-o",
          bundle,
        ],
        stdout: "null",
        stderr: "piped",
      }).output();
      assert.ok(built.success, new TextDecoder().decode(built.stderr));
      const run = await new Deno.Command("node", {
        args: [
          new URL("./testing/node_smoke.mjs", import.meta.url).pathname,
          `file://${bundle}`,
          bus.url,
          bus.masterKey,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.ok(run.success, new TextDecoder().decode(run.stderr));
      const found = JSON.parse(new TextDecoder().decode(run.stdout).trim());
      assert.equal(found.stats.fulfilled, 10);
      assert.equal(found.lost, true);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
