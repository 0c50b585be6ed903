/**
 * The SDK is plain web-platform code: bundled, it runs under Node 20+ (global
 * fetch, WebCrypto) against the real server, signing included.
 */
import assert from "node:assert/strict";
import { startBusServer } from "./testing/bus_server.ts";
import { scriptedServer } from "./testing/scripted_server.ts";

const hasNode = await which("node");

/** Bundles sdk/mod.ts into `dir`, answering the bundle's file URL. */
async function bundleSdk(dir: string): Promise<string> {
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
  return `file://${bundle}`;
}

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
  ignore: !hasNode,
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

Deno.test({
  name: "under Node, SIGTERM makes a worker release its leases and exit",
  ignore: !hasNode,
  async fn() {
    const ids = ["1", "2"].map((x) => x.repeat(32));
    let next = 0;
    await using server = scriptedServer((r) => {
      if (r.url.pathname === "/health") {
        return Response.json({ ok: true, features: ["release"] });
      }
      if (r.url.pathname === "/claim" && next < ids.length) {
        const id = ids[next++];
        return Response.json({
          id,
          goal: "g",
          payload: null,
          claim_token: `t-${id}`,
        });
      }
      if (r.url.pathname === "/claim") {
        return new Response(null, {
          status: 204,
          headers: { "Retry-After": "0.05" },
        });
      }
      return Response.json({ ok: true });
    });
    const dir = await Deno.makeTempDir({ prefix: "intentbus-node-" });
    try {
      const bundle = await bundleSdk(dir);
      const child = new Deno.Command("node", {
        args: [
          new URL("./testing/node_sigterm.mjs", import.meta.url).pathname,
          bundle,
          server.url,
          "k",
          "2",
          "500",
        ],
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      const reader = child.stdout.pipeThrough(new TextDecoderStream())
        .getReader();
      let out = "";
      while (!out.includes('"ready"')) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`Node worker exited early: ${out}`);
        out += value;
      }
      child.kill("SIGTERM");
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        out += value;
      }
      assert.equal((await child.status).code, 0);
      const stats = JSON.parse(out.trim().split("\n").at(-1)!).stopped;
      assert.equal(stats.released, 2);
      const released = server.requests.filter((r) =>
        r.url.pathname.startsWith("/release/")
      );
      assert.equal(released.length, 2);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
