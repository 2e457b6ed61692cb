/**
 * `npm run bench:console` — a benchmark, not a test (issue 15, item 3: "a window of 100,000 summaries stays
 * interactive"). Loads BENCH_SUMMARIES (default 100,000) generated summaries of 500 workloads (25 namespaces
 * × 20 workloads, each talking to 4 others, plus DNS-named external peers; a fifth dropped or audited) into
 * the real API on the embedded store (in-process, through the agents' ingest operation, batches of 5000 on
 * 10 nodes over the last 3 hours), opens the built console (dist/console: run `npm run build:console` first)
 * in headless Chromium and measures, in rounds that alternate the two:
 * - flow table first paint: from the answer of POST /flows/query (the view's `flows:answered` mark) to the
 *   rows painted (`flows:painted`: the task after the frame that drew them), for the window's first page of
 *   BENCH_PAGE rows (default 1000, the largest page the view offers);
 * - service map layout: fcose over the window's service graph of 500 workloads (`map:layout-start` →
 *   `map:layout-stop`), with cytoscape building the elements before it.
 * The API's own time is not in either figure. Prints the medians as `console/flow-table-first-paint-ms: <v>`
 * and `console/service-map-layout-ms: <v>`, and the spread (min–max over the rounds). Targets: ≤ 1000 ms
 * and ≤ 2000 ms. Knobs: BENCH_ROUNDS (default 5, at least 3), BENCH_SUMMARIES, BENCH_PAGE.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { FlowEndpoint, FlowSummary, ServiceGraph } from '../openapi/types.js';
import { startTestApi } from '../test/helpers/api-harness.js';
import { launchChromium } from '../test/helpers/browser.js';
import { clusterBody } from '../test/helpers/fixtures.js';
import { createRandom } from '../test/helpers/flow-fixtures.js';
import { CONSOLE_OUT } from '../scripts/build-console.js';

const ROUNDS = Math.max(3, Number(process.env.BENCH_ROUNDS ?? 5));
const TOTAL = Number(process.env.BENCH_SUMMARIES ?? 100_000);
const PAGE = Number(process.env.BENCH_PAGE ?? 1000);
const BATCH = 5000;
const NODES = 10;
const NAMESPACES = Array.from({ length: 25 }, (_, i) => `team-${String(i).padStart(2, '0')}`);
const NAMES = ['web', 'api', 'db', 'cache', 'worker', 'gateway', 'auth', 'search', 'billing', 'orders', 'cart', 'users', 'mail', 'media', 'queue', 'cron', 'report', 'audit', 'proxy', 'metrics'];
const WORKLOADS = NAMESPACES.length * NAMES.length; // 500
const EXTERNAL = ['api.github.com', 'login.microsoftonline.com', 'storage.example.net', 'exfil.evil.example'];

if (!existsSync(`${CONSOLE_OUT}index.html`)) {
  console.error('bench:console needs the built console: run `npm run build:console` first');
  process.exit(2);
}

function workload(i: number): FlowEndpoint {
  const ns = NAMESPACES[Math.floor(i / NAMES.length)]!;
  const name = NAMES[i % NAMES.length]!;
  return { identity: 20_000 + i, namespace: ns, pod_name: `${name}-5c8d-${i % 7}`, labels: [`k8s:app=${name}`, `k8s:io.kubernetes.pod.namespace=${ns}`], workloads: [{ name, kind: 'Deployment' }] };
}

function generate(count: number, random: () => number): FlowSummary[] {
  return Array.from({ length: count }, () => {
    const i = Math.floor(random() * WORKLOADS);
    const roll = random();
    const external = roll < 0.03;
    const peer = (i * 7 + (1 + Math.floor(random() * 4)) * 13) % WORKLOADS;
    const verdict = roll < 0.8 ? 'FORWARDED' : roll < 0.93 ? 'DROPPED' : 'AUDIT';
    const s: FlowSummary = {
      source: workload(i),
      destination: external ? { identity: 2, labels: ['reserved:world'] } : workload(peer),
      ...(external ? { destination_names: [EXTERNAL[Math.floor(random() * EXTERNAL.length)]!] } : {}),
      l4: { protocol: 'TCP', destination_port: [80, 443, 5432, 6379, 8080][Math.floor(random() * 5)]! },
      traffic_direction: external ? 'EGRESS' : 'INGRESS',
      verdict,
      packets: 1 + Math.floor(random() * 500),
      bytes: Math.floor(random() * 500_000),
      flows: Math.floor(random() * 10),
    };
    if (verdict !== 'FORWARDED') {
      s.drop_reason_desc = random() < 0.5 ? 'POLICY_DENIED' : 'POLICY_DENY';
      if (s.drop_reason_desc === 'POLICY_DENY') s.policy = { name: 'deny-cross-team', revision: 2 };
    }
    return s;
  });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const spread = (values: number[]) => `${Math.min(...values).toFixed(1)}–${Math.max(...values).toFixed(1)} ms`;

const api = await startTestApi();
const browser = await launchChromium();
try {
  const cluster = 'bench';
  const put = await fetch(`${api.baseUrl}/clusters/${cluster}`, { method: 'PUT', headers: { authorization: `Bearer ${api.tokens.admin}`, 'content-type': 'application/json' }, body: JSON.stringify(clusterBody(cluster, {}, ['bench-agent'])) });
  if (put.status >= 300) throw new Error(`cluster: ${put.status}`);
  const agent = await api.agentToken('bench-agent');
  const random = createRandom(1515);
  const loadStarted = performance.now();
  const now = Date.now();
  const batches = Math.ceil(TOTAL / BATCH);
  for (let b = 0; b < batches; b++) {
    const node = `node-${b % NODES}`;
    const end = new Date(now - (2 + b * 5) * 60_000).toISOString();
    const body = { batchId: randomUUID(), sequence: Math.floor(b / NODES), window: { start: new Date(Date.parse(end) - 60_000).toISOString(), end }, summaries: generate(Math.min(BATCH, TOTAL - b * BATCH), random) };
    const response = await fetch(`${api.baseUrl}/clusters/${cluster}/nodes/${node}/flows`, { method: 'POST', headers: { authorization: `Bearer ${agent}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (response.status !== 200) throw new Error(`ingest: ${response.status} ${await response.text()}`);
  }
  const graph = (await (await fetch(`${api.baseUrl}/flows/servicegraph`, { method: 'POST', headers: { authorization: `Bearer ${api.tokens.reader}`, 'content-type': 'application/json' }, body: JSON.stringify({ since: '3h' }) })).json()) as ServiceGraph;
  const workloads = graph.nodes.filter((n) => n.namespace).length;
  console.log(`bench:console — ${TOTAL.toLocaleString('en-US')} summaries loaded in ${((performance.now() - loadStarted) / 1000).toFixed(1)} s; service graph: ${workloads} workloads, ${graph.nodes.length - workloads} external peers, ${graph.edges.length} edges; ${ROUNDS} rounds (+1 warm-up), flow page of ${PAGE} rows`);

  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${api.baseUrl}/console/`);
  await page.getByLabel('Token').fill(api.tokens.reader);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Views' }).waitFor();

  const between = (from: string, to: string) => page.evaluate(([a, b]) => performance.getEntriesByName(b!)[0]!.startTime - performance.getEntriesByName(a!)[0]!.startTime, [from, to]);
  /** Another view first, so each measurement mounts its view afresh; marks cleared. */
  async function elsewhere(): Promise<void> {
    await page.goto(`${api.baseUrl}/console/#/fleet`);
    await page.getByRole('table', { name: 'Clusters' }).waitFor();
    await page.evaluate(() => performance.clearMarks());
  }
  async function flowTable(): Promise<number> {
    await elsewhere();
    await page.goto(`${api.baseUrl}/console/#/flows?since=3h&size=${PAGE}`);
    await page.waitForFunction(() => performance.getEntriesByName('flows:painted').length > 0, undefined, { timeout: 120_000 });
    return between('flows:answered', 'flows:painted');
  }
  async function serviceMap(): Promise<number> {
    await elsewhere();
    await page.goto(`${api.baseUrl}/console/#/map?since=3h`);
    await page.waitForFunction(() => performance.getEntriesByName('map:layout-stop').length > 0, undefined, { timeout: 120_000 });
    const label = await page.locator('.graph').getAttribute('aria-label');
    if (!label?.includes(`${graph.nodes.length} workloads`)) throw new Error(`the map shows another graph: ${label}`);
    return between('map:layout-start', 'map:layout-stop');
  }

  await flowTable();
  await serviceMap();
  const paints: number[] = [];
  const layouts: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    // interleaved, the order alternating
    if (round % 2 === 0) {
      paints.push(await flowTable());
      layouts.push(await serviceMap());
    } else {
      layouts.push(await serviceMap());
      paints.push(await flowTable());
    }
    console.log(`  round ${round + 1}: flow table first paint ${paints.at(-1)!.toFixed(1)} ms, service map layout ${layouts.at(-1)!.toFixed(1)} ms`);
  }
  console.log(`console/flow-table-first-paint-ms: ${median(paints).toFixed(1)}`);
  console.log(`console/service-map-layout-ms: ${median(layouts).toFixed(1)}`);
  console.log(`spread: flow table first paint ${spread(paints)} (${PAGE} rows; target ≤ 1000 ms), service map layout ${spread(layouts)} (${graph.nodes.length} nodes incl. ${workloads} workloads, ${graph.edges.length} edges; target ≤ 2000 ms)`);
  if (errors.length > 0) console.log(`page errors: ${errors.join('; ')}`);
} finally {
  await browser.close();
  await api.close();
}
