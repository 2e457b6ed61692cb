import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, errors, importJWK, SignJWT, type JWK, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../http/api-error.js';
import { DEV_ISSUER_KEY_FILE, loadOrCreateDevIssuer, type DevIssuer } from './dev-issuer.js';
import { createBearerTokenVerifier, type BearerTokenVerifier } from './verify-bearer-token.js';

const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
const nowSeconds = (): number => Math.floor(Date.now() / 1000);

let dirs: string[] = [];
let issuer: DevIssuer; // the trusted one
let stranger: DevIssuer; // same iss/aud, different key
let verify: BearerTokenVerifier;

/** Signs arbitrary claims/header with the private key persisted under `dir`. */
async function signWith(dir: string, claims: JWTPayload, header: Record<string, unknown> = {}): Promise<string> {
  const jwk = JSON.parse(await readFile(join(dir, DEV_ISSUER_KEY_FILE), 'utf8')) as JWK;
  const alg = typeof header['alg'] === 'string' ? header['alg'] : (jwk.alg as string);
  const { alg: _stored, ...unpinned } = jwk;
  const key = await importJWK(unpinned, alg);
  return new SignJWT(claims).setProtectedHeader({ kid: jwk.kid, ...header, alg }).sign(key);
}

const baseClaims = (): JWTPayload => ({
  iss: issuer.issuer,
  aud: issuer.audience,
  sub: 'subject-1',
  iat: nowSeconds(),
  exp: nowSeconds() + 600,
});

beforeAll(async () => {
  dirs = await Promise.all(['a', 'b', 'rsa'].map((name) => mkdtemp(join(tmpdir(), `fleetnet-auth-${name}-`))));
  issuer = await loadOrCreateDevIssuer(dirs[0]!);
  stranger = await loadOrCreateDevIssuer(dirs[1]!);
  const rsa = await loadOrCreateDevIssuer(dirs[2]!, { algorithm: 'RS256' });
  // Trusted keys as Entra publishes them: no `alg` member, so the key itself does not pin an algorithm.
  const trusted = [...issuer.jwks.keys, ...rsa.jwks.keys].map(({ alg: _alg, ...key }) => key);
  verify = createBearerTokenVerifier({
    issuer: issuer.issuer,
    audience: issuer.audience,
    keys: createLocalJWKSet({ keys: trusted }),
    clockToleranceSeconds: 0,
  });
});

afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('createBearerTokenVerifier: accepted tokens', () => {
  it('returns the principal from a valid token', async () => {
    const token = await issuer.mintToken({
      role: 'Fleet.Admin',
      objectId: '11111111-1111-1111-1111-111111111111',
      appId: '22222222-2222-2222-2222-222222222222',
      subject: 'sub-x',
      displayName: 'Ada',
    });
    await expect(verify(`Bearer ${token}`)).resolves.toEqual({
      subject: 'sub-x',
      objectId: '11111111-1111-1111-1111-111111111111',
      appId: '22222222-2222-2222-2222-222222222222',
      roles: ['Fleet.Admin'],
      displayName: 'Ada',
    });
  });

  it('accepts the scheme in any case and surrounding spaces', async () => {
    const token = await issuer.mintToken({ role: 'Fleet.Reader' });
    await expect(verify(`  bearer   ${token} `)).resolves.toMatchObject({ roles: ['Fleet.Reader'] });
  });

  it('accepts any of several audiences', async () => {
    const multi = createBearerTokenVerifier({
      issuer: issuer.issuer,
      audience: ['api://other', '33333333-3333-3333-3333-333333333333'],
      keys: issuer.keys,
    });
    const token = await issuer.mintToken({ audience: '33333333-3333-3333-3333-333333333333' });
    await expect(multi(`Bearer ${token}`)).resolves.toMatchObject({ subject: 'dev-user' });
  });

  it('takes appId from the v1 `appid` claim when `azp` is absent', async () => {
    const token = await signWith(dirs[0]!, { ...baseClaims(), appid: 'v1-app' });
    await expect(verify(`Bearer ${token}`)).resolves.toMatchObject({ appId: 'v1-app' });
  });

  it('allows clock skew up to clockToleranceSeconds', async () => {
    const lenient = createBearerTokenVerifier({ ...issuerOptions(), clockToleranceSeconds: 60 });
    const token = await issuer.mintToken({ expiresInSeconds: -30 });
    await expect(lenient(`Bearer ${token}`)).resolves.toMatchObject({ subject: 'dev-user' });
    await expect(verify(`Bearer ${token}`)).rejects.toMatchObject({ status: 401 });
  });
});

const issuerOptions = () => ({ issuer: issuer.issuer, audience: issuer.audience, keys: issuer.keys });

