import assert from "node:assert/strict";
import { runProfile } from "./profiles.ts";
import { assertExactlyOnce } from "./_testing.ts";
import { spawnServer } from "./server_process.ts";
import { chartSvg } from "./chart.ts";
import { profileTable } from "./report.ts";

Deno.test(
  "a tiny profile against a spawned server fulfils every intent exactly once",
  async () => {
    const r = await runProfile({ profile: "medium", intents: 300, workers: 8 });
    assertExactlyOnce(r, 300);
    assert.equal(r.publish.count, 300);
    assert.equal(r.claim.count, 300);
    assert.equal(r.fulfil.count, 300);
    assert.equal(r.endToEnd.count, 300);
    assert.ok(r.server && r.server.peakRssMiB > 0);
    assert.match(profileTable([r]), /medium\s+8\s+300/);
    assert.match(
      chartSvg([{ label: "ci", profiles: [r] }]),
      /<rect [^>]+><title>ci, medium: \d/,
    );
  },
);

Deno.test(
  "a warm-up runs through the same server first and is left out of the figures",
  async () => {
    const r = await runProfile({
      profile: "low",
      intents: 60,
      warmup: 150,
    });
    assertExactlyOnce(r, 60);
    assert.equal(r.warmup, 150);
    assert.equal(r.publish.count, 60);
    assert.equal(r.claim.count, 60);
    assert.equal(r.fulfil.count, 60);
    // 60 lifecycles cost the server some 0.07 s of CPU: ticks of 0.01 s.
    assert.ok(r.server && r.server.cpuSeconds > 0, `${r.server?.cpuSeconds}`);
  },
);

Deno.test("the runner's --help names every option", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("./run_profiles.ts", import.meta.url).pathname,
      "--help",
    ],
    stdout: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0);
  for (
    const flag of [
      "--profile",
      "--intents",
      "--workers",
      "--poll",
      "--target",
      "--key",
      "--json",
      "--queued",
      "--ceilings",
      "--publisher-under-poll",
      "--chart",
      "--mode",
      "--batch-size",
      "--claim-max",
      "--warmup",
    ]
  ) {
    assert.ok(text.includes(flag), flag);
  }
});

/**
 * Runs the runner at a server that takes every publish and has nothing to
 * claim, and answers what reached it, in order: each publish's goal and
 * priority (undefined for the profiles' own, 0 for a backlog's).
 */
async function publishesOfRun(
  args: string[],
): Promise<{ goal: string; priority?: number }[]> {
  const seen: { goal: string; priority?: number }[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (req) => {
      const path = new URL(req.url).pathname;
      if (path === "/intent") {
        const { goal, priority } = await req.json();
        seen.push({ goal, priority });
        return Response.json({
          id: crypto.randomUUID().replaceAll("-", ""),
          status: "published",
        }, { status: 201 });
      }
      await req.body?.cancel();
      if (path === "/claim") return new Response(null, { status: 204 });
      return Response.json({ error: { code: "not_found", message: "No" } }, {
        status: 404,
      });
    },
  );
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("./run_profiles.ts", import.meta.url).pathname,
        "--target",
        `http://127.0.0.1:${server.addr.port}`,
        "--key",
        "k",
        "--warmup",
        "0",
        "--poll",
        "20",
        "--timeout",
        "0.3",
        "--json",
        ...args,
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    // Every intent is lost (nothing can be claimed): exit 1, not 2.
    assert.equal(out.code, 1, new TextDecoder().decode(out.stderr));
  } finally {
    await server.shutdown();
  }
  return seen;
}

Deno.test("--queued-goal same with --target fills each profile's own goal before it", async () => {
  const seen = await publishesOfRun([
    ...["--profile", "low,low", "--intents", "2"],
    ...["--queued", "3", "--queued-goal", "same"],
  ]);
  const goals = [...new Set(seen.map((p) => p.goal))];
  assert.equal(goals.length, 2);
  // The backlog (priority 0) of a goal, then the profile's own intents.
  assert.deepEqual(
    seen.map((p) => `${goals.indexOf(p.goal)}:${p.priority ?? "-"}`),
    ["0:0", "0:0", "0:0", "0:-", "0:-", "1:0", "1:0", "1:0", "1:-", "1:-"],
  );
});

