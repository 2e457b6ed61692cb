/**
 * The console's Policies view in headless Chromium (Debian's package, playwright-core) against the real local
 * API: two clusters labelled env=prod, a policy `db-ingress` written twice (generation 1: db accepts api on
 * TCP/5432; generation 2: and batch), a node of `east` whose Degraded condition names it, flow history
 * ingested through the agents' endpoint (batch → db and api → db, allowed), and an audit policy whose
 * `toEntities: [kube-apiserver]` draws a write-time warning. Signed in as Fleet.Reader: the list shows
 * targets and mode; a policy's realization shows the Degraded node and its message; the diff of generations
 * 1 and 2 shows the added lines; a replay of the policy narrowed back to api (edited in the form) finds
 * batch → db allowed → dropped; the other policy shows its warning. axe finds no serious or critical
 * violation (the replay also in the dark scheme); a screenshot of each state goes to test-artifacts/console/;
 * no console errors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { FlowEndpoint, FlowSummary } from '../../openapi/types.js';
import { serviceUnavailable } from '../../functions/src/http/api-error.js';
import { renderProblem } from '../../functions/src/http/render-problem.js';
import { startTestApi, type TestApi } from '../helpers/api-harness.js';
import { checkView as checkViewOf, launchChromium, signInWithToken, type PageProblems, watchPage } from '../helpers/browser.js';
import { createContractClient } from '../helpers/contract-client.js';
import { clusterBody, nodeBody } from '../helpers/fixtures.js';
import { batch } from '../helpers/flow-fixtures.js';

let api: TestApi;
let browser: Browser;
let page: Page;
let problems: PageProblems;

const tcp = (port: string) => [{ ports: [{ port, protocol: 'TCP' }] }];
/** db-ingress: db in namespace shop accepts the given apps on TCP/5432 (everything else to db is default-denied). */
const dbIngress = (from: string[]) => ({
  apiVersion: 'fleetnet.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'db-ingress', labels: { team: 'payments' } },
  spec: {
    targets: { clusterSelector: { matchLabels: { env: 'prod' } } },
    namespace: 'shop',
    endpointSelector: { matchLabels: { app: 'db' } },
    ingress: from.map((app) => ({ fromEndpoints: [{ matchLabels: { app } }], toPorts: tcp('5432') })),
  },
});
const WEB_EGRESS = {
  apiVersion: 'fleetnet.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'web-egress' },
  spec: { mode: 'audit', targets: { clusterIds: ['east'] }, namespace: 'shop', endpointSelector: { matchLabels: { app: 'web' } }, egress: [{ toEntities: ['kube-apiserver'] }] },
};
const DEGRADED_MESSAGE = '1 rule(s) not enforceable by the datapath (fail-closed): policy db-ingress /ingress/1/toPorts/0/rules/kafka';

const endpointOf = (app: string, identity: number): FlowEndpoint => ({
  identity,
  namespace: 'shop',
  pod_name: `${app}-0`,
  labels: [`k8s:app=${app}`, 'k8s:io.kubernetes.pod.namespace=shop', 'k8s:io.cilium.k8s.policy.cluster=east'],
  workloads: [{ name: app, kind: 'Deployment' }],
});
/** Ingress at db's hook, allowed by generation 2: what east-1 recorded. */
const toDb = (source: string, identity: number, flows: number): FlowSummary => ({
  source: endpointOf(source, identity),
  destination: endpointOf('db', 30_100),
  l4: { protocol: 'TCP', destination_port: 5432 },
  traffic_direction: 'INGRESS',
  verdict: 'FORWARDED',
  packets: flows * 10,
  bytes: flows * 1000,
  flows,
});

beforeAll(async () => {
  api = await startTestApi();
  const client = createContractClient(api.baseUrl);
  const admin = api.tokens.admin;
  const put = async (path: string, body: unknown, token = admin) => expect((await client.call('PUT', path, { token, body })).status).toBeLessThan(300);
  for (const [id, env] of [['east', 'prod'], ['west', 'prod']] as const) await put(`/clusters/${id}`, clusterBody(id, { env }, [`agent-${id}`]));
  await put('/networkpolicies/db-ingress', dbIngress(['api']));
  await put('/networkpolicies/db-ingress', dbIngress(['api', 'batch']));
  await put('/networkpolicies/web-egress', WEB_EGRESS);
  await api.services.desiredState.settled();
  const revision = (await client.call('GET', '/realization', { token: api.tokens.reader })).body.clusters.find((c: { cluster: string }) => c.cluster === 'east').revision as number;
  const agent = await api.agentToken('agent-east');
  for (const node of ['east-1', 'east-2']) await put(`/clusters/east/nodes/${node}`, nodeBody(node), agent);
  await put('/clusters/east/nodes/east-1/status', { observedRevision: revision, conditions: [{ type: 'Programmed', status: 'True', reason: 'Applied' }, { type: 'Degraded', status: 'False', reason: 'Enforced' }] }, agent);
  await put('/clusters/east/nodes/east-2/status', { observedRevision: revision, conditions: [{ type: 'Programmed', status: 'True', reason: 'Applied' }, { type: 'Degraded', status: 'True', reason: 'UnsupportedRules', message: DEGRADED_MESSAGE }] }, agent);
  const flows = await client.call('POST', '/clusters/east/nodes/east-1/flows', { token: agent, body: batch([toDb('batch', 30_001, 7), toDb('api', 30_002, 5)], 0, new Date(Date.now() - 10 * 60_000).toISOString()) });
  expect(flows.status).toBe(200);
  browser = await launchChromium();
  page = await browser.newPage();
  problems = watchPage(page);
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await api?.close();
});

