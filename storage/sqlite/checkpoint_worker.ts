/**
 * The checkpoint thread's entry (a `node:worker_threads` worker, started by
 * `checkpoint_thread.ts`, on Deno or Node): its own connection to the
 * store's file, which copies WAL frames into the database with
 * `PRAGMA wal_checkpoint(PASSIVE)` when asked. The copy and its two fsyncs
 * then cost the server's event loop nothing; `checkpointer.ts` decides when
 * to ask.
 *
 * @module
 */

import { parentPort } from "node:worker_threads";
import type { Connection, Statement } from "./connection.ts";
import { loadDriver } from "./drivers/mod.ts";

/** A request from the store's thread. */
export type CheckpointRequest =
  | { type: "open"; path: string; driver: string; synchronous: string }
  | { type: "pass" }
  | { type: "close" };

/** The answer to one request, in order. */
export type CheckpointReply =
  | { type: "ready"; pageSize: number }
  | { type: "pass"; busy: boolean; log: number; checkpointed: number }
  | { type: "closed" }
  | { type: "error"; message: string };

let db: Connection | null = null;
let pass: Statement | null = null;

async function answer(req: CheckpointRequest): Promise<CheckpointReply> {
  switch (req.type) {
    case "open": {
      const open = await loadDriver(req.driver);
      db = open({ path: req.path });
      // A passive checkpoint never waits for locks; these only matter for
      // the fsyncs it makes (none with OFF, which the store never asks).
      db.exec(`PRAGMA synchronous = ${req.synchronous}`);
      db.exec("PRAGMA wal_autocheckpoint = 0");
      pass = db.prepare("PRAGMA wal_checkpoint(PASSIVE)");
      const page = db.prepare("PRAGMA page_size").get()!;
      return { type: "ready", pageSize: Number(page.page_size) };
    }
    case "pass": {
      const row = pass!.get()!;
      return {
        type: "pass",
        busy: Number(row.busy) !== 0,
        log: Number(row.log),
        checkpointed: Number(row.checkpointed),
      };
    }
    case "close":
      db?.close();
      db = pass = null;
      return { type: "closed" };
  }
}

// Requests arrive one at a time (the store waits for each answer), so each
// is answered before the next is read.
const port = parentPort!;
port.on("message", (req: CheckpointRequest) => {
  answer(req).then(
    (reply) => port.postMessage(reply),
    (err) =>
      port.postMessage(
        {
          type: "error",
          message: err instanceof Error ? err.message : String(err),
        } satisfies CheckpointReply,
      ),
  );
});
