import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContractClient } from '../helpers/contract-client.js';
import { startTestApi, type TestApi } from '../helpers/api-harness.js';
import { clusterBody } from '../helpers/fixtures.js';

/** The README's flow walk-through imports docs/examples/hubble-flows.jsonl: keep that example true. */
const example = readFileSync(fileURLToPath(new URL('../../docs/examples/hubble-flows.jsonl', import.meta.url)), 'utf8');

let api: TestApi;
let client: ReturnType<typeof createContractClient>;
beforeAll(async () => {
  api = await startTestApi();
  client = createContractClient(api.baseUrl);
  await client.call('PUT', '/clusters/prod-east', { token: api.tokens.admin, body: clusterBody('prod-east', { env: 'prod' }) });
});
afterAll(async () => api?.close());

describe('README flow walk-through', () => {
  it('imports the example Hubble export and finds its dropped flow', async () => {
    const imported = await client.call('POST', '/clusters/prod-east/flowimports', { token: api.tokens.admin, rawBody: example, contentType: 'application/x-ndjson' });
    expect(imported.status).toBe(200);
    expect(imported.body).toMatchObject({ lines: 6, imported: 6, skipped: 0 });
    const dropped = await client.call('POST', '/flows/query', {
      token: api.tokens.reader,
      body: { since: '2026-11-24T09:00:00Z', until: '2026-11-24T11:00:00Z', whitelist: [{ verdict: ['DROPPED'], destination_pod: ['payments/'] }] },
    });
    expect(dropped.status).toBe(200);
    expect(dropped.body.items).toHaveLength(1);
    expect(dropped.body.items[0].flow).toMatchObject({ verdict: 'DROPPED', drop_reason_desc: 'POLICY_DENIED', packets: 2, flows: 2 });
  });
});
