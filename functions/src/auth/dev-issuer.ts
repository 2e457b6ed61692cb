import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import {
  calculateJwkThumbprint,
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  importJWK,
  SignJWT,
  type JSONWebKeySet,
  type JWK,
  type JWTVerifyGetKey,
} from 'jose';
import type { FleetRole } from './principal.js';

/**
 * Local development token issuer: one signing key persisted under a directory, shared by the local
 * host (verifies) and `scripts/token.ts` (mints). Never used when Entra is configured.
 */

export const DEV_ISSUER_DEFAULT_ISSUER = 'http://localhost:7071/dev-issuer';
export const DEV_ISSUER_DEFAULT_AUDIENCE = 'api://fleetnet';
export const DEV_ISSUER_DEFAULT_DIR = '.fleetnet/dev-issuer';
/** Private JWK (with `kid`, `alg`, `use`), JSON, file mode 0600. */
export const DEV_ISSUER_KEY_FILE = 'signing-key.jwk.json';

export type DevIssuerAlgorithm = 'ES256' | 'RS256';

export interface DevIssuerOptions {
  issuer?: string;
  audience?: string;
  /** Algorithm of a newly created key; an existing key keeps its own. Default ES256. */
  algorithm?: DevIssuerAlgorithm;
  /** Clock, in milliseconds since the epoch (tests). Default Date.now. */
  now?: () => number;
}

export interface MintTokenOptions {
  /** One role, or several via `roles`; both may be given. Any string goes into `roles` (tests). */
  role?: FleetRole | string;
  roles?: readonly (FleetRole | string)[];
  /** `sub`. Default: objectId, else appId, else `dev-user`. */
  subject?: string;
  /** `oid`. */
  objectId?: string;
  /** `azp`. */
  appId?: string;
  /** `name`. */
  displayName?: string;
  /** `exp` = now + this, in seconds; negative gives an already expired token. Default 3600. */
  expiresInSeconds?: number;
  /** `nbf` = now + this, in seconds; positive gives a not-yet-valid token. Default 0. */
  notBeforeInSeconds?: number;
  /** Overrides the issuer's audience (`aud`). */
  audience?: string;
  /** Overrides the issuer's `iss`. */
  issuer?: string;
}

export interface DevIssuer {
  issuer: string;
  audience: string;
  /** The public key set, as served at a `jwks_uri`. */
  jwks: JSONWebKeySet;
  /** Key resolver for `createBearerTokenVerifier`. */
  keys: JWTVerifyGetKey;
  /** A signed compact JWT with Entra-shaped claims (iss, aud, sub, oid, azp, roles, iat, nbf, exp, ver). */
  mintToken(options?: MintTokenOptions): Promise<string>;
}

/** Loads the key under `dir`, creating dir (0700) and key (0600) on first use; safe to race. */
export async function loadOrCreateDevIssuer(dir: string, options: DevIssuerOptions = {}): Promise<DevIssuer> {
  const issuer = options.issuer ?? DEV_ISSUER_DEFAULT_ISSUER;
  const audience = options.audience ?? DEV_ISSUER_DEFAULT_AUDIENCE;
  const now = options.now ?? Date.now;
  const privateJwk = await loadOrCreateKey(dir, options.algorithm ?? 'ES256');
  const alg = privateJwk.alg as DevIssuerAlgorithm;
  const kid = privateJwk.kid as string;
  const signingKey = await importJWK(privateJwk, alg);
  const jwks: JSONWebKeySet = { keys: [toPublicJwk(privateJwk)] };

  async function mintToken(mint: MintTokenOptions = {}): Promise<string> {
    const nowSeconds = Math.floor(now() / 1000);
    const roles = [...(mint.role === undefined ? [] : [mint.role]), ...(mint.roles ?? [])];
    const claims: Record<string, unknown> = { ver: '2.0', roles };
    if (mint.objectId !== undefined) claims['oid'] = mint.objectId;
    if (mint.appId !== undefined) claims['azp'] = mint.appId;
    if (mint.displayName !== undefined) claims['name'] = mint.displayName;
    return new SignJWT(claims)
      .setProtectedHeader({ alg, kid, typ: 'JWT' })
      .setIssuer(mint.issuer ?? issuer)
      .setAudience(mint.audience ?? audience)
      .setSubject(mint.subject ?? mint.objectId ?? mint.appId ?? 'dev-user')
      .setJti(randomUUID())
      .setIssuedAt(nowSeconds)
      .setNotBefore(nowSeconds + (mint.notBeforeInSeconds ?? 0))
      .setExpirationTime(nowSeconds + (mint.expiresInSeconds ?? 3600))
      .sign(signingKey);
  }

  return { issuer, audience, jwks, keys: createLocalJWKSet(jwks), mintToken };
}

async function loadOrCreateKey(dir: string, algorithm: DevIssuerAlgorithm): Promise<JWK> {
  const path = join(dir, DEV_ISSUER_KEY_FILE);
  const existing = await readKeyFile(path);
  if (existing !== undefined) return existing;

  await mkdir(dir, { recursive: true, mode: 0o700 });
  const { privateKey } = await generateKeyPair(algorithm, { extractable: true });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(toPublicJwk(jwk));
  const content = `${JSON.stringify({ ...jwk, kid, alg: algorithm, use: 'sig' }, null, 2)}\n`;
  // Write privately, then hard-link into place: link() fails if another process won the race, and
  // readers never see a half-written key.
  const temp = `${path}.${process.pid}.${randomUUID()}.tmp`;
  await writeFile(temp, content, { mode: 0o600, flag: 'wx' });
  try {
    await link(temp, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    await unlink(temp);
  }
  const stored = await readKeyFile(path);
  if (stored === undefined) throw new Error(`Dev issuer key ${path} disappeared while being created.`);
  return stored;
}

async function readKeyFile(path: string): Promise<JWK | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let jwk: JWK;
  try {
    jwk = JSON.parse(text) as JWK;
  } catch {
    throw new Error(`Dev issuer key ${path} is not valid JSON; delete it to create a new one.`);
  }
  const usable =
    (jwk.alg === 'ES256' || jwk.alg === 'RS256') && typeof jwk.kid === 'string' && typeof jwk.d === 'string';
  if (!usable) throw new Error(`Dev issuer key ${path} is not a private ES256/RS256 JWK; delete it to create a new one.`);
  return jwk;
}

const PRIVATE_MEMBERS = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth']);

function toPublicJwk(jwk: JWK): JWK {
  return Object.fromEntries(Object.entries(jwk).filter(([name]) => !PRIVATE_MEMBERS.has(name))) as JWK;
}
