import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticator, type Authenticator } from './create-authenticator.js';

const run = promisify(execFile);
const SCRIPT = resolve(fileURLToPath(import.meta.url), '../../../../scripts/token.ts');

/** Runs scripts/token.ts the way `npx tsx` does; resolves with stdout/stderr or rejects with exit code. */
const token = (args: string[]) => run(process.execPath, ['--import', 'tsx', SCRIPT, ...args], { timeout: 30_000 });

let dir: string;
let host: Authenticator;

beforeAll(async () => {
  dir = join(await mkdtemp(join(tmpdir(), 'fleetnet-token-script-')), 'dev-issuer');
  host = await createAuthenticator({ mode: 'dev', devIssuerDir: dir }); // what the local host does
});
afterAll(async () => {
  await rm(join(dir, '..'), { recursive: true, force: true });
});

describe('scripts/token.ts', () => {
  it('prints exactly one token that the local host accepts', async () => {
    const { stdout } = await token(['--role', 'Fleet.Agent', '--object-id', 'oid-42', '--dir', dir]);
    expect(stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    await expect(host.verify(`Bearer ${stdout.trim()}`)).resolves.toMatchObject({
      subject: 'oid-42',
      objectId: 'oid-42',
      roles: ['Fleet.Agent'],
    });
  });

  it('mints expired tokens on request', async () => {
    const { stdout } = await token(['--role', 'Fleet.Reader', '--expires-in', '-600', '--dir', dir]);
    await expect(host.verify(`Bearer ${stdout.trim()}`)).rejects.toMatchObject({ status: 401, message: /expired/ });
  });

  it.each([
    { name: 'unknown role', args: ['--role', 'Fleet.Root'], want: /Fleet\.Admin, Fleet\.Reader, Fleet\.Agent/ },
    { name: 'no role', args: [], want: /at least one --role/ },
  ])('fails with $name and prints nothing on stdout', async ({ args, want }) => {
    const error = (await token([...args, '--dir', dir]).catch((e: unknown) => e)) as { code: number; stdout: string; stderr: string };
    expect(error.code).toBe(1);
    expect(error.stdout).toBe('');
    expect(error.stderr).toMatch(want);
  });
});
