// Runs under Node 20+ against a bundle of sdk/mod.ts: publish signed, work
// with a Worker, and map a lost lease. Prints one JSON line of findings.
// Usage: node node_smoke.mjs BUNDLE_URL SERVER_URL API_KEY
const [bundle, url, apiKey] = process.argv.slice(2);
const { IntentClient, LeaseLostError, Worker } = await import(bundle);
const client = new IntentClient({ url, apiKey, sign: true });
for (let i = 0; i < 10; i++) await client.publish("node.smoke", { i });
const worker = new Worker(client, {
  goal: "node.smoke",
  concurrency: 3,
  idleMinMs: 5,
  handler: (intent) => ({ twice: intent.payload.i * 2 }),
});
worker.start();
while (worker.stats.fulfilled < 10) {
  await new Promise((r) => setTimeout(r, 20));
}
await worker.stop();
const lost = await client.fulfil("0".repeat(32), "x", 1).then(
  () => false,
  (e) => e instanceof LeaseLostError,
);
console.log(
  JSON.stringify({ node: process.version, stats: worker.stats, lost }),
);
