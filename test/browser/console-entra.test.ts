/**
 * The console's Entra sign-in in headless Chromium: the real @azure/msal-browser (redirect, PKCE, the
 * token endpoint over CORS) against a local Entra authority (test/helpers/fake-entra.ts), and the real API
 * configured as in Azure (issuer, audience, JWKS) trusting that authority. Signs in from a deep link and
 * lands on it, calls the API with the Entra access token (checked on the wire), signs out, shows the API's
 * refusal to a user without a Fleet role, and renews short-lived tokens with the refresh token. No console
 * errors; axe finds nothing serious.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { decodeJwt } from 'jose';
import { startTestApiWithEntra, type TestApi } from '../helpers/api-harness.js';
import { checkView, launchChromium, type PageProblems, watchPage } from '../helpers/browser.js';
import { createContractClient } from '../helpers/contract-client.js';
import { startFakeEntra, type FakeEntra, type FakeEntraUser } from '../helpers/fake-entra.js';

const API_APP = { appIdUri: 'api://fleetnet-test', clientId: '0f1e2d3c-0000-4000-8000-00000000a9e1' };
const CONSOLE_CLIENT = '0f1e2d3c-0000-4000-8000-00000000c0c0';
const ANALYST: FakeEntraUser = { objectId: '7d0c1a52-0000-4000-8000-0000000000a1', name: 'Ana Lyst', username: 'analyst@fleetnet.test', roles: ['Fleet.Reader'] };
const VISITOR: FakeEntraUser = { objectId: '7d0c1a52-0000-4000-8000-0000000000b2', name: 'Vi Sitor', username: 'visitor@fleetnet.test', roles: [] };

let entra: FakeEntra;
let api: Omit<TestApi, 'issuer'>;
let browser: Browser;
let page: Page;
let problems: PageProblems;
/** the Authorization headers the page sent to the API */
const apiAuthorizations: string[] = [];

beforeAll(async () => {
  entra = await startFakeEntra({ api: API_APP });
  api = await startTestApiWithEntra(entra, API_APP, CONSOLE_CLIENT);
  entra.registerSpa(CONSOLE_CLIENT, [`${api.baseUrl}/console/`]);
  const client = createContractClient(api.baseUrl);
  const created = await client.call('PUT', '/clusters/east', {
    token: api.tokens.admin,
    body: { apiVersion: 'fleetnet.io/v1', kind: 'Cluster', metadata: { name: 'east', labels: { env: 'prod' } }, spec: { agentIdentities: ['agent-east'] } },
  });
  expect(created.status, 'the API takes an admin token from the local Entra').toBeLessThan(300);
  browser = await launchChromium({ trustSpki: [entra.spkiSha256] });
  page = await browser.newPage();
  problems = watchPage(page);
  page.on('request', (request) => {
    const authorization = request.headers().authorization;
    if (request.url().startsWith(api.baseUrl) && authorization) apiAuthorizations.push(authorization);
  });
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await api?.close();
  await entra?.close();
});

const consoleUrl = () => `${api.baseUrl}/console/`;
const signInButton = () => page.getByRole('button', { name: 'Sign in with Microsoft Entra ID' });

