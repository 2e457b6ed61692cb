import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { findOpenApiDocumentPath } from '../../core/schema/compile-schema-validator.js';
import { createContractClient } from '../helpers/contract-client.js';
import { startTestApi, type TestApi } from '../helpers/api-harness.js';

let api: TestApi;
let client: ReturnType<typeof createContractClient>;
const file = readFileSync(findOpenApiDocumentPath());

beforeAll(async () => {
  api = await startTestApi();
  client = createContractClient(api.baseUrl);
});
afterAll(async () => {
  await api?.close();
});

const representations = [
  { path: '/openapi.yaml', operationId: 'getOpenApiYaml', contentType: 'application/yaml' },
  { path: '/openapi.json', operationId: 'getOpenApiJson', contentType: 'application/json' },
];

describe('the API serves its own contract', () => {
  it('GET /openapi.yaml answers the exact bytes of openapi/openapi.yaml, without a token', async () => {
    const response = await fetch(`${api.baseUrl}/openapi.yaml`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/yaml');
    expect(Buffer.from(await response.arrayBuffer()).equals(file)).toBe(true);
  });

  it('GET /openapi.json answers the same document as JSON, without a token', async () => {
    const response = await client.call('GET', '/openapi.json');
    expect(response.status).toBe(200);
    expect(response.operationId).toBe('getOpenApiJson');
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.body).toEqual(parseYaml(file.toString('utf8')));
  });

  it.each(representations)('$path carries a strong ETag (hash of its bytes) and a public Cache-Control', async ({ path }) => {
    const response = await fetch(`${api.baseUrl}${path}`);
    const bytes = Buffer.from(await response.arrayBuffer());
    expect(response.headers.get('etag')).toBe(`"${createHash('sha256').update(bytes).digest('base64url')}"`);
    expect(response.headers.get('cache-control')).toBe('public, max-age=300');
  });

  it('the two representations have different ETags', async () => {
    const [yaml, json] = await Promise.all(representations.map(({ path }) => fetch(`${api.baseUrl}${path}`)));
    expect(yaml!.headers.get('etag')).not.toBe(json!.headers.get('etag'));
  });

  it.each(representations)('$path answers 304 to If-None-Match naming its ETag (strong, weak, in a list, or *)', async ({ path, operationId }) => {
    const first = await client.call('GET', path);
    const etag = first.headers.get('etag')!;
    for (const ifNoneMatch of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
      const response = await client.call('GET', path, { headers: { 'if-none-match': ifNoneMatch } });
      expect(response.status, ifNoneMatch).toBe(304);
      expect(response.operationId).toBe(operationId);
      expect(response.text).toBe('');
      expect(response.headers.get('etag')).toBe(etag);
      expect(response.headers.get('cache-control')).toBe('public, max-age=300');
    }
  });

  it.each(representations)('$path answers 200 to If-None-Match naming another ETag', async ({ path, contentType }) => {
    const response = await client.call('GET', path, { headers: { 'if-none-match': '"stale"' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(contentType);
  });

  it.each(representations)('$path ignores a bearer token, even an invalid one', async ({ path }) => {
    const response = await client.call('GET', path, { token: 'not-a-jwt' });
    expect(response.status).toBe(200);
  });

  it.each(['HEAD', 'POST', 'PUT', 'DELETE'].flatMap((method) => representations.map(({ path }) => ({ method, path }))))(
    '$method $path → 405 with Allow: GET',
    async ({ method, path }) => {
      const response = await fetch(`${api.baseUrl}${path}`, { method });
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('GET');
    },
  );
});
