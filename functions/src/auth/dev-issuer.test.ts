import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { customFetch, decodeJwt, decodeProtectedHeader, type FetchImplementation } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiError } from '../http/api-error.js';
import { createAuthenticator } from './create-authenticator.js';
import {
  DEV_ISSUER_DEFAULT_AUDIENCE,
  DEV_ISSUER_DEFAULT_ISSUER,
  DEV_ISSUER_KEY_FILE,
  loadOrCreateDevIssuer,
} from './dev-issuer.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'fleetnet-dev-issuer-'));
  dirs.push(dir);
  return dir;
}
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('loadOrCreateDevIssuer', () => {
  it('creates an ES256 key with private file modes and defaults', async () => {
    const dir = join(await tempDir(), 'nested', 'dev-issuer');
    const issuer = await loadOrCreateDevIssuer(dir);
    expect(issuer.issuer).toBe(DEV_ISSUER_DEFAULT_ISSUER);
    expect(issuer.audience).toBe(DEV_ISSUER_DEFAULT_AUDIENCE);
    expect((await stat(join(dir, DEV_ISSUER_KEY_FILE))).mode & 0o777).toBe(0o600);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    const [key, ...rest] = issuer.jwks.keys;
    expect(rest).toEqual([]);
    expect(key).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(key).not.toHaveProperty('d'); // the public JWKS carries no private member
  });

  it('reuses the persisted key on the next load (host and token script agree)', async () => {
    const dir = await tempDir();
    const first = await loadOrCreateDevIssuer(dir);
    const second = await loadOrCreateDevIssuer(dir, { algorithm: 'RS256' });
    expect(second.jwks).toEqual(first.jwks);
  });

  it('ends with one key when several loaders race on first use', async () => {
    const dir = await tempDir();
    const issuers = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateDevIssuer(dir)));
    const kids = new Set(issuers.map((i) => i.jwks.keys[0]?.kid));
    expect(kids.size).toBe(1);
    expect(JSON.parse(await readFile(join(dir, DEV_ISSUER_KEY_FILE), 'utf8'))).toMatchObject({ kid: [...kids][0] });
  });

  it('creates RS256 keys on request', async () => {
    const issuer = await loadOrCreateDevIssuer(await tempDir(), { algorithm: 'RS256' });
    expect(issuer.jwks.keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256' });
    expect(decodeProtectedHeader(await issuer.mintToken())).toMatchObject({ alg: 'RS256' });
  });

  it('refuses a corrupt key file without printing it', async () => {
    const dir = await tempDir();
    await loadOrCreateDevIssuer(dir);
    await writeFile(join(dir, DEV_ISSUER_KEY_FILE), '{"kty":"oct","k":"c2VjcmV0"}');
    const error = (await loadOrCreateDevIssuer(dir).catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(/not a private ES256\/RS256 JWK; delete it/);
    expect(error.message).not.toContain('c2VjcmV0');
  });

  it('mints Entra-shaped claims with the requested lifetime', async () => {
    const now = 1_750_000_000_000;
    const issuer = await loadOrCreateDevIssuer(await tempDir(), { now: () => now });
    const token = await issuer.mintToken({
      roles: ['Fleet.Agent'],
      role: 'Fleet.Reader',
      objectId: 'oid-1',
      appId: 'app-1',
      expiresInSeconds: 120,
      notBeforeInSeconds: 10,
    });
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'ES256', typ: 'JWT', kid: issuer.jwks.keys[0]?.kid });
    expect(decodeJwt(token)).toMatchObject({
      iss: DEV_ISSUER_DEFAULT_ISSUER,
      aud: DEV_ISSUER_DEFAULT_AUDIENCE,
      sub: 'oid-1',
      oid: 'oid-1',
      azp: 'app-1',
      roles: ['Fleet.Reader', 'Fleet.Agent'],
      ver: '2.0',
      iat: now / 1000,
      nbf: now / 1000 + 10,
      exp: now / 1000 + 120,
    });
  });
});

describe('createAuthenticator (dev mode)', () => {
  it('verifies tokens minted from the same directory by another loader', async () => {
    const dir = await tempDir();
    const { verify, devIssuer } = await createAuthenticator({ mode: 'dev', devIssuerDir: dir });
    expect(devIssuer).toBeDefined();
    const minter = await loadOrCreateDevIssuer(dir); // what scripts/token.ts does
    const token = await minter.mintToken({ role: 'Fleet.Admin', objectId: 'oid-9' });
    await expect(verify(`Bearer ${token}`)).resolves.toMatchObject({ roles: ['Fleet.Admin'], objectId: 'oid-9' });
  });

  it('rejects tokens minted from another directory', async () => {
    const { verify } = await createAuthenticator({ mode: 'dev', devIssuerDir: await tempDir() });
    const minter = await loadOrCreateDevIssuer(await tempDir());
    await expect(verify(`Bearer ${await minter.mintToken({ role: 'Fleet.Admin' })}`)).rejects.toMatchObject({ status: 401 });
  });

});

describe('createAuthenticator (Entra mode)', () => {
  const JWKS_URI = 'https://login.microsoftonline.com/t/discovery/v2.0/keys';

  it('fetches the JWKS lazily from jwksUri and verifies against it', async () => {
    const idp = await loadOrCreateDevIssuer(await tempDir(), { algorithm: 'RS256', issuer: 'https://login.microsoftonline.com/t/v2.0' });
    const requested: string[] = [];
    const fetchJwks: FetchImplementation = async (url) => {
      requested.push(url);
      return Response.json(idp.jwks);
    };
    const { verify, devIssuer } = await createAuthenticator(
      { mode: 'entra', issuer: idp.issuer, audience: ['api://fleetnet'], jwksUri: JWKS_URI },
      { remoteJwks: { [customFetch]: fetchJwks } },
    );
    expect(devIssuer).toBeUndefined();
    expect(requested).toEqual([]);
    const token = await idp.mintToken({ role: 'Fleet.Reader', appId: 'app-7' });
    await expect(verify(`Bearer ${token}`)).resolves.toMatchObject({ roles: ['Fleet.Reader'], appId: 'app-7' });
    expect(requested).toEqual([JWKS_URI]);
  });

  it('surfaces an unreachable JWKS as a server error, not a 401', async () => {
    const idp = await loadOrCreateDevIssuer(await tempDir(), { issuer: 'https://login.microsoftonline.com/t/v2.0' });
    const down = new TypeError('fetch failed');
    const { verify } = await createAuthenticator(
      { mode: 'entra', issuer: idp.issuer, audience: ['api://fleetnet'], jwksUri: JWKS_URI },
      { remoteJwks: { [customFetch]: async () => Promise.reject(down) } },
    );
    const error = await verify(`Bearer ${await idp.mintToken()}`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(ApiError);
  });
});
