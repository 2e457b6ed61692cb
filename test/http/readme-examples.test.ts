import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContractClient } from '../helpers/contract-client.js';
import { startTestApi, type TestApi } from '../helpers/api-harness.js';
import { clusterBody } from '../helpers/fixtures.js';

/**
 * The README's walk-throughs use the files in docs/examples/ (nothing outside the repository): keep them true.
 * The flow walk-through asks for an explicit window (`W="--since … --until …"`) that must hold the example's
 * dated flows, so it prints them on any day.
 */
const read = (path: string) => readFileSync(fileURLToPath(new URL(`../../${path}`, import.meta.url)), 'utf8');
const example = read('docs/examples/hubble-flows.jsonl');
const policyExample = read('docs/examples/cilium-l4.yaml');
const readme = read('README.md');
const window = /^W="--since (\S+) --until (\S+)"$/m.exec(readme);

let api: TestApi;
let client: ReturnType<typeof createContractClient>;
beforeAll(async () => {
  api = await startTestApi();
  client = createContractClient(api.baseUrl);
  await client.call('PUT', '/clusters/prod-east', { token: api.tokens.admin, body: clusterBody('prod-east', { env: 'prod' }) });
});
afterAll(async () => api?.close());

describe('README walk-throughs', () => {
  it('use only files inside the repository', () => {
    expect(readme).not.toMatch(/\.\.\/shared/);
    for (const [, path] of readme.matchAll(/(docs\/examples\/[\w.-]+)/g)) expect(() => read(path ?? ''), path).not.toThrow();
  });

  it('imports the example Cilium policy (curl step 6, dry run; policy apply)', async () => {
    expect(readme).toContain('--data-binary @docs/examples/cilium-l4.yaml');
    const response = await client.call('POST', '/networkpolicyimports?dryRun=true&clusterSelector=env%3Dprod', {
      token: api.tokens.admin, rawBody: policyExample, contentType: 'application/yaml',
    });
    expect(response.status).toBe(200);
    expect(response.body.dryRun).toBe(true);
    expect(response.body.documents.map((d: { outcome: string; policy: { metadata: { name: string } } }) => [d.outcome, d.policy.metadata.name])).toEqual([
      ['imported', 'payments.db-allow-api'],
    ]);
    expect(response.body.documents[0].policy.spec).toMatchObject({ namespace: 'payments', targets: { clusterSelector: { matchLabels: { env: 'prod' } } } });
  });

  it("states a flow window that holds every line of the example", () => {
    expect(window, 'README: W="--since <RFC 3339> --until <RFC 3339>"').not.toBeNull();
    const [since, until] = [Date.parse(window?.[1] ?? ''), Date.parse(window?.[2] ?? '')];
    for (const line of example.trim().split('\n')) {
      const time = Date.parse(JSON.parse(line).flow.time);
      expect(time).toBeGreaterThanOrEqual(since);
      // A summary's time is the end of its window (at most an hour after the event), and the window is half-open.
      expect(time + 3_600_000).toBeLessThan(until);
    }
  });

  it('imports the example Hubble export and finds its dropped flow in the README window', async () => {
    const imported = await client.call('POST', '/clusters/prod-east/flowimports', { token: api.tokens.admin, rawBody: example, contentType: 'application/x-ndjson' });
    expect(imported.status).toBe(200);
    expect(imported.body).toMatchObject({ lines: 6, imported: 6, skipped: 0 });
    const dropped = await client.call('POST', '/flows/query', {
      token: api.tokens.reader,
      body: { since: window?.[1], until: window?.[2], whitelist: [{ verdict: ['DROPPED'], destination_pod: ['payments/'] }] },
    });
    expect(dropped.status).toBe(200);
    expect(dropped.body.items).toHaveLength(1);
    expect(dropped.body.items[0].flow).toMatchObject({ verdict: 'DROPPED', drop_reason_desc: 'POLICY_DENIED', packets: 2, flows: 2 });
  });
});
