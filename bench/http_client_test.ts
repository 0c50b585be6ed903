import assert from "node:assert/strict";
import { headerValue, HttpConnection } from "./http_client.ts";
import { parseChunked } from "./_http_parse.ts";

function serve(handler: Deno.ServeHandler<Deno.NetAddr>) {
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    handler,
  );
  return { server, url: `http://127.0.0.1:${server.addr.port}` };
}

Deno.test(
  "request reads Content-Length bodies over one kept-alive connection",
  async () => {
    const peers = new Set<number>();
    const { server, url } = serve(async (req, info) => {
      peers.add(info.remoteAddr.port);
      const body = await req.text();
      return Response.json({
        method: req.method,
        body,
        key: req.headers.get("x-api-key"),
      });
    });
    const conn = new HttpConnection(url);
    try {
      for (let i = 0; i < 50; i++) {
        const body = `{"i":${i},"é":1}`;
        const res = await conn.request("POST", "/x", "X-API-KEY: k\r\n", body);
        assert.equal(res.status, 200);
        assert.deepEqual(JSON.parse(res.body), {
          method: "POST",
          body,
          key: "k",
        });
        assert.equal(headerValue(res.head, "Content-Type"), "application/json");
      }
      assert.equal(peers.size, 1);
    } finally {
      conn.close();
      await server.shutdown();
    }
  },
);

Deno.test("request reads chunked bodies, 204 answers and bodies larger than the buffer", async () => {
  const big = "x".repeat(100_000);
  const { server, url } = serve((req) => {
    const path = new URL(req.url).pathname;
    if (path === "/empty") {
      return new Response(null, {
        status: 204,
        headers: { "retry-after": "1" },
      });
    }
    if (path === "/big") return new Response(big);
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        const enc = new TextEncoder();
        c.enqueue(enc.encode("hello, "));
        c.enqueue(enc.encode("chunked ".repeat(3000)));
        c.enqueue(enc.encode("world"));
        c.close();
      },
    });
    return new Response(stream);
  });
  const conn = new HttpConnection(url);
  try {
    const chunked = await conn.request("GET", "/chunked");
    assert.equal(headerValue(chunked.head, "transfer-encoding"), "chunked");
    assert.equal(chunked.body, "hello, " + "chunked ".repeat(3000) + "world");
    const empty = await conn.request("POST", "/empty");
    assert.equal(empty.status, 204);
    assert.equal(empty.body, "");
    assert.equal(headerValue(empty.head, "Retry-After"), "1");
    const large = await conn.request("GET", "/big");
    assert.equal(large.body, big);
    const again = await conn.request("POST", "/empty");
    assert.equal(again.status, 204);
  } finally {
    conn.close();
    await server.shutdown();
  }
});

Deno.test("request reconnects after the server answers Connection: close", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let accepted = 0;
  const loop = (async () => {
    for await (const sock of listener) {
      accepted++;
      const buf = new Uint8Array(4096);
      await sock.read(buf);
      await sock.write(new TextEncoder().encode(
        "HTTP/1.1 200 OK\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n" +
          "3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: 1\r\n\r\n",
      ));
      sock.close();
    }
  })();
  const conn = new HttpConnection(`http://127.0.0.1:${listener.addr.port}`);
  try {
    assert.equal((await conn.request("GET", "/")).body, "abcde");
    assert.equal((await conn.request("GET", "/")).body, "abcde");
    assert.equal(accepted, 2);
  } finally {
    conn.close();
    listener.close();
    await loop.catch(() => {});
  }
});

Deno.test("parseChunked waits for the final empty line before answering", () => {
  const bytes = new TextEncoder().encode(
    "4\r\nwiki\r\n5\r\npedia\r\n0\r\n\r\n",
  );
  for (let end = 0; end < bytes.length; end++) {
    assert.equal(parseChunked(bytes, 0, end), null);
  }
  const out = parseChunked(bytes, 0, bytes.length);
  assert.equal(new TextDecoder().decode(out!), "wikipedia");
});

Deno.test("headerValue finds headers in any case and returns null when absent", () => {
  const head = "\r\nContent-Length: 12\r\nX-Intent-Version: 2.1";
  assert.equal(headerValue(head, "content-length"), "12");
  assert.equal(headerValue(head, "x-intent-version"), "2.1");
  assert.equal(headerValue(head, "retry-after"), null);
});
