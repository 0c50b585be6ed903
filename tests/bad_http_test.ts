import assert from "node:assert/strict";
import { systemClock } from "../core/clock.ts";
import { createApp } from "../server/app.ts";
import { DEFAULT_CONFIG } from "../server/config.ts";
import { createLogger } from "../server/log.ts";
import { serveDeno } from "../server/runtime/deno.ts";
import { openSqliteStore } from "../storage/sqlite/mod.ts";
import { startServer } from "./_server.ts";

async function raw(url: string, request: string): Promise<string> {
  const { hostname, port } = new URL(url);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  try {
    await conn.write(new TextEncoder().encode(request)).catch(() => 0);
    const chunks: Uint8Array[] = [];
    const buf = new Uint8Array(65536);
    for (;;) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) break;
      chunks.push(buf.slice(0, n));
      const text = new TextDecoder().decode(
        new Uint8Array(chunks.flatMap((c) => [...c])),
      );
      const end = text.indexOf("\r\n\r\n");
      if (end !== -1) {
        const len = /content-length: (\d+)/i.exec(text)?.[1];
        if (len !== undefined && text.length >= end + 4 + Number(len)) {
          return text;
        }
      }
    }
    return new TextDecoder().decode(
      new Uint8Array(chunks.flatMap((c) => [...c])),
    );
  } finally {
    conn.close();
  }
}

Deno.test("over real HTTP, bad requests get a JSON error or an empty 4xx, never HTML or a 500", async () => {
  const dir = await Deno.makeTempDir({ prefix: "intentbus-badhttp-" });
  const server = await startServer(`${dir}/bus.db`);
  try {
    // Headers beyond the HTTP layer's limit: an empty 400 before the app.
    const huge = await raw(
      server.url,
      `POST /claim?goal=g HTTP/1.1\r\nHost: x\r\nX-API-KEY: e2e-master\r\nX-Big: ${
        "a".repeat(100_000)
      }\r\n\r\n`,
    );
    assert.match(huge, /^HTTP\/1\.1 4\d\d /);
    assert.doesNotMatch(huge, /<html/i);
    // Large but accepted headers reach the app: its JSON error.
    const big = await raw(
      server.url,
      `POST /claim HTTP/1.1\r\nHost: x\r\nX-API-KEY: ${
        "k".repeat(30_000)
      }\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
    );
    assert.match(big, /^HTTP\/1\.1 401 /);
    assert.match(big, /"code":"unauthorized"/);
    // A body larger than the limit, declared up front.
    const declared = await raw(
      server.url,
      "POST /intent HTTP/1.1\r\nHost: x\r\nX-API-KEY: e2e-master\r\nContent-Type: application/json\r\nContent-Length: 5000000\r\nConnection: close\r\n\r\n{",
    );
    assert.match(declared, /^HTTP\/1\.1 413 /);
    assert.match(declared, /"code":"payload_too_large"/);
    // Malformed JSON over the wire.
    const body = '{"goal":';
    const malformed = await raw(
      server.url,
      `POST /intent HTTP/1.1\r\nHost: x\r\nX-API-KEY: e2e-master\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    );
    assert.match(malformed, /^HTTP\/1\.1 400 /);
    assert.match(malformed, /"code":"invalid_json"/);
    assert.match(malformed, /x-content-type-options: nosniff/i);
  } finally {
    assert.equal(await server.stop(), 0);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a client that closes the connection mid-body is a 400 in the metrics and no error in the log", async () => {
  // In this process rather than a child (startServer), to read the log.
  const dir = await Deno.makeTempDir({ prefix: "intentbus-badhttp-" });
  const store = await openSqliteStore({ path: `${dir}/bus.db` });
  const lines: {
    level: string;
    msg: string;
    path?: string;
    status?: number;
  }[] = [];
  const log = createLogger({
    level: "debug",
    write: (line) => lines.push(JSON.parse(line)),
  });
  const app = createApp({
    store,
    clock: systemClock,
    config: { ...DEFAULT_CONFIG, masterKey: "e2e-master", metricsToken: "m" },
    log,
  });
  const server = serveDeno(app, { port: 0, handleSignals: false, log });
  try {
    const body = '{"goal":"g","payload":1}';
    assert.equal(body.length, 24);
    const conn = await Deno.connect({
      hostname: "127.0.0.1",
      port: server.port,
    });
    await conn.write(
      new TextEncoder().encode(
        `POST /intent HTTP/1.1\r\nHost: x\r\nX-API-KEY: e2e-master\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n${body}`,
      ),
    );
    conn.close();
    const deadline = Date.now() + 10_000;
    let intent: string[] = [];
    while (intent.length === 0 && Date.now() < deadline) {
      const res = await fetch(`http://127.0.0.1:${server.port}/metrics`, {
        headers: { Authorization: "Bearer m" },
      });
      intent = (await res.text()).split("\n").filter((l) =>
        l.startsWith('intent_bus_http_requests_total{route="/intent"')
      );
    }
    assert.deepEqual(intent, [
      'intent_bus_http_requests_total{route="/intent",method="POST",status="400"} 1',
    ]);
    const request = lines.find((l) => l.path === "/intent");
    assert.equal(request?.level, "debug");
    assert.equal(request?.status, 400);
    assert.deepEqual(
      lines.filter((l) => l.level === "warn" || l.level === "error"),
      [],
    );
    assert.equal((await store.statsGet({ now: Date.now() })).states.open, 0);
  } finally {
    await server.shutdown();
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
