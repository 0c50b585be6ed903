/**
 * The admin dashboard: a plain HTML page of queue counts and the store's
 * own figures (the WAL, or PostgreSQL's pool), no scripts and no outside
 * assets.
 *
 * @module
 */

import type { QueueStats, StoreMetric } from "../../storage/storage.ts";
import { topGoals } from "./_top_goals.ts";

function esc(v: unknown): string {
  return String(v).replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/**
 * Renders the dashboard.
 *
 * @param stats Queue counts from `store.statsGet`.
 * @param version The server version.
 * @param store The store's own figures, from `store.metricsGet`.
 * @returns A whole HTML document.
 */
export function dashboardHtml(
  stats: QueueStats,
  version: string,
  store: StoreMetric[],
): string {
  const cards = Object.entries(stats.states)
    .map(([state, n]) =>
      `<div class="card"><h2>${esc(n)}</h2>${esc(state)}</div>`
    )
    .join("");
  const { listed, unlisted } = topGoals(stats.goals);
  const rows = listed.map((g) =>
    `<tr><td>${esc(g.namespace)}</td><td>${esc(g.goal)}</td><td>${
      esc(g.open)
    }</td><td>${esc(g.delayed)}</td><td>${esc(g.claimed)}</td><td>${
      esc(g.dead)
    }</td><td>${g.paused ? "paused" : ""}</td></tr>`
  ).join("");
  const storage = store.length === 0 ? "" : `<h2>Storage</h2>
<table class="store"><tbody>${
    store.map((m) => `<tr><th>${esc(m.help)}</th><td>${esc(m.value)}</td></tr>`)
      .join("")
  }</tbody></table>`;
  return `<!doctype html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Intent Bus</title>
<style>body{font-family:system-ui,sans-serif;margin:2em}.grid{display:flex;gap:1em}
.card{border:1px solid #ccc;border-radius:8px;padding:0 1em 1em}
table{border-collapse:collapse;margin-top:1em}td,th{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left}</style>
</head><body><h1>Intent Bus</h1><p>Version ${esc(version)}</p>
<div class="grid">${cards}</div>
<table class="goals"><thead><tr><th>Namespace</th><th>Goal</th><th>Open</th><th>Delayed</th><th>Claimed</th><th>Dead</th><th></th></tr></thead>
<tbody>${rows}</tbody></table>${
    unlisted === 0
      ? ""
      : `<p class="unlisted">${
        esc(unlisted)
      } more goals, holding fewer intents, are not shown.</p>`
  }
${storage}</body></html>`;
}