describe('console sign-in with Entra ID (MSAL redirect) in Chromium', () => {
  it('signed out, a deep link offers Entra sign-in', async () => {
    entra.signInAs(ANALYST);
    await page.goto(`${consoleUrl()}#/fleet?cluster=east`);
    await signInButton().waitFor();
    await checkView(page, 'sign-in-entra');
  });

  it('signs in by redirect with PKCE and returns to the deep link', async () => {
    await signInButton().click();
    await page.getByRole('navigation', { name: 'Views' }).waitFor();
    expect(new URL(page.url()).hash).toBe('#/fleet?cluster=east');
    expect(await page.locator('header .who').textContent()).toContain(ANALYST.username);

    const authorize = entra.requests.find((r) => r.path.endsWith('/oauth2/v2.0/authorize'))!;
    expect(authorize.query).toMatchObject({ client_id: CONSOLE_CLIENT, response_type: 'code', code_challenge_method: 'S256', redirect_uri: consoleUrl() });
    expect(authorize.query.scope!.split(' ')).toEqual(expect.arrayContaining([`${API_APP.appIdUri}/.default`, 'openid', 'profile', 'offline_access']));
    const redeem = entra.requests.find((r) => r.method === 'POST' && r.form.grant_type === 'authorization_code')!;
    expect(redeem.origin).toBe(new URL(api.baseUrl).origin);
    expect(redeem.form.code_verifier?.length).toBeGreaterThanOrEqual(43);
  });

  it('calls the API with the Entra access token, which the API accepts', async () => {
    const rows = page.getByRole('table', { name: 'Clusters' }).locator('tbody tr');
    await expect.poll(() => rows.count()).toBe(1);
    expect(await rows.first().textContent()).toContain('east');
    expect(apiAuthorizations.length).toBeGreaterThan(0);
    const claims = decodeJwt(apiAuthorizations.at(-1)!.replace(/^Bearer /, ''));
    expect(claims).toMatchObject({ iss: entra.issuer, aud: API_APP.clientId, azp: CONSOLE_CLIENT, oid: ANALYST.objectId, roles: ['Fleet.Reader'] });
  });

  it('signs out at the authority and comes back to the sign-in page', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signInButton().waitFor();
    expect(entra.requests.some((r) => r.path.endsWith('/oauth2/v2.0/logout') && r.query.post_logout_redirect_uri === consoleUrl())).toBe(true);
  });

  it('a user without a Fleet role signs in, and the console shows the API\'s refusal', async () => {
    entra.signInAs(VISITOR);
    await signInButton().click();
    await page.getByRole('navigation', { name: 'Views' }).waitFor();
    expect(await page.locator('header .who').textContent()).toContain(VISITOR.username);
    const alert = page.getByRole('alert').first();
    await alert.waitFor();
    expect(await alert.textContent()).toContain('HTTP 403');
    expect(await alert.textContent()).toContain('Fleet.Reader');
  });

  it('renews a token about to expire with the refresh token (CORS to the token endpoint), and keeps working', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signInButton().waitFor();
    entra.signInAs(ANALYST);
    entra.setAccessTokenLifetime(120); // inside MSAL's 300 s renewal offset: every token() renews
    try {
      await signInButton().click();
      await page.getByRole('table', { name: 'Clusters' }).locator('tbody tr').first().waitFor();
      const renewals = () => entra.requests.filter((r) => r.method === 'POST' && r.form.grant_type === 'refresh_token');
      await expect.poll(() => renewals().length).toBeGreaterThan(0);
      expect(renewals().every((r) => r.origin === new URL(api.baseUrl).origin && r.form.client_id === CONSOLE_CLIENT)).toBe(true);
      await page.getByRole('link', { name: 'Encryption' }).click();
      await page.getByRole('heading', { level: 1, name: /Encryption/ }).waitFor();
      const before = renewals().length;
      await page.getByRole('link', { name: 'Fleet' }).click();
      await page.getByRole('table', { name: 'Clusters' }).locator('tbody tr').first().waitFor();
      expect(renewals().length).toBeGreaterThan(before);
      const claims = decodeJwt(apiAuthorizations.at(-1)!.replace(/^Bearer /, ''));
      expect(claims).toMatchObject({ oid: ANALYST.objectId, iss: entra.issuer });
      expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(120);
    } finally {
      entra.setAccessTokenLifetime(3599);
    }
  });

  it('no console errors but the browser\'s own report of the refused calls', () => {
    const refused = 'console: Failed to load resource: the server responded with a status of 403 (Forbidden)';
    expect(problems.errors.filter((e) => e !== refused)).toEqual([]);
  });
});
