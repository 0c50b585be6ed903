/**
 * The checkpoint thread's counters ({@linkcode CheckpointStats}) as the
 * store's figures for `/metrics`.
 *
 * @module
 */

import type { StoreMetric } from "../storage.ts";
import type { CheckpointStats } from "./checkpointer.ts";

/**
 * The checkpointer's counters as `/metrics` shows them
 * ({@linkcode Storage.metricsGet}).
 *
 * @param s What the checkpointer has done.
 * @returns One figure per counter.
 */
export function checkpointMetrics(s: CheckpointStats): StoreMetric[] {
  return [
    {
      name: "sqlite_wal_frames",
      help: "WAL frames at the checkpoint thread's last pass.",
      type: "gauge",
      value: s.walFrames,
    },
    {
      name: "sqlite_wal_peak_frames",
      help: "Most WAL frames a pass has seen since the server started.",
      type: "gauge",
      value: s.peakWalFrames,
    },
    {
      name: "sqlite_checkpoint_passes_total",
      help: "Passive checkpoints run by the checkpoint thread.",
      type: "counter",
      value: s.passes,
    },
    {
      name: "sqlite_wal_rewinds_total",
      help: "Times the WAL was copied whole, so that it rewinds.",
      type: "counter",
      value: s.restarts,
    },
    {
      name: "sqlite_wal_rewinds_missed_total",
      help: "Rewinds prevented by a reader's old snapshot or a slow pass.",
      type: "counter",
      value: s.missed,
    },
    {
      name: "sqlite_write_stalls_total",
      help: "Times writes waited for the checkpoint thread (a slow disk).",
      type: "counter",
      value: s.stalls,
    },
    {
      name: "sqlite_checkpoint_errors_total",
      help: "Checkpoint passes that failed (a full disk), each tried again.",
      type: "counter",
      value: s.errors,
    },
  ];
}
