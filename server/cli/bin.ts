/**
 * The `intentbus` executable: runs {@linkcode cli} on the process's
 * arguments and exits with its code. `deno task cli -- <args>` runs it; the
 * npm package points its `bin` at the built copy.
 *
 * @module
 */

import process from "node:process";
import { cli } from "./main.ts";

process.exitCode = await cli(process.argv.slice(2));
