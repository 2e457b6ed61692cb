import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importPolicyDocuments } from '../../core/policy/import/import-policy-documents.js';
import { createContractClient } from '../helpers/contract-client.js';
import { startTestApi, type TestApi } from '../helpers/api-harness.js';
import * as upstream from '../helpers/upstream-fixtures.js';

/**
 * Every upstream Cilium example (../shared/fixtures/cilium-policies) through the real HTTP import:
 * the outcomes served equal the core importer's, whose per-file table is pinned in
 * core/policy/import/cilium-fixtures.test.ts; and importing all valid ones for real stores them.
 * Skipped, with the reason, where the upstream fixtures are absent (test/helpers/upstream-fixtures.ts).
 */
const FIXTURES = upstream.CILIUM_POLICIES;
const list = (dir: string): string[] =>
  readdirSync(dir).flatMap((entry) => (statSync(join(dir, entry)).isDirectory() ? list(join(dir, entry)) : entry.endsWith('.yaml') ? [join(dir, entry)] : []));
const files = upstream.present ? list(FIXTURES).sort() : [];
upstream.announceSkip('Cilium fixture import over HTTP (test/http/import-fixtures.test.ts)');

let api: TestApi;
let client: ReturnType<typeof createContractClient>;
beforeAll(async () => {
  if (!upstream.present) return;
  api = await startTestApi();
  client = createContractClient(api.baseUrl);
});
afterAll(async () => api?.close());

const summarize = (documents: { outcome: string; reason?: string; policy?: { metadata: { name: string } }; errors?: { pointer: string }[] }[]) =>
  documents.map((d) => ({ outcome: d.outcome, name: d.policy?.metadata.name, reason: d.reason, pointer: d.errors?.[0]?.pointer }));

describe.skipIf(!upstream.present)(upstream.titled('Cilium fixture import over HTTP'), () => {
  it('reads all 82 fixture files', () => expect(files).toHaveLength(82));

  it('serves, for every file, exactly the core importer outcomes (dry run); 72 import, 22 are rejected', async () => {
    let imported = 0;
    let rejected = 0;
    for (const file of files) {
      const yaml = readFileSync(file, 'utf8');
      const response = await client.call('POST', '/networkpolicyimports?dryRun=true', { token: api.tokens.admin, rawBody: yaml, contentType: 'application/yaml' });
      expect(response.status, relative(FIXTURES, file)).toBe(200);
      expect(summarize(response.body.documents), relative(FIXTURES, file)).toEqual(summarize(importPolicyDocuments(yaml, 'yaml') as never));
      for (const document of response.body.documents) document.outcome === 'imported' ? imported++ : rejected++;
    }
    expect({ imported, rejected }).toEqual({ imported: 72, rejected: 22 });
  });

  it('stores every file whose documents all import, and readers get them back', async () => {
    let stored = 0;
    for (const file of files) {
      const yaml = readFileSync(file, 'utf8');
      if (importPolicyDocuments(yaml, 'yaml').some((o) => o.outcome === 'rejected')) continue;
      const response = await client.call('POST', '/networkpolicyimports', { token: api.tokens.admin, rawBody: yaml, contentType: 'application/yaml' });
      expect(response.status, relative(FIXTURES, file)).toBe(200);
      for (const document of response.body.documents) {
        const read = await client.call('GET', `/networkpolicies/${document.policy.metadata.name}`, { token: api.tokens.reader });
        expect(read.status).toBe(200);
        stored++;
      }
    }
    expect(stored).toBeGreaterThanOrEqual(60);
  });
});
