/**
 * Entry point of the `fleetnet` CLI: `npm run -s fleetnet -- flows --since 1h --verdict DROPPED`.
 * Exit codes: 0 success, 1 API or usage error (the message is on stderr).
 */
import { CommanderError } from 'commander';
import { ApiCallError } from './api-client.js';
import { createProgram } from './program.js';

const program = createProgram({
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  env: process.env,
  progressTty: process.stderr.isTTY === true,
});

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) process.exitCode = error.exitCode;
  else {
    process.stderr.write(`fleetnet: ${error instanceof ApiCallError ? error.message : error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}
