/**
 * The console's flow views in headless Chromium against the real local API, loaded with generated fleet
 * flow data through the agents' ingest operation (3 clusters × 2 nodes, 3,600 summaries with drops, audit
 * and DNS-named external peers). What the page shows is compared with what the API answers for the same
 * question:
 * - Flows: the table's rows equal POST /flows/query's page for the URL's filter (unfiltered, then the form's
 *   filter — compiled by the CLI's flag compiler — and its next page); the filter lives in the URL (a reload
 *   keeps it); the coverage statement is shown; a row's detail explains the verdict
 *   (POST /clusters/{id}/explain); export downloads every matching record as NDJSON; the performance
 *   marks bench:console reads are set (the timings are the benchmark's, never a test's).
 * - Service map: cytoscape lays the graph out (FQDN peers as nodes); the edge table lists the API's edges;
 *   an edge's table link and a tap on the same edge in the canvas both land on exactly that edge's flows.
 * - Drops: totals, the by-policy groups and the trend's sum equal POST /flows/aggregations' numbers.
 * axe-core finds no serious or critical violation in any view; a screenshot of each goes to
 * test-artifacts/console/; no console errors.
 */
import { readFile } from 'node:fs/promises';
import { csvHeader, parseCsv, toCsvRow } from '../../core/flows/flow-export.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { FlowAggregationResult, FlowQueryResult, FlowRecord, FlowSummary, ServiceGraph } from '../../openapi/types.js';
import { startTestApi, type TestApi } from '../helpers/api-harness.js';
import { checkView as checkViewOf, launchChromium, signInWithToken, type PageProblems, watchPage } from '../helpers/browser.js';
import { createContractClient } from '../helpers/contract-client.js';
import { clusterBody } from '../helpers/fixtures.js';
import { WORLD, batch, createRandom, endpoint, generateSummaries, summary } from '../helpers/flow-fixtures.js';

const CLUSTERS = ['east', 'west', 'lab'];
const NODES = ['n1', 'n2'];
const BATCHES_PER_NODE = 3;
const BATCH = 200;

let api: TestApi;
let client: ReturnType<typeof createContractClient>;
let browser: Browser;
let page: Page;
let problems: PageProblems;

/** External peers named by DNS (service-map FQDN nodes), some dropped. */
function external(random: () => number): FlowSummary[] {
  return Array.from({ length: 20 }, (_, i) =>
    summary({
      source: endpoint('shop', 'web', 1000),
      destination: { ...WORLD },
      destination_names: [i % 2 === 0 ? 'api.github.com' : 'exfil.evil.example'],
      IP: { destination: `140.82.121.${1 + Math.floor(random() * 9)}`, ipVersion: 'IPv4' },
      l4: { protocol: 'TCP', destination_port: 443 },
      traffic_direction: 'EGRESS',
      ...(i % 2 === 0 ? { verdict: 'FORWARDED' as const } : { verdict: 'DROPPED' as const, drop_reason_desc: 'POLICY_DENIED' }),
    }),
  );
}

beforeAll(async () => {
  api = await startTestApi();
  client = createContractClient(api.baseUrl);
  const random = createRandom(15);
  for (const c of CLUSTERS) expect((await client.call('PUT', `/clusters/${c}`, { token: api.tokens.admin, body: clusterBody(c, { env: c === 'lab' ? 'dev' : 'prod' }, [`agent-${c}`]) })).status).toBeLessThan(300);
  await api.services.desiredState.settled();
  for (const c of CLUSTERS) {
    const token = await api.agentToken(`agent-${c}`);
    for (const node of NODES) {
      for (let sequence = 0; sequence < BATCHES_PER_NODE; sequence++) {
        const summaries = [...generateSummaries(BATCH, random, { dnsShare: 0.05 }), ...(sequence === 0 ? external(random) : [])];
        const end = new Date(Date.now() - (5 + sequence * 15 + NODES.indexOf(node)) * 60_000).toISOString();
        const response = await client.call('POST', `/clusters/${c}/nodes/${node}/flows`, { token, body: batch(summaries, sequence, end) });
        expect(response.body.accepted).toBe(summaries.length);
      }
    }
  }
  browser = await launchChromium();
  page = await browser.newPage({ acceptDownloads: true });
  problems = watchPage(page);
  await signInWithToken(page, `${api.baseUrl}/console/`, api.tokens.reader);
}, 180_000);
afterAll(async () => {
  await browser?.close();
  await api?.close();
});

