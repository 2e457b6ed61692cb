/**
 * The fleet console in headless Chromium (Debian's package, playwright-core) against the real local API:
 * a fleet with inventory from a local ARM (test/helpers/fake-arm.ts), nodes reporting Programmed/Degraded
 * and encryption evidence, and encryption settings. Signs in with a pasted token, reads the fleet overview
 * and a node's Degraded reason, reads the encryption report and a cluster's desired vs actual, follows
 * deep links; no console errors; axe-core finds no serious or critical violation in any view; a screenshot
 * of each view goes to test-artifacts/console/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startTestApi, type TestApi } from '../helpers/api-harness.js';
import { checkView as checkViewOf, launchChromium, type PageProblems, watchPage } from '../helpers/browser.js';
import { createContractClient } from '../helpers/contract-client.js';
import { clusterFromFixture, managedClusterId, startFakeArm, type FakeArm } from '../helpers/fake-arm.js';
import { encryptionBody, nodeBody } from '../helpers/fixtures.js';

const SUB = '00000000-0000-0000-0000-0000000000c0';
let arm: FakeArm;
let api: TestApi;
let browser: Browser;
let page: Page;
let problems: PageProblems;

beforeAll(async () => {
  arm = await startFakeArm();
  arm.seed(
    clusterFromFixture('AdvancedNetworkingTransitEncryption.json', { subscriptionId: SUB, resourceGroup: 'rg', name: 'aks-east' }),
    clusterFromFixture('ManagedClustersCreate_NodeAutoProvisioning.json', { subscriptionId: SUB, resourceGroup: 'rg', name: 'aks-west' }),
  );
  api = await startTestApi({ FLEETNET_ARM_SUBSCRIPTIONS: SUB }, {}, { arm: { endpoint: arm.endpoint, credential: arm.credential, clientOptions: { tlsOptions: arm.tlsOptions } } });
  const client = createContractClient(api.baseUrl);
  const admin = api.tokens.admin;
  const put = async (path: string, body: unknown) => expect((await client.call('PUT', path, { token: admin, body })).status).toBeLessThan(300);
  await put('/encryptionsettings', encryptionBody({ default: { enabled: true, type: 'wireguard' } }));
  for (const [id, aks, env] of [['east', 'aks-east', 'prod'], ['west', 'aks-west', 'prod'], ['lab', undefined, 'dev']] as const) {
    await put(`/clusters/${id}`, { apiVersion: 'fleetnet.io/v1', kind: 'Cluster', metadata: { name: id, labels: { env } }, spec: { agentIdentities: [`agent-${id}`], ...(aks ? { armResourceId: managedClusterId(SUB, 'rg', aks) } : {}) } });
  }
  await client.call('POST', '/inventoryruns', { token: admin });
  await api.services.desiredState.settled();
  const agent = await api.agentToken('agent-east');
  for (const node of ['east-1', 'east-2']) {
    await client.call('PUT', `/clusters/east/nodes/${node}`, { token: agent, body: nodeBody(node) });
  }
  const evidence = { observedAt: new Date().toISOString(), source: 'ip -j -d link show type wireguard', wireguardInterfaces: [] };
  await client.call('PUT', '/clusters/east/nodes/east-1/status', { token: agent, body: { observedRevision: 1, conditions: [{ type: 'Programmed', status: 'True', reason: 'Applied' }, { type: 'Degraded', status: 'False', reason: 'Enforced' }], encryption: evidence } });
  await client.call('PUT', '/clusters/east/nodes/east-2/status', {
    token: agent,
    body: { observedRevision: 1, conditions: [{ type: 'Programmed', status: 'True', reason: 'Applied' }, { type: 'Degraded', status: 'True', reason: 'UnsupportedRules', message: '1 rule(s) not enforceable by the datapath (fail-closed): policy web-l7 /ingress/0/toPorts/0/rules/kafka' }] },
  });
  browser = await launchChromium();
  page = await browser.newPage();
  problems = watchPage(page);
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await api?.close();
  await arm?.close();
});

const consoleUrl = () => `${api.baseUrl}/console/`;

const checkView = (name: string) => checkViewOf(page, name);

describe('fleet console in Chromium', () => {
  it('asks for a token, and signs in with one', async () => {
    await page.goto(consoleUrl());
    await page.getByLabel('Token').waitFor();
    await checkView('sign-in');
    await page.getByLabel('Token').fill(api.tokens.reader);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('table', { name: 'Clusters' }).waitFor();
    expect(await page.locator('header .who').textContent()).toContain('Fleet.Reader');
  });

  it('fleet overview: clusters with inventory and compliance; a node\'s Degraded reason', async () => {
    const rows = page.getByRole('table', { name: 'Clusters' }).locator('tbody tr');
    await expect.poll(() => rows.count()).toBe(3);
    const east = rows.filter({ hasText: 'east' }).first();
    expect(await east.textContent()).toContain('WireGuard');
    expect(await east.textContent()).toContain('Compliant');
    expect(await rows.filter({ hasText: 'west' }).first().textContent()).toContain('Unsupported'); // ACNS off, no opt-in
    expect(await rows.filter({ hasText: 'lab' }).first().textContent()).toContain('Unknown');
    await checkView('fleet');
    await page.getByRole('link', { name: 'east', exact: true }).click();
    const nodes = page.getByRole('table', { name: 'Nodes of east' });
    await nodes.waitFor();
    const degraded = nodes.locator('tr', { hasText: 'east-2' });
    expect(await degraded.textContent()).toContain('UnsupportedRules');
    expect(await degraded.locator('.degraded-message').textContent()).toContain('policy web-l7 /ingress/0/toPorts/0/rules/kafka');
    expect(await nodes.locator('tr', { hasText: 'east-1' }).textContent()).toContain('no tunnel');
    expect(page.url()).toContain('#/fleet?cluster=east');
    await checkView('fleet-cluster');
  });

  it('encryption: the fleet report, a state filter in the URL, desired against actual', async () => {
    await page.getByRole('link', { name: 'Encryption' }).click();
    const table = page.getByRole('table', { name: 'Clusters by compliance' });
    await table.waitFor();
    expect(await page.locator('.counts').textContent()).toMatch(/1\s*Compliant.*0\s*Drifted.*1\s*Unsupported.*1\s*Unknown/);
    // east: ARM says WireGuard, east-1 shows no tunnel
    expect(await table.locator('tr', { hasText: 'east' }).textContent()).toContain('no tunnel on east-1');
    await checkView('encryption');
    await page.goto(`${consoleUrl()}#/encryption?state=Unsupported&cluster=west`); // a shared deep link
    await page.reload();
    await page.getByRole('heading', { name: 'west: desired against actual' }).waitFor();
    await expect.poll(() => table.locator('tbody tr').count()).toBe(1);
    expect(await page.locator('section[aria-labelledby="cluster-encryption"]').textContent()).toContain('Advanced Container Networking Services are off');
    await checkView('encryption-cluster');
  });

  it('keyboard: the skip link and the navigation are reachable with Tab', async () => {
    await page.goto(`${consoleUrl()}#/fleet`);
    await page.reload();
    await page.getByRole('table', { name: 'Clusters' }).waitFor();
    await page.keyboard.press('Tab');
    expect(await page.evaluate("document.activeElement?.textContent")).toBe('Skip to content');
    await page.keyboard.press('Tab');
    expect(await page.evaluate("document.activeElement?.textContent")).toBe('Fleet');
  });

  it('logged no console error', () => {
    if (problems.errors.length > 0) console.error(problems.errors);
    expect(problems.errors).toEqual([]);
  });
});
