import assert from "node:assert/strict";
import { runCli } from "./_testing.ts";

Deno.test("a server URL no request could reach (bad port, unparseable, not http) is a usage error, exit 2, from --url or INTENT_BUS_URL", async () => {
  for (
    const url of [
      "http://127.0.0.1:99999",
      "http://[bad",
      "ftp://127.0.0.1:1",
      "http://127.0.0.1:8080x",
    ]
  ) {
    const flag = await runCli(["status", "0".repeat(32), "--url", url], {
      INTENT_API_KEY: "k",
    });
    assert.equal(flag.code, 2, `${url}: ${flag.stderr}`);
    assert.match(flag.stderr, /Invalid --url: /, url);
  }
  const env = await runCli(["status", "0".repeat(32)], {
    INTENT_API_KEY: "k",
    INTENT_BUS_URL: "http://127.0.0.1:99999",
  });
  assert.equal(env.code, 2, env.stderr);
  assert.match(
    env.stderr,
    /Invalid INTENT_BUS_URL: "http:\/\/127.0.0.1:99999"/,
  );
});