const consoleUrl = () => `${api.baseUrl}/console/`;

async function post<T>(path: string, body: unknown): Promise<T> {
  const response = await client.call('POST', path, { token: api.tokens.reader, body });
  expect(response.status, `${path} ${JSON.stringify(response.body)}`).toBe(200);
  return response.body as T;
}

const checkView = (name: string) => checkViewOf(page, name);

/** The table's rows as [node, verdict, packets] — what identifies a row here. */
async function shownRows(): Promise<string[][]> {
  const table = page.getByRole('table', { name: 'Flows' });
  await table.waitFor();
  return table.locator('tbody tr').evaluateAll((rows) => rows.map((r) => [1, 6, 8].map((i) => (r.children[i] as { textContent: string | null }).textContent?.trim() ?? '')));
}
const expectedRows = (items: FlowRecord[]) => items.map((r) => [`${r.cluster}/${r.node_name}`, r.flow.verdict, String(r.flow.packets)]);

/** Waits for the flow table of the current URL to show its answer (the paint mark after the answer). */
async function flowsShown(): Promise<void> {
  await page.waitForFunction(() => performance.getEntriesByName('flows:painted').length > 0);
  await page.locator('.coverage').waitFor();
}

/** Waits for the map of `graph` (not an earlier one still shown while the next loads) to be laid out. */
async function mapShown(graph: ServiceGraph): Promise<void> {
  await page.locator(`.graph[data-laid-out="true"][aria-label^="Service map of ${graph.nodes.length} workloads and ${graph.edges.length} edges"]`).waitFor({ timeout: 60_000 });
}

async function openHash(hash: string): Promise<void> {
  await page.evaluate('performance.clearMarks()');
  await page.goto(`${consoleUrl()}${hash}`);
}

