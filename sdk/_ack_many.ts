/**
 * `IntentClient.ack`: fulfils and fails in batch requests under the
 * server's limits when it offers batch acknowledge, else one by one through
 * the original routes, each acknowledgement with its own outcome.
 *
 * @module
 */

import { IntentBusError } from "../core/errors.ts";
import { LIMITS } from "../core/limits.ts";
import type { Send } from "./_client_transport.ts";
import { isMissingRoute } from "./_error_map.ts";
import { missing, tooLarge } from "./_item_errors.ts";
import { jsonText, packBatches } from "./_pack.ts";
import { ackBody, itemError } from "./_wire.ts";
import type { IntentClient } from "./client.ts";
import type { Ack, AckResult, CallOptions } from "./types.ts";

/**
 * Acknowledges many intents, as documented on {@linkcode IntentClient.ack}.
 *
 * @param client Its features, and `fulfil` and `fail` for one by one.
 * @param send The client's request function.
 * @param acks The acknowledgements.
 * @param opts Signal and timeout.
 * @returns One result per acknowledgement, in order.
 * @throws The signal's reason when it aborts.
 */
export async function ackMany(
  client: IntentClient,
  send: Send,
  acks: Ack[],
  opts: CallOptions,
): Promise<AckResult[]> {
  if (acks.length === 0) return [];
  const out: AckResult[] = new Array(acks.length);
  if (!(await client.features(opts)).has("batch_ack")) {
    return await ackEach(client, acks, opts);
  }
  const texts: string[] = [];
  const at: number[] = [];
  for (const [i, a] of acks.entries()) {
    try {
      texts.push(jsonText(ackBody(a), "Result"));
      at.push(i);
    } catch (error) {
      out[i] = { ok: false, id: a.id, error: error as IntentBusError };
    }
  }
  const { batches, oversized } = packBatches(texts, LIMITS.batchPublishMax);
  for (const { index, bytes } of oversized) {
    const i = at[index];
    out[i] = { ok: false, id: acks[i].id, error: tooLarge("Result", bytes) };
  }
  for (const [n, b] of batches.entries()) {
    let results: unknown[];
    try {
      const r = await send({
        method: "POST",
        path: "/ack",
        json: `{"acks":[${b.map((j) => texts[j]).join(",")}]}`,
        signal: opts.signal,
        timeoutMs: opts.timeoutMs,
      });
      results = (r.body as { results?: unknown[] })?.results ?? [];
    } catch (error) {
      if (!(error instanceof IntentBusError)) throw error;
      if (isMissingRoute(error)) {
        // The server no longer offers batch acknowledge (restarted
        // without its extensions): these and the rest go one by one.
        const rest = batches.slice(n).flat().map((j) => at[j]);
        const each = await ackEach(client, rest.map((i) => acks[i]), opts);
        rest.forEach((i, k) => (out[i] = each[k]));
        break;
      }
      for (const j of b) {
        out[at[j]] = { ok: false, id: acks[at[j]].id, error };
      }
      continue;
    }
    b.forEach((j, k) => {
      const { id } = acks[at[j]];
      const error = results[k] === undefined
        ? missing()
        : itemError(results[k], true);
      out[at[j]] = error ? { ok: false, id, error } : { ok: true, id };
    });
  }
  return out;
}

/** Fulfils and fails one by one, through the original routes. */
async function ackEach(
  client: IntentClient,
  acks: Ack[],
  opts: CallOptions,
): Promise<AckResult[]> {
  const out: AckResult[] = [];
  for (const a of acks) {
    try {
      if (a.status === "fulfilled") {
        await client.fulfil(a.id, a.claimToken, a.result, a.resultType, opts);
      } else await client.fail(a.id, a.claimToken, a.error, opts);
      out.push({ ok: true, id: a.id });
    } catch (error) {
      if (!(error instanceof IntentBusError)) throw error;
      out.push({ ok: false, id: a.id, error });
    }
  }
  return out;
}
