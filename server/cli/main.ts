/**
 * `intentbus`: Intent Bus from the command line. One file per command;
 * {@linkcode cli} dispatches and turns errors into exit codes (0 ok,
 * 1 failure, 2 usage, 3 not found, 4 auth). Runtime neutral: it runs on Deno
 * (`deno task cli -- <args>`) and on Node 20+ (`bin.ts` is the entry).
 *
 * @example
 * ```ts
 * import { cli } from "./main.ts";
 *
 * const code = await cli(["publish", "--help"]); // prints the help
 * console.log(code); // 0
 * ```
 *
 * @module
 */

import process from "node:process";
import { SERVER_VERSION } from "../config.ts";
import { EXIT, EXIT_HELP, report, UsageError } from "./_common.ts";
import { deadCommand } from "./dead.ts";
import { keysCommand } from "./keys.ts";
import { publishCommand } from "./publish.ts";
import { serveCommand } from "./serve.ts";
import { statusCommand } from "./status.ts";
import { workCommand } from "./work.ts";

/** The top-level help. */
export const HELP: string =
  `intentbus ${SERVER_VERSION}: a job queue over one SQLite file

Usage: intentbus <command> [args] [flags]

Commands:
  serve [flags]                       run the server
  publish GOAL JSON                   publish an intent, print its id
  work GOAL -- COMMAND [ARGS...]      run COMMAND for each intent of GOAL
  status ID                           print an intent's state and result
  dead list | redrive                 list or redrive dead intents (admin)
  keys create OWNER | revoke KEY      issue or revoke API keys (admin)

Every command takes --help. Clients read INTENT_BUS_URL (or --url),
INTENT_API_KEY (or --key), and BUS_ADMIN_SECRET or INTENT_ADMIN_TOKEN (or
--admin-token).

${EXIT_HELP}`;

const COMMANDS: Record<string, (args: string[]) => Promise<number>> = {
  serve: serveCommand,
  publish: publishCommand,
  work: workCommand,
  status: statusCommand,
  dead: deadCommand,
  keys: keysCommand,
};

/**
 * Runs one command line.
 *
 * @param argv The arguments, without the program name. A leading `--` is
 *   dropped: `deno task cli -- <args>` passes it on.
 * @returns The exit code; errors are reported on stderr, never thrown.
 */
export async function cli(argv: string[]): Promise<number> {
  const [command, ...rest] = argv[0] === "--" ? argv.slice(1) : argv;
  if (command === "--help" || command === "-h" || command === "help") {
    process.stdout.write(HELP + "\n");
    return EXIT.ok;
  }
  if (command === "--version") {
    process.stdout.write(SERVER_VERSION + "\n");
    return EXIT.ok;
  }
  try {
    if (command === undefined) throw new UsageError("No command given");
    const run = COMMANDS[command];
    if (run === undefined) {
      throw new UsageError(`Unknown command: "${command}"`);
    }
    return await run(rest);
  } catch (err) {
    return report(err);
  }
}
