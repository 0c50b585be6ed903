/**
 * The errors a batch call (`publishMany`, `ack`) gives one of its items
 * when the server's answer, or the request, leaves it out.
 *
 * @module
 */

import { IntentBusError, ValidationError } from "../core/errors.ts";
import { BODY_BUDGET } from "./_pack.ts";

/**
 * A batch answer with fewer results than items sent.
 *
 * @returns Code `missing_result`.
 */
export function missing(): IntentBusError {
  return new IntentBusError("missing_result", "No result for this item");
}

/**
 * An item that alone exceeds what one request may carry.
 *
 * @param what What the item is, for the message: `Intent`, `Result`.
 * @param bytes Its size.
 * @returns Code `payload_too_large`.
 */
export function tooLarge(what: string, bytes: number): ValidationError {
  return new ValidationError(
    `${what} too large: ${bytes} bytes, over the ${BODY_BUDGET} a request may carry`,
    "payload_too_large",
  );
}