describe('console flow views in Chromium', () => {
  it('flows: the unfiltered first page equals /flows/query; coverage shown; the paint marks bench:console reads are set', async () => {
    await openHash('#/flows?since=2h');
    await flowsShown();
    const want = await post<FlowQueryResult>('/flows/query', { since: '2h', maxPageSize: 100 });
    expect(want.items).toHaveLength(100);
    expect(await shownRows()).toEqual(expectedRows(want.items));
    expect(await page.locator('.coverage').textContent()).toMatch(/3 cluster\(s\), 6 node\(s\) reported/);
    const paint = (await page.evaluate("performance.getEntriesByName('flows:painted')[0].startTime - performance.getEntriesByName('flows:answered')[0].startTime")) as number;
    expect(paint).toBeGreaterThanOrEqual(0); // the marks exist and are ordered; the time itself is bench:console's (no timed tests)
    await checkView('flows');
  });

  it('flows: the form\'s filter goes to the URL, equals the CLI-compiled query, pages with the continuation, survives a reload', async () => {
    await page.getByRole('checkbox', { name: 'DROPPED' }).check();
    await page.locator('summary').click();
    await page.locator('input[name="from-namespace"]').fill('shop, payments');
    await page.locator('input[name="not-cluster"]').fill('lab');
    await page.evaluate('performance.clearMarks()');
    await page.getByRole('button', { name: 'Apply filter' }).click();
    await flowsShown();
    const hash = new URL(page.url()).hash;
    expect(hash).toBe('#/flows?since=2h&verdict=DROPPED&from-namespace=shop&from-namespace=payments&not-cluster=lab');
    const query = { since: '2h', whitelist: [{ verdict: ['DROPPED'], source_pod: ['shop/', 'payments/'] }], blacklist: [{ cluster: ['lab'] }] };
    const first = await post<FlowQueryResult>('/flows/query', { ...query, maxPageSize: 100 });
    expect(first.items.length).toBeGreaterThan(50);
    expect(await shownRows()).toEqual(expectedRows(first.items));
    for (const r of first.items) expect(r.cluster).not.toBe('lab');
    if (first.continuationToken) {
      await page.evaluate('performance.clearMarks()');
      await page.getByRole('button', { name: 'Next page' }).click();
      await flowsShown();
      const second = await post<FlowQueryResult>('/flows/query', { ...query, maxPageSize: 100, continuationToken: first.continuationToken });
      await expect.poll(async () => JSON.stringify(await shownRows())).toBe(JSON.stringify(expectedRows(second.items)));
      expect(await page.locator('.pager').textContent()).toContain('Rows 101–');
    }
    await page.reload();
    await flowsShown();
    expect(await page.locator('input[name="from-namespace"]').inputValue()).toBe('shop, payments');
    expect(await page.getByRole('checkbox', { name: 'DROPPED' }).isChecked()).toBe(true);
    expect(await shownRows()).toEqual(expectedRows(first.items));
    await checkView('flows-filtered');
  }, 60_000);

  it('flows: export downloads every matching record through /flows/export, as NDJSON and as CSV, with the coverage', async () => {
    const all: FlowRecord[] = [];
    let token: string | null = null;
    do {
      const pageOf: FlowQueryResult = await post<FlowQueryResult>('/flows/query', { since: '2h', whitelist: [{ verdict: ['DROPPED'], source_pod: ['shop/', 'payments/'] }], blacklist: [{ cluster: ['lab'] }], maxPageSize: 1000, ...(token ? { continuationToken: token } : {}) });
      all.push(...pageOf.items);
      token = pageOf.continuationToken;
    } while (token);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export NDJSON' }).click()]);
    const lines = (await readFile((await download.path())!, 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(all.length);
    expect(lines.map((l) => JSON.parse(l) as FlowRecord)).toEqual(all);
    expect(await page.getByRole('status').filter({ hasText: 'exported' }).textContent()).toMatch(new RegExp(`exported ${all.length} records; coverage: complete=true;clusters=\\d+`));

    const [csv] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
    expect(csv.suggestedFilename()).toMatch(/\.csv$/);
    const rows = parseCsv(await readFile((await csv.path())!, 'utf8'));
    expect(rows[0]).toEqual(parseCsv(csvHeader())[0]);
    expect(rows.slice(1).map((row) => row.join(','))).toEqual(parseCsv(all.map(toCsvRow).join('')).map((row) => row.join(',')));
  });

  it('flows: a row\'s detail explains its verdict with the cluster\'s policies', async () => {
    await openHash('#/flows?since=2h&from-pod=shop%2Fweb&to-namespace=shop&protocol=tcp');
    await flowsShown();
    await page.getByRole('button', { name: /\(details of flow 1\)$/ }).click();
    const detail = page.locator('section[aria-labelledby="flow-detail"]');
    await detail.waitFor();
    expect(await detail.textContent()).toContain('shop/web-7d9f-');
    await page.getByRole('button', { name: 'Explain this verdict' }).click();
    const explanation = page.getByLabel('Explanation');
    await explanation.waitFor();
    // no policy in this fleet: both hooks decide by "no policy selects the endpoint"
    expect(await explanation.textContent()).toMatch(/forwarded in cluster \w+ at desired-state revision \d+ \(TCP\/\d+\)/);
    expect(await explanation.textContent()).toContain('no policy selects the endpoint');
    await checkView('flows-explain');
  });

  it('service map: laid out with FQDN peers; an edge\'s table link and a tap on it in the canvas land on its flows', async () => {
    const graph = await post<ServiceGraph>('/flows/servicegraph', { since: '2h', whitelist: [{ cluster: ['east'] }] });
    await openHash('#/map?since=2h&cluster=east');
    await mapShown(graph);
    const ids = (await page.evaluate("document.querySelector('.graph').__cy.nodes().map((n) => n.id()).sort()")) as string[];
    expect(ids).toEqual(graph.nodes.map((n) => n.id).sort());
    expect(ids).toContain('east/fqdn:api.github.com');
    expect(ids).toContain('east/fqdn:exfil.evil.example');
    expect(await page.getByRole('table', { name: 'Edges' }).locator('tbody tr').count()).toBe(Math.min(200, graph.edges.length));
    expect(await page.locator('.graph').getAttribute('aria-label')).toContain(`${graph.nodes.length} workloads`);
    await checkView('map');

    const edge = graph.edges.find((e) => e.source === 'east/shop/web' && e.destination === 'east/shop/api')!;
    expect(edge).toBeDefined();
    expect(edge.summaries).toBeLessThanOrEqual(100);
    await page.evaluate('performance.clearMarks()');
    await page.getByRole('link', { name: /flows from east\/shop\/web to east\/shop\/api$/ }).click();
    await flowsShown();
    const viaTable = new URL(page.url()).hash;
    expect(viaTable).toContain('cluster=east');
    const rows = await shownRows();
    expect(rows).toHaveLength(edge.summaries);
    const table = page.getByRole('table', { name: 'Flows' });
    for (const text of await table.locator('tbody tr').allTextContents()) expect(text).toMatch(/^.*east\/n\d.*shop\/web-7d9f-\d+.*shop\/api-7d9f-\d+/);

    await openHash('#/map?since=2h&cluster=east');
    await mapShown(graph);
    await page.evaluate("document.querySelector('.graph').__cy.edges().filter((e) => e.data('source') === 'east/shop/web' && e.data('target') === 'east/shop/api').emit('tap')");
    await flowsShown();
    expect(new URL(page.url()).hash).toBe(viaTable);
    expect(await shownRows()).toEqual(rows);
  }, 120_000);

  it('service map: fleet-wide, drops highlighted', async () => {
    const graph = await post<ServiceGraph>('/flows/servicegraph', { since: '2h' });
    await openHash('#/map?since=2h');
    await mapShown(graph);
    const withDrops = graph.edges.filter((e) => (e.verdicts.DROPPED?.summaries ?? 0) > 0).length;
    expect(await page.locator('main').textContent()).toContain(`${graph.edges.length} edges, ${withDrops} with drops`);
    expect(await page.evaluate("document.querySelector('.graph').__cy.edges('.dropped').length")).toBe(withDrops);
    await checkView('map-fleet');
  }, 120_000);

  it('drops: totals, groups by policy and the trend equal /flows/aggregations', async () => {
    await openHash('#/drops?since=2h');
    const byPolicyTable = page.getByRole('table', { name: 'Drops by policy' });
    await byPolicyTable.waitFor();
    const query = { since: '2h', whitelist: [{ verdict: ['DROPPED', 'AUDIT'] }] };
    const byPolicy = await post<FlowAggregationResult>('/flows/aggregations', { ...query, groupBy: ['policy', 'verdict'], orderBy: 'flows' });
    expect(await page.locator('[data-total="flows"]').textContent()).toBe(String(byPolicy.totals.flows));
    expect(await page.locator('[data-total="summaries"]').textContent()).toBe(String(byPolicy.totals.summaries));
    const shown = await byPolicyTable.locator('tbody tr').evaluateAll((rows) => rows.map((r) => [0, 1, 2].map((i) => (r.children[i] as { textContent: string | null }).textContent?.trim() ?? '')));
    expect(shown).toEqual(byPolicy.groups.map((g) => [g.key.policy === null ? 'none (default deny or no rule)' : String(g.key.policy), String(g.key.verdict), String(g.flows)]));
    const byReason = await post<FlowAggregationResult>('/flows/aggregations', { ...query, groupBy: ['drop_reason_desc', 'verdict'], orderBy: 'flows' });
    expect(await page.getByRole('table', { name: 'Drops by reason' }).locator('tbody tr').count()).toBe(byReason.groups.length);
    // the trend's intervals partition the window: their sum is the total
    expect(await page.locator('svg.trend desc').textContent()).toContain(`${byPolicy.totals.flows} dropped or audited new connections in 12 intervals`);
    expect(await page.locator('svg.trend rect').count()).toBe(24);
    await checkView('drops');
    // a group links to its flows
    const group = byPolicy.groups.find((g) => g.key.policy !== null)!;
    await page.evaluate('performance.clearMarks()');
    await byPolicyTable.locator('tbody tr', { hasText: String(group.key.policy) }).filter({ hasText: String(group.key.verdict) }).getByRole('link').click();
    await flowsShown();
    expect(new URL(page.url()).hash).toContain(`policy=${encodeURIComponent(String(group.key.policy))}`);
  }, 120_000);

  it('logged no console error', () => {
    if (problems.errors.length > 0) console.error(problems.errors);
    expect(problems.errors).toEqual([]);
  });
});
