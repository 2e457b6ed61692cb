/**
 * The local Entra authority refuses what Entra refuses (so the console test's success means something):
 * unregistered redirect URIs, missing PKCE, a wrong verifier, a reused code, a token request without
 * Origin; and what it issues verifies with its published keys (fetched over its own TLS, trusted
 * explicitly) as the API's verifier does it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRemoteJWKSet, customFetch, jwtVerify } from 'jose';
import { startFakeEntra, type FakeEntra } from './fake-entra.js';
import { fetchTrusting } from './local-https.js';

const API = { appIdUri: 'api://fleetnet-test', clientId: 'api-client-id' };
const SPA = 'console-client-id';
const REDIRECT = 'http://127.0.0.1:9/console/';
const USER = { objectId: 'oid-1', name: 'Ana', username: 'ana@fleetnet.test', roles: ['Fleet.Reader'] };
let entra: FakeEntra;

beforeAll(async () => {
  entra = await startFakeEntra({ api: API });
  entra.registerSpa(SPA, [REDIRECT]);
  entra.signInAs(USER);
});
afterAll(() => entra?.close());

interface Answer {
  status: number;
  location?: string;
  body: string;
}

function send(path: string, options: { method?: string; form?: Record<string, string>; origin?: string } = {}): Promise<Answer> {
  const body = options.form ? new URLSearchParams(options.form).toString() : undefined;
  const headers: Record<string, string> = { ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}), ...(options.origin ? { origin: options.origin } : {}) };
  return new Promise((resolve, reject) => {
    const req = request(`${entra.url}/${entra.tenantId}${path}`, { method: options.method ?? 'GET', ca: entra.ca, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ...(res.headers.location ? { location: res.headers.location } : {}), body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const verifier = randomBytes(32).toString('base64url');
const challenge = createHash('sha256').update(verifier).digest('base64url');
const authorizeQuery = (extra: Record<string, string> = {}) =>
  new URLSearchParams({ client_id: SPA, redirect_uri: REDIRECT, response_type: 'code', scope: `${API.appIdUri}/.default openid profile offline_access`, state: 's1', nonce: 'n1', code_challenge: challenge, code_challenge_method: 'S256', ...extra }).toString();
const fragment = (answer: Answer) => Object.fromEntries(new URLSearchParams(answer.location!.split('#')[1]));

async function issueCode(): Promise<string> {
  const answer = await send(`/oauth2/v2.0/authorize?${authorizeQuery()}`);
  expect(answer.status).toBe(302);
  return fragment(answer).code!;
}
/** `origin: null` sends none, as a server-side (non-browser) caller would */
const redeem = (code: string, codeVerifier = verifier, origin: string | null = 'http://127.0.0.1:9') =>
  send('/oauth2/v2.0/token', { method: 'POST', form: { grant_type: 'authorization_code', client_id: SPA, redirect_uri: REDIRECT, code, code_verifier: codeVerifier }, ...(origin !== null ? { origin } : {}) });

describe('fake Entra authority', () => {
  it('publishes its issuer and endpoints, and its tokens verify with its keys', async () => {
    const discovery = JSON.parse((await send('/v2.0/.well-known/openid-configuration')).body) as Record<string, string>;
    expect(discovery.issuer).toBe(entra.issuer);
    expect(discovery.jwks_uri).toBe(entra.jwksUri);
    const keys = createRemoteJWKSet(new URL(entra.jwksUri), { [customFetch]: fetchTrusting(entra.ca) });
    const { payload } = await jwtVerify(await entra.accessToken(USER, SPA), keys, { issuer: entra.issuer, audience: API.clientId });
    expect(payload).toMatchObject({ oid: USER.objectId, azp: SPA, roles: USER.roles, tid: entra.tenantId });
  });

  it('refuses an unknown client or an unregistered redirect URI with a page, never a redirect', async () => {
    const wrongRedirect = await send(`/oauth2/v2.0/authorize?${authorizeQuery({ redirect_uri: 'http://127.0.0.1:9/elsewhere/' })}`);
    expect(wrongRedirect.status).toBe(400);
    expect(wrongRedirect.location).toBeUndefined();
    expect(wrongRedirect.body).toContain('AADSTS50011');
    expect((await send(`/oauth2/v2.0/authorize?${authorizeQuery({ client_id: 'nobody' })}`)).body).toContain('AADSTS700016');
  });

  it('sends protocol errors back to the app: no PKCE, a foreign scope, nobody signed in', async () => {
    expect(fragment(await send(`/oauth2/v2.0/authorize?${authorizeQuery({ code_challenge_method: 'plain' })}`))).toMatchObject({ error: 'invalid_request', state: 's1' });
    expect(fragment(await send(`/oauth2/v2.0/authorize?${authorizeQuery({ scope: 'https://graph.microsoft.com/.default openid' })}`))).toMatchObject({ error: 'invalid_scope' });
    entra.signInAs(undefined);
    try {
      expect(fragment(await send(`/oauth2/v2.0/authorize?${authorizeQuery()}`))).toMatchObject({ error: 'login_required' });
    } finally {
      entra.signInAs(USER);
    }
  });

  it('redeems a code once, only with the matching verifier and only cross-origin; refresh tokens work', async () => {
    expect((await redeem(await issueCode(), verifier, null)).body).toContain('AADSTS9002327');
    const wrong = await redeem(await issueCode(), randomBytes(32).toString('base64url'));
    expect(wrong.status).toBe(400);
    expect(JSON.parse(wrong.body)).toMatchObject({ error: 'invalid_grant' });

    const code = await issueCode();
    const first = await redeem(code);
    expect(first.status).toBe(200);
    const tokens = JSON.parse(first.body) as Record<string, string>;
    expect(tokens).toMatchObject({ token_type: 'Bearer', scope: `${API.appIdUri}/.default` });
    expect(JSON.parse(Buffer.from(tokens.client_info!, 'base64url').toString())).toEqual({ uid: USER.objectId, utid: entra.tenantId });
    expect((await redeem(code)).status).toBe(400);

    const refreshed = await send('/oauth2/v2.0/token', { method: 'POST', form: { grant_type: 'refresh_token', client_id: SPA, refresh_token: tokens.refresh_token! }, origin: 'http://127.0.0.1:9' });
    expect(refreshed.status).toBe(200);
    const other = await send('/oauth2/v2.0/token', { method: 'POST', form: { grant_type: 'refresh_token', client_id: 'another-app', refresh_token: tokens.refresh_token! }, origin: 'http://127.0.0.1:9' });
    expect(other.status).toBe(400);
  });
});
