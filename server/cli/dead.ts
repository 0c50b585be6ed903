/**
 * `intentbus dead list | redrive` (admin): the dead letters.
 *
 * @module
 */

import process from "node:process";
import {
  ADMIN_HELP,
  clientFrom,
  EXIT,
  EXIT_HELP,
  numberFlag,
  parse,
  printJson,
  UsageError,
} from "./_common.ts";

/** The help of `dead`. */
export const DEAD_HELP: string = `Usage: intentbus dead list [flags]
       intentbus dead redrive [flags]

list prints dead intents as a JSON array, newest first. redrive moves dead
intents back to open with their attempts reset, and prints the server's
answer ({"ok","redriven","ids"}). Without filters, redrive takes the first
--limit dead intents of every goal.

${ADMIN_HELP}
  --goal <goal>        only this goal
  --namespace <ns>     only this namespace
  --id <id>            only this intent (repeat for more; redrive only)
  --limit <n>          at most n, 1 to 1000, default 100
  --before <t>         list only: the next page, before the last entry's
                       died_at (unix seconds) …
  --before-id <id>     … and id; give both

Example: intentbus dead redrive --goal resize

${EXIT_HELP}`;

/**
 * Runs `dead`.
 *
 * @param args The arguments after `dead`.
 * @returns The exit code.
 */
export async function deadCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    goal: { type: "string" },
    namespace: { type: "string" },
    id: { type: "string", multiple: true },
    limit: { type: "string" },
    before: { type: "string" },
    "before-id": { type: "string" },
  });
  if (values.help) {
    process.stdout.write(DEAD_HELP + "\n");
    return EXIT.ok;
  }
  const [action, ...rest] = positionals;
  if ((action !== "list" && action !== "redrive") || rest.length > 0) {
    throw new UsageError("dead needs list or redrive");
  }
  const filter = {
    goal: values.goal,
    namespace: values.namespace,
    limit: numberFlag(values.limit, "limit", 1, 1000, true),
  };
  const client = clientFrom(values, { admin: true });
  if (action === "list") {
    if (values.id !== undefined) {
      throw new UsageError("--id is for redrive; list filters by goal");
    }
    const before = numberFlag(values.before, "before", 0, 1e12);
    const beforeId = values["before-id"];
    if ((before === undefined) !== (beforeId === undefined)) {
      throw new UsageError("--before and --before-id go together");
    }
    printJson(await client.adminDeadList({ ...filter, before, beforeId }));
  } else {
    if (values.before !== undefined || values["before-id"] !== undefined) {
      throw new UsageError("--before and --before-id are for list");
    }
    printJson(await client.adminRedrive({ ...filter, ids: values.id }));
  }
  return EXIT.ok;
}
