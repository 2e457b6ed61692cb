import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
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
  { path: '/reference', operationId: 'getApiReference', contentType: 'text/html; charset=utf-8' },
  { path: '/reference/redoc.standalone.js', operationId: 'getApiReferenceScript', contentType: 'text/javascript; charset=utf-8' },
  {
    path: '/reference/redoc.standalone.js.LICENSE.txt',
    operationId: 'getApiReferenceScriptLicense',
    contentType: 'text/plain; charset=utf-8',
  },
];

const require = createRequire(import.meta.url);
const rendererScript = readFileSync(require.resolve('redoc/bundles/redoc.standalone.js'));
const rendererLicense = readFileSync(require.resolve('redoc/bundles/redoc.standalone.js.LICENSE.txt'));
const contract = parseYaml(file.toString('utf8')) as {
  paths: Record<string, { get: { responses: Record<string, { content?: Record<string, { schema: { maxLength?: number } }> }> } }>;
};

/** The `maxLength` the contract declares for a path's 200 body in `mediaType`. */
function declaredMaxLength(path: string, mediaType: string): number | undefined {
  return contract.paths[path]?.get.responses['200']?.content?.[mediaType]?.schema.maxLength;
}

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

  it('the representations have different ETags', async () => {
    const responses = await Promise.all(representations.map(({ path }) => fetch(`${api.baseUrl}${path}`)));
    expect(new Set(responses.map((response) => response.headers.get('etag'))).size).toBe(representations.length);
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

describe('the API serves its contract rendered as a reference page (Redoc), offline', () => {
  const pageUrl = () => `${api.baseUrl}/reference`;

  async function readPage(): Promise<string> {
    const response = await client.call('GET', '/reference');
    expect(response.status).toBe(200);
    return response.text;
  }

  it('GET /reference answers an HTML page without a token, not frameable and not sniffable', async () => {
    const response = await client.call('GET', '/reference');
    expect(response.status).toBe(200);
    expect(response.operationId).toBe('getApiReference');
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(response.text).toMatch(/^<!doctype html>/);
  });

  it('the page loads the renderer and the contract from this API, by URLs relative to the page', async () => {
    const html = await readPage();
    const scripts = [...html.matchAll(/<script src="([^"]+)"><\/script>/g)].map((match) => match[1]!);
    const specUrls = [...html.matchAll(/<redoc spec-url="([^"]+)"><\/redoc>/g)].map((match) => match[1]!);
    expect(scripts).toEqual(['reference/redoc.standalone.js']);
    expect(specUrls).toEqual(['openapi.json']);

    const script = await fetch(new URL(scripts[0]!, pageUrl()));
    expect(script.status).toBe(200);
    expect(Buffer.from(await script.arrayBuffer()).equals(rendererScript)).toBe(true);

    const spec = await fetch(new URL(specUrls[0]!, pageUrl()));
    expect(spec.status).toBe(200);
    expect(await spec.json()).toEqual(contract);
  });

  it('the page names no other origin (no CDN, no web fonts): it renders offline', async () => {
    const html = await readPage();
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/src="\/\//);
  });

  it('GET /reference/redoc.standalone.js answers the bytes of the pinned redoc package\'s standalone bundle', async () => {
    const response = await client.call('GET', '/reference/redoc.standalone.js');
    expect(response.status).toBe(200);
    expect(response.operationId).toBe('getApiReferenceScript');
    expect(response.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    const bytes = Buffer.from(await (await fetch(`${api.baseUrl}/reference/redoc.standalone.js`)).arrayBuffer());
    expect(bytes.equals(rendererScript)).toBe(true);
  });

  it('GET /reference/redoc.standalone.js.LICENSE.txt answers the notices the bundle points at', async () => {
    expect(rendererScript.subarray(0, 200).toString('utf8')).toContain('redoc.standalone.js.LICENSE.txt');
    const response = await fetch(`${api.baseUrl}/reference/redoc.standalone.js.LICENSE.txt`);
    expect(response.status).toBe(200);
    expect(Buffer.from(await response.arrayBuffer()).equals(rendererLicense)).toBe(true);
  });

  it.each([
    { path: '/reference', mediaType: 'text/html' },
    { path: '/reference/redoc.standalone.js', mediaType: 'text/javascript' },
    { path: '/reference/redoc.standalone.js.LICENSE.txt', mediaType: 'text/plain' },
  ])('$path stays within the maxLength the contract declares for it', async ({ path, mediaType }) => {
    const maxLength = declaredMaxLength(path, mediaType);
    expect(maxLength).toBeGreaterThan(0);
    const text = await (await fetch(`${api.baseUrl}${path}`)).text();
    expect(text.length).toBeLessThanOrEqual(maxLength!);
  });
});
