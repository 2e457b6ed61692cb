#!/usr/bin/env node
/**
 * Entry point of the `fleetnet` CLI: `npm run -s fleetnet -- flows --since 1h --verdict DROPPED`.
 * Exit codes: cli/exit-codes.ts (0 ok, 2 usage, 3 auth, 4 invalid input, 5 not found, 6 conflict,
 * 7 unreachable/timeout/5xx, 8 replay-only found would-be drops, 1 anything else); the message is on stderr.
 */
import { createInterface } from 'node:readline/promises';
import { runCli } from './run-cli.js';

process.exitCode = await runCli(process.argv.slice(2), {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  env: process.env,
  progressTty: process.stderr.isTTY === true,
  stdoutTty: process.stdout.isTTY === true,
  stdinTty: process.stdin.isTTY === true,
  confirm: async (question) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    try {
      return /^y(es)?$/i.test((await rl.question(question)).trim());
    } finally {
      rl.close();
    }
  },
  stdin: async () => {
    let text = '';
    for await (const chunk of process.stdin) text += String(chunk);
    return text;
  },
});
