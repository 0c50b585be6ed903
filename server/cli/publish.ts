/**
 * `intentbus publish GOAL JSON`: publishes one intent and prints its id.
 *
 * @module
 */

import process from "node:process";
import type { JsonValue } from "../../core/intent.ts";
import {
  clientFrom,
  CONNECT_HELP,
  EXIT,
  EXIT_HELP,
  numberFlag,
  parse,
  UsageError,
} from "./_common.ts";

/** The help of `publish`. */
export const PUBLISH_HELP: string = `Usage: intentbus publish GOAL JSON [flags]

Publishes one intent whose payload is JSON and prints its id.

${CONNECT_HELP}
  --namespace <ns>     namespace, default "default"
  --priority <n>       0 to 1000, default 100; higher first
  --delay <s>          seconds before it may be claimed
  --max-attempts <n>   1 to 20, default 3
  --idempotency-key <key>
                       a replay with the same key publishes nothing new

Example: intentbus publish resize '{"w":640}' --priority 500

${EXIT_HELP}`;

/**
 * Runs `publish`.
 *
 * @param args The arguments after `publish`.
 * @returns The exit code.
 */
export async function publishCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    namespace: { type: "string" },
    priority: { type: "string" },
    delay: { type: "string" },
    "max-attempts": { type: "string" },
    "idempotency-key": { type: "string" },
  });
  if (values.help) {
    process.stdout.write(PUBLISH_HELP + "\n");
    return EXIT.ok;
  }
  if (positionals.length !== 2) {
    throw new UsageError("publish needs GOAL and JSON");
  }
  const [goal, json] = positionals;
  let payload: JsonValue;
  try {
    payload = JSON.parse(json);
  } catch (err) {
    throw new UsageError(`Invalid JSON payload: ${(err as Error).message}`);
  }
  const priority = numberFlag(values.priority, "priority", 0, 1000, true);
  const delay = numberFlag(values.delay, "delay", 0, 30 * 24 * 3600);
  const attempts = numberFlag(
    values["max-attempts"],
    "max-attempts",
    1,
    20,
    true,
  );
  const client = clientFrom(values);
  const published = await client.publish(goal, payload, {
    namespace: values.namespace,
    priority,
    delay,
    maxAttempts: attempts,
    idempotencyKey: values["idempotency-key"],
  });
  process.stdout.write(published.id + "\n");
  return EXIT.ok;
}
