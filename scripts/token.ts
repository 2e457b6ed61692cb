/**
 * Mints a development bearer token from the local dev issuer (the same persisted key the local host
 * verifies with) and prints it, alone, on stdout. Diagnostics go to stderr.
 *
 *   npx tsx scripts/token.ts --role Fleet.Admin [--role Fleet.Reader] [--object-id X] [--app-id Y]
 *                            [--subject S] [--expires-in 3600] [--dir .fleetnet/dev-issuer]
 *   npm run -s token -- --role Fleet.Agent --object-id <agent identity of a cluster>
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEV_ISSUER_DEFAULT_DIR, loadOrCreateDevIssuer } from '../functions/src/auth/dev-issuer.js';
import { FLEET_ROLES, isFleetRole, type FleetRole } from '../functions/src/auth/principal.js';

const collectRole = (value: string, previous: FleetRole[]): FleetRole[] => {
  if (!isFleetRole(value)) throw new InvalidArgumentError(`expected one of ${FLEET_ROLES.join(', ')}.`);
  return [...previous, value];
};

const parseSeconds = (value: string): number => {
  if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number of seconds.');
  return Number(value);
};

interface TokenOptions {
  role: FleetRole[];
  objectId?: string;
  appId?: string;
  subject?: string;
  expiresIn: number;
  dir: string;
}

const program = new Command()
  .name('token')
  .description('Print a dev issuer bearer token for the local fleetnet API.')
  .addOption(new Option('--role <role>', 'app role (repeatable)').choices(FLEET_ROLES).argParser(collectRole).default([]))
  .option('--object-id <oid>', 'oid claim (e.g. an agent identity bound to a cluster)')
  .option('--app-id <appId>', 'azp claim')
  .option('--subject <sub>', 'sub claim (default: object id, else app id, else dev-user)')
  .option('--expires-in <seconds>', 'lifetime in seconds (negative: already expired)', parseSeconds, 3600)
  .option('--dir <path>', 'dev issuer key directory', process.env['FLEETNET_AUTH_DEV_ISSUER_DIR'] ?? DEV_ISSUER_DEFAULT_DIR)
  .action(async (options: TokenOptions) => {
    if (options.role.length === 0) program.error('error: at least one --role is required.');
    const issuer = await loadOrCreateDevIssuer(options.dir);
    const token = await issuer.mintToken({
      roles: options.role,
      expiresInSeconds: options.expiresIn,
      ...(options.objectId === undefined ? {} : { objectId: options.objectId }),
      ...(options.appId === undefined ? {} : { appId: options.appId }),
      ...(options.subject === undefined ? {} : { subject: options.subject }),
    });
    process.stdout.write(`${token}\n`);
  });

await program.parseAsync();
