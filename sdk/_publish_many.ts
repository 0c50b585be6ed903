/**
 * `IntentClient.publishMany`: many intents in batch requests under the
 * server's limits when it offers batch publish, else one by one, each item
 * with its own outcome.
 *
 * @module
 */

import { IntentBusError } from "../core/errors.ts";
import { LIMITS } from "../core/limits.ts";
import type { Send } from "./_client_transport.ts";
import { isMissingRoute } from "./_error_map.ts";
import { missing, tooLarge } from "./_item_errors.ts";
import { BODY_BUDGET, jsonText, packBatches } from "./_pack.ts";
import { randomHex } from "./_sign.ts";
import { itemError, publishBody } from "./_wire.ts";
import type { IntentClient } from "./client.ts";
import type { CallOptions, PublishItem, PublishResult } from "./types.ts";

/**
 * Publishes many intents, as documented on
 * {@linkcode IntentClient.publishMany}.
 *
 * @param client Its features, namespace and one-by-one `publish`.
 * @param send The client's request function.
 * @param items The intents.
 * @param opts `atomic`, signal and timeout.
 * @returns One result per item, in order.
 * @throws {IntentBusError} code `unsupported` for `atomic` without batch
 *   publish, or with items that do not fit one request.
 * @throws {ValidationError} with `atomic`, for an item that cannot be
 *   encoded or is too large; nothing is sent.
 */
export async function publishMany(
  client: IntentClient,
  send: Send,
  items: PublishItem[],
  opts: CallOptions & { atomic?: boolean },
): Promise<PublishResult[]> {
  const batch = (await client.features(opts)).has("batch_publish");
  const unsupported = () =>
    new IntentBusError(
      "unsupported",
      `Atomic publish needs batch publish and one request: at most ${LIMITS.batchPublishMax} items and ${BODY_BUDGET} bytes`,
    );
  if (opts.atomic && (!batch || items.length > LIMITS.batchPublishMax)) {
    throw unsupported();
  }
  const out: PublishResult[] = new Array(items.length);
  const each = async (indexes: Iterable<number>) => {
    for (const i of indexes) {
      const { goal, payload, ...fields } = items[i];
      try {
        const p = await client.publish(goal, payload, { ...fields, ...opts });
        out[i] = { ok: true, id: p.id, status: p.status };
      } catch (error) {
        if (!(error instanceof IntentBusError)) throw error;
        out[i] = { ok: false, error };
      }
    }
  };
  if (!batch) {
    await each(items.keys());
    return out;
  }
  const texts: string[] = [];
  const at: number[] = [];
  const refuse = (i: number, error: IntentBusError) => {
    if (opts.atomic) throw error;
    out[i] = { ok: false, error };
  };
  items.forEach((it, i) => {
    try {
      texts.push(jsonText({
        ...publishBody(it.goal, it.payload, it, client.namespace),
        idempotency_key: it.idempotencyKey ?? randomHex(),
      }, "Payload"));
      at.push(i);
    } catch (error) {
      refuse(i, error as IntentBusError);
    }
  });
  const { batches, oversized } = packBatches(
    texts,
    LIMITS.batchPublishMax,
  );
  for (const { index, bytes } of oversized) {
    refuse(at[index], tooLarge("Intent", bytes));
  }
  if (opts.atomic && batches.length > 1) throw unsupported();
  const atomic = opts.atomic === undefined
    ? ""
    : `,"atomic":${JSON.stringify(opts.atomic)}`;
  for (const [n, b] of batches.entries()) {
    let r;
    try {
      r = await send({
        method: "POST",
        path: "/intents",
        json: `{"intents":[${b.map((j) => texts[j]).join(",")}]${atomic}}`,
        signal: opts.signal,
        timeoutMs: opts.timeoutMs,
      });
    } catch (error) {
      // The caller stopped, or the whole call was one request: throw.
      // Otherwise the requests before this one published: keep their
      // ids, and give this request's items its error.
      if (opts.atomic || !(error instanceof IntentBusError)) throw error;
      if (isMissingRoute(error)) {
        // No batch publish any more (a server restarted without its
        // extensions): these and the rest go one by one.
        await each(batches.slice(n).flat().map((j) => at[j]));
        break;
      }
      for (const j of b) out[at[j]] = { ok: false, error };
      continue;
    }
    const results = (r.body as { results?: unknown[] })?.results ?? [];
    b.forEach((j, k) => {
      const item = results[k] as { id?: string; status?: string };
      const error = item === undefined ? missing() : itemError(item);
      out[at[j]] = error ? { ok: false, error } : {
        ok: true,
        id: String(item.id),
        status: item.status ?? "published",
      };
    });
  }
  return out;
}
