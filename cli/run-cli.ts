/**
 * Runs one `fleetnet` invocation and returns its exit code (exit-codes.ts); the error, if any, is one
 * `fleetnet: …` message on `io.err` (commander prints its own usage errors; API errors name the flags at
 * fault, describe-api-error.ts). Never exits the process.
 */
import { CommanderError } from 'commander';
import { ApiError } from './api-client.js';
import { describeApiError } from './describe-api-error.js';
import { exitCodeFor } from './exit-codes.js';
import { createProgram, readVersion, type CliIo } from './program.js';

export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  // `--version` / `-V` is global like the other global options: accepted after a subcommand too
  const end = argv.indexOf('--');
  if ((end < 0 ? argv : argv.slice(0, end)).some((a) => a === '--version' || a === '-V')) {
    io.out(`${readVersion()}\n`);
    return 0;
  }
  const program = createProgram(io);
  try {
    await program.parseAsync(['node', 'fleetnet', ...argv]);
    return 0;
  } catch (error) {
    if (error instanceof ApiError) io.err(`fleetnet: ${describeApiError(error)}\n`);
    else if (!(error instanceof CommanderError)) io.err(`fleetnet: ${error instanceof Error ? error.message : String(error)}\n`);
    return exitCodeFor(error);
  }
}
