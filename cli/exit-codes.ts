/**
 * Exit codes of the `fleetnet` CLI: one class of failure, one code, so scripts can branch on `$?`.
 *
 * | code | name        | when                                                                                  |
 * |------|-------------|---------------------------------------------------------------------------------------|
 * | 0    | OK          | success (also `--help`, `--version`)                                                  |
 * | 1    | ERROR       | anything not listed below (a bug, an unexpected answer)                              |
 * | 2    | USAGE       | unknown command or option, missing or malformed argument, input file not readable     |
 * | 3    | AUTH        | the API answered 401 or 403                                                           |
 * | 4    | INVALID     | input rejected: YAML/JSON syntax error, empty input, any document rejected (also with |
 * |      |             | `--dry-run`), or the API answered 400, 413, 415 or 422                                |
 * | 5    | NOT_FOUND   | the API answered 404                                                                  |
 * | 6    | CONFLICT    | the API answered 409 or 412 (precondition failed)                                     |
 * | 7    | UNAVAILABLE | the API is unreachable, did not answer within `--timeout`, or answered 429 or 5xx     |
 * | 8    | WOULD_DROP  | `policy apply --replay-only`: the replay found flows allowed now that would be dropped |
 *
 * Documented for users in docs/cli.md; keep both in step.
 */
import { CommanderError } from 'commander';
import { ApiError } from '../openapi/client.js';

export const EXIT = {
  OK: 0,
  ERROR: 1,
  USAGE: 2,
  AUTH: 3,
  INVALID: 4,
  NOT_FOUND: 5,
  CONFLICT: 6,
  UNAVAILABLE: 7,
  WOULD_DROP: 8,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A failure the CLI explains in words; `exitCode` is its class. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** The exit code for an HTTP status the API answered with (a non-2xx one). */
export function exitCodeForStatus(status: number): ExitCode {
  if (status === 401 || status === 403) return EXIT.AUTH;
  if (status === 404) return EXIT.NOT_FOUND;
  if (status === 409 || status === 412) return EXIT.CONFLICT;
  if (status === 429 || status >= 500) return EXIT.UNAVAILABLE;
  if (status === 400 || status === 413 || status === 415 || status === 422) return EXIT.INVALID;
  return EXIT.ERROR;
}

/** The exit code for anything thrown while running a command. */
export function exitCodeFor(error: unknown): ExitCode {
  if (error instanceof CommanderError) {
    // help and version "errors" carry exit code 0
    return error.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
  }
  if (error instanceof CliError) return error.exitCode;
  if (error instanceof ApiError) return exitCodeForStatus(error.status);
  return EXIT.ERROR;
}
