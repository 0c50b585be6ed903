import assert from "node:assert/strict";
import { evaluate, launchChromium, waitFor } from "./_chromium.ts";
import { startServer } from "./_server.ts";

const KEY = "browser-master";
const HOSTILE = `<img src=x onerror="document.title='pwned'">`;

async function call(url: string, path: string, body: unknown) {
  const res = await fetch(`${url}${path}`, {
    method: "POST",
    headers: { "X-API-KEY": KEY, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  assert.ok(res.ok, `${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

Deno.test("in a real Chromium, the dashboard shows each state's count, each goal's row and the store's own figures, and a goal named like HTML stays text", async () => {
  const dir = await Deno.makeTempDir({ prefix: "intentbus_dashboard_" });
  const server = await startServer(`${dir}/bus.db`, {
    BUS_SECRET: KEY,
    DASHBOARD_PASSWORD: "pw",
  });
  try {
    for (let i = 0; i < 3; i++) {
      await call(server.url, "/intent", { goal: "resize", payload: { i } });
    }
    await call(server.url, "/intent", { goal: HOSTILE, payload: {} });
    await call(server.url, "/claim?goal=resize", {});

    await using browser = await launchChromium();
    const { page } = browser;
    const thrown: unknown[] = [];
    page.on("Runtime.exceptionThrown", (p) => thrown.push(p));
    const statuses: number[] = [];
    page.on("Network.responseReceived", (p) => {
      const r = p as { type: string; response: { status: number } };
      if (r.type === "Document") statuses.push(r.response.status);
    });
    await page.send("Runtime.enable");
    await page.send("Page.enable");
    await page.send("Network.enable");
    const url = `${server.url}/admin/dashboard`;

    // Without credentials the server challenges for HTTP Basic, which a
    // headless browser with none to give turns into an error page.
    const refused = await page.send("Page.navigate", { url });
    assert.equal(refused.errorText, "net::ERR_INVALID_AUTH_CREDENTIALS");

    await page.send("Network.setExtraHTTPHeaders", {
      headers: { Authorization: `Basic ${btoa("admin:pw")}` },
    });
    const nav = await page.send("Page.navigate", { url });
    assert.equal(nav.errorText, undefined);
    // The error page of the refused load may still be finishing: wait for
    // the dashboard itself.
    await waitFor(
      page,
      `location.href === ${
        JSON.stringify(url)
      } && document.readyState === "complete"`,
    );
    assert.equal(statuses.at(-1), 200);
    const dom = await evaluate(
      page,
      `({
        title: document.title,
        cards: Object.fromEntries([...document.querySelectorAll(".card")]
          .map((c) => [c.lastChild.textContent, c.querySelector("h2").textContent])),
        rows: [...document.querySelectorAll("table.goals tbody tr")]
          .map((r) => [...r.cells].map((c) => c.textContent)),
        store: Object.fromEntries([...document.querySelectorAll("table.store tr")]
          .map((r) => [r.cells[0].textContent, r.cells[1].textContent])),
        images: document.images.length,
        width: document.querySelector("table").getBoundingClientRect().width,
      })`,
    ) as Record<string, unknown>;
    assert.equal(dom.title, "Intent Bus");
    assert.deepEqual(dom.cards, {
      open: "3",
      claimed: "1",
      fulfilled: "0",
      dead: "0",
    });
    const rows = dom.rows as string[][];
    assert.deepEqual(
      rows.find((r) => r[1] === "resize"),
      ["default", "resize", "2", "0", "1", "0", ""],
    );
    // The goal's name is shown as text: no image, no script ran.
    assert.deepEqual(
      rows.find((r) => r[1] === HOSTILE),
      ["default", HOSTILE, "1", "0", "0", "0", ""],
    );
    // The store's own figures: the server runs its checkpoint thread.
    const store = dom.store as Record<string, string>;
    assert.equal(
      store["Times writes waited for the checkpoint thread (a slow disk)."],
      "0",
    );
    assert.match(
      store["WAL frames at the checkpoint thread's last pass."],
      /^\d+$/,
    );
    assert.equal(Object.keys(store).length, 7);
    assert.equal(dom.images, 0);
    assert.ok((dom.width as number) > 0, "the table is laid out");
    assert.deepEqual(thrown, []);

    const shot = await page.send("Page.captureScreenshot", { format: "png" });
    const png = Uint8Array.from(
      atob(shot.data as string),
      (c) => c.charCodeAt(0),
    );
    assert.deepEqual([...png.slice(1, 4)], [80, 78, 71]); // "PNG"
    await Deno.writeFile(`${dir}/dashboard.png`, png);
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
