/**
 * A local fake of Microsoft Entra ID's v2.0 endpoints for one tenant, spoken to by the real
 * `@azure/msal-browser` in Chromium (the console's sign-in) and by the API's real token verifier (jose's
 * remote JWKS). HTTPS on loopback (local-https.ts): MSAL refuses http authorities, and the browser and the
 * API trust this server's own certificate explicitly.
 *
 * Protocol (as Entra answers a single-page app; `T` = tenant id, every path under `/T`):
 *   GET  /T/v2.0/.well-known/openid-configuration → the tenant's discovery document (issuer `<url>/T/v2.0`,
 *        the endpoints below); `Access-Control-Allow-Origin: *`, as Entra sends.
 *   GET  /T/discovery/v2.0/keys → the JWKS (one RS256 key, `kid`).
 *   GET  /T/oauth2/v2.0/authorize → the signed-in user (`signInAs`) is signed in at once (an SSO session).
 *        Unknown client_id (AADSTS700016) or a redirect_uri not registered for it (AADSTS50011): a 400 page,
 *        no redirect — as Entra. Otherwise errors go back to the redirect URI (`error`,
 *        `error_description`): response_type other than `code` (unsupported_response_type), no PKCE
 *        S256 challenge (invalid_request, AADSTS9002325), a scope for another resource (invalid_scope,
 *        AADSTS500011), no signed-in user (login_required, AADSTS50058). Success: `code`, `client_info`,
 *        `state`, `session_state` in the fragment or query (`response_mode`, default fragment for this fake).
 *   POST /T/oauth2/v2.0/token (form) — CORS for the calling origin (preflight answered); a request without
 *        `Origin` is refused (AADSTS9002327: SPA tokens are redeemed cross-origin only).
 *        `authorization_code`: the code once, for its client and redirect_uri, with `code_verifier` whose
 *        S256 is the challenge (else 400 invalid_grant). `refresh_token`: a refresh token this fake issued
 *        to that client. Answer: token_type, scope, expires_in, ext_expires_in, access_token (v2: `aud` =
 *        the API's client id, `iss`, `tid`, `oid`, `sub`, `azp` = the console's client id, `roles`, `name`,
 *        `preferred_username`), refresh_token, id_token (`aud` = client id, `nonce`), client_info
 *        (base64url `{uid, utid}`).
 *   GET  /T/oauth2/v2.0/logout → ends the session; 302 to `post_logout_redirect_uri` when it is a redirect URI
 *        registered for some client, else a plain "signed out" page.
 * Every request is logged (`requests`) before any check.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { startLocalHttpsServer } from './local-https.js';

export interface FakeEntraUser {
  objectId: string;
  name: string;
  username: string;
  /** app roles assigned to the user on the API's app registration (e.g. Fleet.Reader) */
  roles: string[];
}

export interface FakeEntraOptions {
  tenantId?: string;
  /** the API's app registration: its App ID URI and client id (either names the resource in a scope) */
  api: { appIdUri: string; clientId: string };
  accessTokenLifetimeSeconds?: number;
}

export interface FakeEntraRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  form: Record<string, string>;
  origin?: string;
}

export interface FakeEntra {
  url: string;
  tenantId: string;
  /** `<url>/<tenant>/v2.0`: FLEETNET_AUTH_ISSUER */
  issuer: string;
  /** FLEETNET_AUTH_JWKS_URI */
  jwksUri: string;
  /** the server's certificate (PEM), for Node clients; `spkiSha256` for Chromium */
  ca: string;
  spkiSha256: string;
  requests: FakeEntraRequest[];
  /** a single-page app registration (the console) with its redirect URIs */
  registerSpa(clientId: string, redirectUris: string[]): void;
  /** the user with an SSO session at the authority (undefined: nobody signed in) */
  signInAs(user: FakeEntraUser | undefined): void;
  /** the lifetime (`expires_in`) of access tokens issued from now on */
  setAccessTokenLifetime(seconds: number): void;
  /** an access token for the API, as `client` would receive one for `user` (for seeding through the API) */
  accessToken(user: FakeEntraUser, client?: string): Promise<string>;
  close(): Promise<void>;
}

const OIDC_SCOPES = new Set(['openid', 'profile', 'offline_access', 'email']);

interface IssuedCode {
  clientId: string;
  redirectUri: string;
  challenge: string;
  scopes: string[];
  nonce?: string;
  user: FakeEntraUser;
}