const consoleUrl = () => `${api.baseUrl}/console/`;

const checkView = (name: string) => checkViewOf(page, name);

describe('console: policies in Chromium', () => {
  it('signs in as a reader and lists the policies with targets, mode and generation', async () => {
    await signInWithToken(page, consoleUrl(), api.tokens.reader);
    await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Policies' }).click();
    const rows = page.getByRole('table', { name: 'Network policies' }).locator('tbody tr');
    await expect.poll(() => rows.count()).toBe(2);
    const db = rows.filter({ hasText: 'db-ingress' });
    expect(await db.locator('td').allTextContents()).toEqual(['clusters env=prod', 'enforce', '2', '0', expect.stringMatching(/ago$/), expect.any(String)]);
    const web = rows.filter({ hasText: 'web-egress' });
    expect(await web.locator('td').nth(0).textContent()).toBe('clusters east');
    expect(await web.locator('td').nth(1).textContent()).toBe('audit');
    expect(await web.locator('td').nth(3).textContent()).toBe('1'); // one warning
    expect(page.url()).toContain('#/policies');
    await checkView('policies');
  });

  it('a policy: its spec, its realization with the Degraded node, the diff of generations 1 and 2', async () => {
    await page.getByRole('link', { name: 'db-ingress', exact: true }).click();
    await page.getByRole('heading', { name: 'Policy db-ingress' }).waitFor();
    expect(page.url()).toContain('#/policies?policy=db-ingress');
    expect(await page.getByLabel('Spec of db-ingress').textContent()).toContain('"batch"');
    expect(await page.locator('#warnings-title + p + p').textContent()).toContain('None');

    const nodes = page.getByRole('table', { name: 'Nodes for db-ingress' });
    await nodes.waitFor();
    const degraded = nodes.locator('tr', { hasText: 'east-2' });
    expect(await degraded.textContent()).toContain('enforcing');
    await expect.poll(() => degraded.locator('.degraded-message').textContent()).toBe(`UnsupportedRules: ${DEGRADED_MESSAGE}`);
    expect(await nodes.locator('tr', { hasText: 'east-1' }).locator('td').last().textContent()).toBe('no');
    const generations = page.getByRole('table', { name: 'Realization of db-ingress by generation' });
    expect(await generations.locator('tbody tr').first().locator('th, td').allTextContents()).toEqual(['2', 'east, west', '2', '0', '0', '0', '1']);

    expect(await page.getByRole('table', { name: 'Revisions of db-ingress' }).locator('tbody th').allTextContents()).toEqual(['2', '1']);
    await page.getByLabel('From generation').selectOption('1');
    await page.getByLabel('To generation').selectOption('2');
    await expect.poll(() => page.url()).toMatch(/from=1&to=2/);
    const diff = page.getByRole('table', { name: 'Diff of generation 1 and 2' });
    await diff.waitFor();
    const added = (await diff.locator('td.diff-text.diff-added').allTextContents()).map((t) => t.replace(/^added: \+/, '').trim());
    expect(added).toContain('"app": "batch"');
    expect(await diff.locator('td.diff-text.diff-removed').count()).toBe(0); // generation 2 only adds a rule
    expect(await page.getByText(/Generation 1 → 2: 0 line\(s\) removed, \d+ added/).count()).toBe(1);
    await checkView('policy-detail');

    // the same diff from a shared deep link
    await page.goto(`${consoleUrl()}#/policies?policy=db-ingress&from=2&to=1`);
    await page.reload();
    const reversed = page.getByRole('table', { name: 'Diff of generation 2 and 1' });
    await reversed.waitFor();
    expect((await reversed.locator('td.diff-text.diff-removed').allTextContents()).some((t) => t.includes('"app": "batch"'))).toBe(true);
  });

  it('what would this break: a replay of the policy narrowed back to api finds batch → db allowed → dropped', async () => {
    const form = page.getByLabel('Candidate policy (JSON)');
    expect(JSON.parse(await form.inputValue())).toMatchObject({ metadata: { name: 'db-ingress' }, spec: { ingress: [{}, { fromEndpoints: [{ matchLabels: { app: 'batch' } }] }] } });
    const narrowed = dbIngress(['api']);
    await form.fill(JSON.stringify({ metadata: { name: 'db-ingress' }, spec: narrowed.spec }, null, 2));
    await page.getByLabel('Window since').fill('2h');
    await page.getByRole('button', { name: 'Run replay' }).click();
    const group = page.getByRole('table', { name: 'Allowed now, dropped after the change' });
    await group.waitFor({ timeout: 30_000 });
    expect(page.url()).toMatch(/replay=[0-9a-f-]+/);
    const rows = group.locator('tbody tr');
    expect(await rows.count()).toBe(1);
    const cells = await rows.first().locator('th, td').allTextContents();
    expect(cells.slice(0, 6)).toEqual(['shop/batch → shop/db', 'ingress at shop/db', 'TCP/5432', 'east', '7', '70']);
    expect(cells[7]).toBe('dropped by default deny');
    expect(cells[8]).toBe('forwarded by db-ingress generation 2 /ingress/1 (allow)');
    expect(await page.getByRole('heading', { name: /Dropped now, allowed after the change: none/ }).count()).toBe(1);
    expect(await page.getByLabel('Replay totals').textContent()).toContain('7flows allowed → dropped');
    const completeness = await page.getByLabel('Completeness').textContent();
    expect(completeness).toMatch(/^Complete: /); // no batch gap, nothing unjudged
    expect(completeness).toContain('cluster west stored no flow summaries in the window');
    expect(await page.locator('.replay-result [role="status"]').textContent()).toContain('Succeeded');
    await checkView('policy-replay');
    await page.emulateMedia({ colorScheme: 'dark' }); // readable in the dark scheme too
    await checkView('policy-replay-dark');
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('a replay read while the store throttles: the 503 is shown, and polling resumes after its Retry-After', async () => {
    const polls: number[] = [];
    await page.route('**/policyreplays/*', async (route) => {
      polls.push(Date.now());
      if (polls.length > 1) return route.continue();
      // exactly what the API answers when the store's throttling outlasts the SDK's retries
      const throttled = renderProblem(serviceUnavailable(2), new URL(route.request().url()).pathname);
      await route.fulfill({ status: throttled.status!, headers: throttled.headers as Record<string, string>, body: throttled.body as string });
    });
    try {
      await page.reload(); // the URL holds the replay's id
      await page.getByText('ServiceUnavailable (HTTP 503)').waitFor();
      await page.getByRole('table', { name: 'Allowed now, dropped after the change' }).waitFor({ timeout: 30_000 });
      expect(polls.length).toBeGreaterThanOrEqual(2);
      expect(polls[1]! - polls[0]!).toBeGreaterThanOrEqual(1_900); // a timer never fires early; 100 ms for clock granularity
    } finally {
      await page.unroute('**/policyreplays/*');
    }
  });

  it('a replay the API refuses shows its pointers', async () => {
    await page.getByLabel('Candidate policy (JSON)').fill('{"metadata": {"name": "db-ingress"}, "spec": {"ingress": "nope"}}');
    await page.getByRole('button', { name: 'Run replay' }).click();
    const errors = page.locator('ul.error-list');
    await errors.waitFor();
    expect(await errors.textContent()).toContain('/policies/0/spec/ingress');
  });

  it('warnings: the policy with an unenforced part shows it with its consequence', async () => {
    await page.goto(`${consoleUrl()}#/policies?policy=web-egress`);
    await page.reload();
    const warnings = page.getByRole('table', { name: 'Warnings' });
    await warnings.waitFor();
    const row = warnings.locator('tbody tr');
    expect(await row.count()).toBe(1);
    expect(await row.locator('td').allTextContents()).toEqual(['/spec/egress/0/toEntities/0', 'fails closed', 'no addresses of the kube-apiserver entity are known to the agent; contributes no allow (fail closed)']);
    expect(await page.getByText('One generation only: nothing to compare.').count()).toBe(1);
    await checkView('policy-warnings');
  });

  it('logged no console error', () => {
    // Chromium logs a 4xx/5xx answer as a failed resource load: the refused replay (400) and the throttled read
    // (503) above are the ones expected
    const unexpected = problems.errors.filter((e) => !/status of (400|503)/.test(e));
    if (unexpected.length > 0) console.error(unexpected);
    expect(unexpected).toEqual([]);
    expect(problems.errors.filter((e) => /status of 400/.test(e)).length).toBeLessThanOrEqual(1);
    expect(problems.errors.filter((e) => /status of 503/.test(e)).length).toBeLessThanOrEqual(1);
  });
});