Deno.test("--queued-goal other with --target fills one goal of its own once, before the first profile", async () => {
  const seen = await publishesOfRun([
    ...["--profile", "low,low", "--intents", "2"],
    ...["--queued", "3", "--queued-goal", "other"],
  ]);
  const goals = [...new Set(seen.map((p) => p.goal))];
  assert.equal(goals.length, 3);
  assert.deepEqual(
    seen.map((p) => `${goals.indexOf(p.goal)}:${p.priority ?? "-"}`),
    ["0:0", "0:0", "0:0", "1:-", "1:-", "2:-", "2:-"],
  );
  assert.match(goals[0], /^bench\.backlog\./);
});

Deno.test("--cpu-prof with --target is refused when the runner spawns no server to profile", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("./run_profiles.ts", import.meta.url).pathname,
      ...["--target", "http://127.0.0.1:9", "--profile", "heavy"],
      ...["--cpu-prof", "prof"],
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 2);
  assert.equal(new TextDecoder().decode(out.stdout), "");
  assert.match(
    new TextDecoder().decode(out.stderr),
    /^error: --cpu-prof has nothing to profile with --target: .*\n$/,
  );
});

Deno.test(
  "a profile driven at a --target server counts what it cannot do as errors and lost intents",
  async () => {
    // A real server that speaks only half the protocol: publishes succeed,
    // claims always find nothing, so every intent is reported lost.
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      (req) => {
        const path = new URL(req.url).pathname;
        if (path === "/intent") {
          return Response.json({
            id: crypto.randomUUID().replaceAll("-", ""),
            status: "published",
          }, { status: 201 });
        }
        if (path === "/claim") return new Response(null, { status: 204 });
        return Response.json({ error: { code: "not_found", message: "No" } }, {
          status: 404,
        });
      },
    );
    try {
      const r = await runProfile({
        profile: "low",
        intents: 20,
        target: { url: `http://127.0.0.1:${server.addr.port}`, key: "k" },
        timeoutMs: 300,
      });
      assert.equal(r.published, 20);
      assert.equal(r.fulfilled, 0);
      assert.equal(r.lost, 20);
      assert.equal(r.successRate, 0);
      assert.equal(r.timedOut, true);
      assert.ok(r.emptyPolls > 0);
      assert.equal(r.server, undefined);
    } finally {
      await server.shutdown();
    }
  },
);

Deno.test("a child server's start line gives its address, and /proc its usage", async () => {
  const s = await spawnServer("bench/ceiling_server.ts", ["hono"]);
  try {
    assert.match(s.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const usage = await s.usage();
    assert.ok(usage.peakRssMiB > 0);
  } finally {
    await s.stop();
  }
});

Deno.test("a server that never answers ends the run at its timeout", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) held.push(conn);
  })();
  try {
    const r = await runProfile({
      profile: "low",
      intents: 10,
      target: { url: `http://127.0.0.1:${listener.addr.port}`, key: "k" },
      timeoutMs: 300,
    });
    assert.equal(r.timedOut, true);
    assert.equal(r.published, 0);
    assert.equal(r.fulfilled, 0);
    assert.deepEqual(r.errors, {});
  } finally {
    listener.close();
    for (const c of held) c.close();
    await accepting.catch(() => {});
  }
});

Deno.test("a server that delivers an intent twice is caught as a duplicate", async () => {
  // A deliberately wrong server: it hands its one intent to two claimers,
  // holding the first fulfil until the second claim, and accepts both fulfils.
  const id = "a".repeat(32);
  let published = false;
  let claims = 0;
  let secondClaim!: () => void;
  const claimedTwice = new Promise<void>((r) => secondClaim = r);
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (req) => {
      const path = new URL(req.url).pathname;
      await req.body?.cancel();
      if (path === "/intent") {
        published = true;
        return Response.json({ id, status: "published" }, { status: 201 });
      }
      if (path === "/claim") {
        if (!published || claims >= 2) {
          return new Response(null, { status: 204 });
        }
        if (++claims === 2) secondClaim();
        return Response.json({ id, claim_token: `t${claims}` });
      }
      await claimedTwice;
      return Response.json({ ok: true, id });
    },
  );
  try {
    const r = await runProfile({
      profile: "low",
      intents: 1,
      workers: 2,
      target: { url: `http://127.0.0.1:${server.addr.port}`, key: "k" },
      timeoutMs: 5000,
    });
    assert.equal(r.published, 1);
    assert.equal(r.duplicateDeliveries, 1);
    assert.equal(r.duplicateFulfils, 1);
    assert.equal(r.fulfilled, 1);
    assert.equal(r.lost, 0);
    assert.equal(r.timedOut, false);
  } finally {
    await server.shutdown();
  }
});
