// A worker under Node with handlers that never finish: prints {"ready":n}
// once n run, and on SIGTERM stops (grace period, then release) and exits.
// Usage: node node_sigterm.mjs BUNDLE_URL SERVER_URL API_KEY N GRACE_MS
const [bundle, url, apiKey, n, grace] = process.argv.slice(2);
const { IntentClient, Worker } = await import(bundle);
const worker = new Worker(new IntentClient({ url, apiKey }), {
  goal: "g",
  concurrency: Number(n),
  gracePeriodMs: Number(grace),
  idleMinMs: 10,
  handler: () => {
    if (worker.running === Number(n)) console.log(JSON.stringify({ ready: n }));
    return new Promise(() => {});
  },
});
await worker.start();
console.log(JSON.stringify({ stopped: worker.stats }));