export async function startFakeEntra(options: FakeEntraOptions): Promise<FakeEntra> {
  const tenantId = options.tenantId ?? randomUUID();
  let lifetime = options.accessTokenLifetimeSeconds ?? 3599;
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = randomBytes(12).toString('base64url');
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, use: 'sig', alg: 'RS256' };
  const spas = new Map<string, Set<string>>();
  const codes = new Map<string, IssuedCode>();
  const refreshTokens = new Map<string, { clientId: string; user: FakeEntraUser; scopes: string[] }>();
  let signedIn: FakeEntraUser | undefined;
  let base = '';
  const issuer = () => `${base}/${tenantId}/v2.0`;

  const sign = (claims: Record<string, unknown>, audience: string, seconds: number) =>
    new SignJWT({ ver: '2.0', tid: tenantId, ...claims })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid })
      .setIssuer(issuer())
      .setAudience(audience)
      .setIssuedAt()
      .setNotBefore('0s')
      .setExpirationTime(`${seconds}s`)
      .sign(privateKey);
  /** Entra's `sub` is pairwise: one value per user and application. */
  const pairwiseSubject = (user: FakeEntraUser, appId: string) => createHash('sha256').update(`${user.objectId}|${appId}`).digest('base64url').slice(0, 43);
  const accessToken = (user: FakeEntraUser, clientId: string) =>
    sign(
      { oid: user.objectId, sub: pairwiseSubject(user, options.api.clientId), azp: clientId, azpacr: '0', name: user.name, preferred_username: user.username, roles: user.roles, uti: randomBytes(16).toString('base64url') },
      options.api.clientId,
      lifetime,
    );
  const clientInfo = (user: FakeEntraUser) => Buffer.from(JSON.stringify({ uid: user.objectId, utid: tenantId })).toString('base64url');

  /** The scopes' resource must be the API (by App ID URI or client id); OIDC scopes ride along. */
  const scopeProblem = (scopes: string[]): string | undefined => {
    const foreign = scopes.filter((s) => !OIDC_SCOPES.has(s) && !s.startsWith(`${options.api.appIdUri}/`) && !s.startsWith(`${options.api.clientId}/`));
    return foreign.length ? `AADSTS500011: The resource principal named ${foreign[0]} was not found in the tenant named ${tenantId}.` : undefined;
  };

  const page = (res: ServerResponse, status: number, text: string) => {
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><title>Sign in</title><p>${text.replace(/[<&]/g, (c) => (c === '<' ? '&lt;' : '&amp;'))}</p>`);
  };
  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
    res.end(JSON.stringify(body));
  };
  const redirect = (res: ServerResponse, location: string) => {
    res.writeHead(302, { location });
    res.end();
  };
  const backTo = (redirectUri: string, mode: string | undefined, params: Record<string, string>) =>
    `${redirectUri}${mode === 'query' ? '?' : '#'}${new URLSearchParams(params).toString()}`;

  const authorize = (res: ServerResponse, q: Record<string, string>) => {
    const uris = spas.get(q.client_id ?? '');
    if (!uris) return page(res, 400, `AADSTS700016: Application with identifier '${q.client_id ?? ''}' was not found in the directory.`);
    const redirectUri = q.redirect_uri ?? '';
    if (!uris.has(redirectUri)) return page(res, 400, `AADSTS50011: The redirect URI '${redirectUri}' specified in the request does not match the redirect URIs configured for the application.`);
    const fail = (error: string, description: string) => redirect(res, backTo(redirectUri, q.response_mode, { error, error_description: description, ...(q.state ? { state: q.state } : {}) }));
    if (q.response_type !== 'code') return fail('unsupported_response_type', 'AADSTS700054: response_type is not enabled for the application.');
    if (!q.code_challenge || q.code_challenge_method !== 'S256') return fail('invalid_request', 'AADSTS9002325: Proof Key for Code Exchange is required for cross-origin authorization code redemption.');
    const scopes = (q.scope ?? '').split(' ').filter((s) => s !== '');
    const problem = scopeProblem(scopes);
    if (problem) return fail('invalid_scope', problem);
    if (!signedIn) return fail('login_required', 'AADSTS50058: A silent sign-in request was sent but no user is signed in.');
    const code = randomBytes(32).toString('base64url');
    codes.set(code, { clientId: q.client_id!, redirectUri, challenge: q.code_challenge, scopes, user: signedIn, ...(q.nonce ? { nonce: q.nonce } : {}) });
    redirect(res, backTo(redirectUri, q.response_mode, { code, client_info: clientInfo(signedIn), ...(q.state ? { state: q.state } : {}), session_state: randomUUID() }));
  };

  const token = async (req: IncomingMessage, res: ServerResponse, form: Record<string, string>) => {
    const origin = req.headers.origin;
    if (!origin) return json(res, 400, { error: 'invalid_request', error_description: "AADSTS9002327: Tokens issued for the 'Single-Page Application' client-type may only be redeemed via cross-origin requests." });
    const cors = { 'access-control-allow-origin': origin, vary: 'Origin' };
    const invalidGrant = (description: string) => json(res, 400, { error: 'invalid_grant', error_description: description }, cors);
    let grant: { clientId: string; user: FakeEntraUser; scopes: string[]; nonce?: string };
    if (form.grant_type === 'authorization_code') {
      const issued = codes.get(form.code ?? '');
      codes.delete(form.code ?? '');
      if (!issued) return invalidGrant('AADSTS70008: The provided authorization code or refresh token has expired or was already redeemed.');
      if (issued.clientId !== form.client_id || issued.redirectUri !== form.redirect_uri) return invalidGrant('AADSTS50148: The code was issued to another client or redirect URI.');
      const s256 = createHash('sha256').update(form.code_verifier ?? '').digest('base64url');
      if (s256 !== issued.challenge) return invalidGrant('AADSTS501481: The Code_Verifier does not match the code_challenge supplied in the authorization request.');
      grant = issued;
    } else if (form.grant_type === 'refresh_token') {
      const known = refreshTokens.get(form.refresh_token ?? '');
      if (!known || known.clientId !== form.client_id) return invalidGrant('AADSTS9002313: Invalid request. The refresh token is malformed or not valid.');
      grant = known;
    } else {
      return json(res, 400, { error: 'unsupported_grant_type', error_description: `AADSTS70003: The grant type '${form.grant_type ?? ''}' is not supported.` }, cors);
    }
    const refreshToken = randomBytes(48).toString('base64url');
    refreshTokens.set(refreshToken, { clientId: grant.clientId, user: grant.user, scopes: grant.scopes });
    const resourceScopes = grant.scopes.filter((s) => !OIDC_SCOPES.has(s));
    json(
      res,
      200,
      {
        token_type: 'Bearer',
        scope: resourceScopes.join(' '),
        expires_in: lifetime,
        ext_expires_in: lifetime,
        access_token: await accessToken(grant.user, grant.clientId),
        refresh_token: refreshToken,
        id_token: await sign(
          { oid: grant.user.objectId, sub: pairwiseSubject(grant.user, grant.clientId), name: grant.user.name, preferred_username: grant.user.username, ...(grant.nonce ? { nonce: grant.nonce } : {}) },
          grant.clientId,
          3600,
        ),
        client_info: clientInfo(grant.user),
      },
      cors,
    );
  };

  const logout = (res: ServerResponse, q: Record<string, string>) => {
    signedIn = undefined;
    const target = q.post_logout_redirect_uri;
    if (target && [...spas.values()].some((uris) => uris.has(target))) return redirect(res, target);
    page(res, 200, 'You signed out of your account.');
  };

  const discovery = () => {
    const t = `${base}/${tenantId}`;
    return {
      issuer: issuer(),
      authorization_endpoint: `${t}/oauth2/v2.0/authorize`,
      token_endpoint: `${t}/oauth2/v2.0/token`,
      end_session_endpoint: `${t}/oauth2/v2.0/logout`,
      jwks_uri: `${t}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nonce', 'preferred_username', 'name', 'tid', 'ver', 'oid'],
      request_uri_parameter_supported: false,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      tenant_region_scope: 'EU',
      cloud_instance_name: 'microsoftonline.com',
    };
  };

  const fake: FakeEntra = {
    url: '',
    tenantId,
    issuer: '',
    jwksUri: '',
    ca: '',
    spkiSha256: '',
    requests: [],
    registerSpa: (clientId, redirectUris) => spas.set(clientId, new Set(redirectUris)),
    signInAs: (user) => {
      signedIn = user;
    },
    setAccessTokenLifetime: (seconds) => {
      lifetime = seconds;
    },
    accessToken: (user, client = 'fleetnet-tests') => accessToken(user, client),
    close: async () => undefined,
  };

  const server = await startLocalHttpsServer('fake-entra', async (req, res, body) => {
    const url = new URL(req.url ?? '/', base);
    const query = Object.fromEntries(url.searchParams);
    const form = req.method === 'POST' ? Object.fromEntries(new URLSearchParams(body)) : {};
    fake.requests.push({ method: req.method ?? 'GET', path: url.pathname, query, form, ...(req.headers.origin ? { origin: req.headers.origin } : {}) });
    const path = url.pathname.startsWith(`/${tenantId}/`) ? url.pathname.slice(tenantId.length + 1) : undefined;
    if (req.method === 'OPTIONS' && path === '/oauth2/v2.0/token') {
      res.writeHead(204, {
        'access-control-allow-origin': req.headers.origin ?? '*',
        'access-control-allow-methods': 'POST, OPTIONS',
        'access-control-allow-headers': req.headers['access-control-request-headers'] ?? '',
        'access-control-max-age': '86400',
        vary: 'Origin',
      });
      return void res.end();
    }
    const route = `${req.method} ${path}`;
    if (route === 'GET /v2.0/.well-known/openid-configuration') return json(res, 200, discovery(), { 'access-control-allow-origin': '*' });
    if (route === 'GET /discovery/v2.0/keys') return json(res, 200, { keys: [jwk] }, { 'access-control-allow-origin': '*' });
    if (route === 'GET /oauth2/v2.0/authorize') return authorize(res, query);
    if (route === 'POST /oauth2/v2.0/token') return token(req, res, form);
    if (route === 'GET /oauth2/v2.0/logout') return logout(res, query);
    json(res, 404, { error: 'not_found', error_description: `fake-entra has no ${req.method} ${url.pathname}` });
  });
  base = server.url;
  Object.assign(fake, { url: base, issuer: issuer(), jwksUri: `${base}/${tenantId}/discovery/v2.0/keys`, ca: server.ca, spkiSha256: server.spkiSha256, close: () => server.close() });
  return fake;
}