describe('createBearerTokenVerifier: rejected tokens → 401', () => {
  const cases: { name: string; header: () => Promise<string | null>; want: RegExp }[] = [
    { name: 'no header', header: async () => null, want: /bearer token is required/ },
    { name: 'empty header', header: async () => '   ', want: /bearer token is required/ },
    { name: 'Basic scheme', header: async () => 'Basic dXNlcjpwYXNz', want: /scheme must be Bearer/ },
    {
      name: 'another scheme with a valid token',
      header: async () => `Token ${await issuer.mintToken()}`,
      want: /scheme must be Bearer/,
    },
    { name: 'Bearer without token', header: async () => 'Bearer', want: /malformed/ },
    { name: 'garbage token', header: async () => 'Bearer not-a-jwt', want: /malformed/ },
    { name: 'three garbage segments', header: async () => 'Bearer aaa.bbb.ccc', want: /malformed/ },
    { name: 'two tokens', header: async () => `Bearer ${await issuer.mintToken()} x`, want: /malformed/ },
    { name: 'oversized header', header: async () => `Bearer ${'a'.repeat(20_000)}.b.c`, want: /malformed/ },
    {
      name: 'expired',
      header: async () => `Bearer ${await issuer.mintToken({ expiresInSeconds: -60 })}`,
      want: /expired/,
    },
    {
      name: 'not yet valid',
      header: async () => `Bearer ${await issuer.mintToken({ notBeforeInSeconds: 300 })}`,
      want: /not yet valid/,
    },
    {
      name: 'wrong audience',
      header: async () => `Bearer ${await issuer.mintToken({ audience: 'api://someone-else' })}`,
      want: /another audience/,
    },
    {
      name: 'wrong issuer',
      header: async () => `Bearer ${await issuer.mintToken({ issuer: 'https://evil.example/' })}`,
      want: /untrusted issuer/,
    },
    {
      name: 'signed by another key',
      header: async () => `Bearer ${await stranger.mintToken({ role: 'Fleet.Admin' })}`,
      want: /signature is not valid/,
    },
    {
      name: 'signed by another key claiming the trusted kid',
      header: async () => {
        const kid = issuer.jwks.keys[0]!.kid;
        return `Bearer ${await signWith(dirs[1]!, { ...baseClaims(), roles: ['Fleet.Admin'] }, { kid })}`;
      },
      want: /signature is not valid/,
    },
    {
      name: 'payload tampered after signing',
      header: async () => {
        const [head, , sig] = (await issuer.mintToken({ role: 'Fleet.Reader' })).split('.');
        const payload = b64url({ ...baseClaims(), roles: ['Fleet.Admin'] });
        return `Bearer ${head}.${payload}.${sig}`;
      },
      want: /signature is not valid/,
    },
    {
      name: 'alg none',
      header: async () =>
        `Bearer ${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ ...baseClaims(), roles: ['Fleet.Admin'] })}.`,
      want: /algorithm is not accepted/,
    },
    {
      name: 'HS256 with the public key as secret',
      header: async () => {
        const secret = new TextEncoder().encode(JSON.stringify(issuer.jwks.keys[0]));
        const kid = issuer.jwks.keys[0]!.kid;
        const token = await new SignJWT({ ...baseClaims(), roles: ['Fleet.Admin'] })
          .setProtectedHeader({ alg: 'HS256', kid })
          .sign(secret);
        return `Bearer ${token}`;
      },
      want: /algorithm is not accepted/,
    },
    {
      name: 'PS256 by a trusted RSA key whose JWK names no alg (only the allow-list refuses it)',
      header: async () => `Bearer ${await signWith(dirs[2]!, baseClaims(), { alg: 'PS256' })}`,
      want: /algorithm is not accepted/,
    },
    {
      name: 'missing exp',
      header: async () => {
        const { exp: _exp, ...claims } = baseClaims();
        return `Bearer ${await signWith(dirs[0]!, claims)}`;
      },
      want: /'exp' claim/,
    },
    {
      name: 'missing sub',
      header: async () => {
        const { sub: _sub, ...claims } = baseClaims();
        return `Bearer ${await signWith(dirs[0]!, claims)}`;
      },
      want: /'sub' claim/,
    },
  ];

  it.each(cases)('$name', async ({ header, want }) => {
    const value = await header();
    const error = await verify(value).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ApiError);
    const apiError = error as ApiError;
    expect(apiError.status).toBe(401);
    expect(apiError.code).toBe('Unauthorized');
    expect(apiError.message).toMatch(want);
    expect(apiError.headers['WWW-Authenticate']).toMatch(/^Bearer/);
    // The reason never echoes the credential.
    const credential = value?.trim().split(/\s+/)[1];
    if (credential) expect(apiError.message).not.toContain(credential.slice(0, 16));
  });
});

describe('createBearerTokenVerifier: roles claim', () => {
  const cases: { name: string; roles: unknown; want: string[] }[] = [
    { name: 'keeps Fleet roles only', roles: ['Fleet.Reader', 'Directory.Read', 'Fleet.Agent'], want: ['Fleet.Reader', 'Fleet.Agent'] },
    { name: 'is case-sensitive', roles: ['fleet.admin', 'FLEET.READER'], want: [] },
    { name: 'de-duplicates', roles: ['Fleet.Admin', 'Fleet.Admin'], want: ['Fleet.Admin'] },
    { name: 'ignores a non-array claim', roles: 'Fleet.Admin', want: [] },
    { name: 'ignores non-string members', roles: [1, null, { v: 'Fleet.Admin' }, 'Fleet.Agent'], want: ['Fleet.Agent'] },
    { name: 'absent claim → no roles', roles: undefined, want: [] },
  ];

  it.each(cases)('$name', async ({ roles, want }) => {
    const claims = roles === undefined ? baseClaims() : { ...baseClaims(), roles };
    const principal = await verify(`Bearer ${await signWith(dirs[0]!, claims)}`);
    expect(principal.roles).toEqual(want);
  });

  it('ignores delegated scopes (scp)', async () => {
    const principal = await verify(`Bearer ${await signWith(dirs[0]!, { ...baseClaims(), scp: 'Fleet.Admin' })}`);
    expect(principal.roles).toEqual([]);
  });
});

describe('createBearerTokenVerifier: key set failures', () => {
  const failingKeys = (error: Error): JWTVerifyGetKey => async () => {
    throw error;
  };

  it.each([
    ['JWKS timeout', new errors.JWKSTimeout()],
    ['network error', new TypeError('fetch failed')],
  ])('rethrows a %s instead of blaming the token', async (_name, cause) => {
    const v = createBearerTokenVerifier({ ...issuerOptions(), keys: failingKeys(cause) });
    const token = await issuer.mintToken();
    await expect(v(`Bearer ${token}`)).rejects.toBe(cause);
  });
});
