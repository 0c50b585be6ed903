import assert from "node:assert/strict";
import { parseStartLine, processUsage } from "./server_process.ts";

Deno.test("parseStartLine reads our server's key line and listening line", () => {
  assert.deepEqual(
    parseStartLine('{"level":"warn","master_key":"ib_abc","admin_token":"x"}'),
    { url: "", key: "ib_abc" },
  );
  assert.deepEqual(
    parseStartLine(
      '{"msg":"listening","port":4321,"url":"http://127.0.0.1:4321"}',
    ),
    { url: "http://127.0.0.1:4321", key: "" },
  );
  assert.deepEqual(parseStartLine('{"port":80}'), {
    url: "http://127.0.0.1:80",
    key: "",
  });
  assert.equal(parseStartLine("Listening on http://0.0.0.0:8000/"), null);
});

Deno.test("processUsage reads this process's peak and current RSS and CPU time", async () => {
  const u = await processUsage(Deno.pid);
  assert.ok(u.peakRssMiB > 1);
  assert.ok(u.rssMiB > 1 && u.rssMiB <= u.peakRssMiB, `${u.rssMiB}`);
  assert.ok(u.cpuSeconds > 0, "this process has run");
  assert.deepEqual(await processUsage(2 ** 30), {
    peakRssMiB: 0,
    rssMiB: 0,
    cpuSeconds: 0,
  });
});
