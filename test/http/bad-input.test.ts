import { connect } from 'node:net';
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSchemaValidator } from '../../core/schema/compile-schema-validator.js';
import { createContractClient } from '../helpers/contract-client.js';
import { startTestApi, type TestApi } from '../helpers/api-harness.js';
import { clusterBody, policyBody } from '../helpers/fixtures.js';

/** Short, so the Content-Length case answers in well under a second (the host's default is 10 s). */
const BODY_READ_TIMEOUT_MS = 300;

let api: TestApi;
let client: ReturnType<typeof createContractClient>;

beforeAll(async () => {
  api = await startTestApi({}, { bodyReadTimeoutMs: BODY_READ_TIMEOUT_MS });
  client = createContractClient(api.baseUrl);
  await client.call('PUT', '/clusters/hub', { token: api.tokens.admin, body: clusterBody('hub', {}, ['agent-hub']) });
});
afterAll(async () => api?.close());

const pointers = (body: { errors: Array<{ pointer: string }> }) => body.errors.map((e) => e.pointer);
const nested = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);

async function policyNames(): Promise<string[]> {
  const list = await client.call('GET', '/networkpolicies', { token: api.tokens.admin });
  expect(list.status).toBe(200);
  return list.body.items.map((p: { metadata: { name: string } }) => p.metadata.name);
}

describe('deeply nested documents', () => {
  const cilium = (ingress: string) =>
    `{"apiVersion":"cilium.io/v2","kind":"CiliumNetworkPolicy","metadata":{"name":"deep","namespace":"shop"},"spec":{"endpointSelector":{},"ingress":${ingress}}}`;

  it.each([
    { name: '5,000 nested arrays in a JSON policy (10 KB)', body: cilium(nested(5000)), contentType: 'application/json', pointer: `/0/spec/ingress${'/0'.repeat(62)}` },
    { name: '1,000 nested arrays in a JSON policy', body: cilium(nested(1000)), contentType: 'application/json', pointer: `/0/spec/ingress${'/0'.repeat(62)}` },
    { name: '5,000 nested arrays alone', body: nested(5000), contentType: 'application/json', pointer: `/0${'/0'.repeat(64)}` },
    { name: '5,000 nested arrays in a Kubernetes List item', body: `{"apiVersion":"v1","kind":"List","items":[{"kind":"x"},${nested(5000)}]}`, contentType: 'application/json', pointer: `/1${'/0'.repeat(64)}` },
    { name: '5,000 nested YAML flow sequences', body: `apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nspec:\n  ingress: ${nested(5000)}\n`, contentType: 'application/yaml', pointer: '/0' },
  ])('import of $name → 400 ImportRejected (maxDepth), nothing stored', async ({ body, contentType, pointer }) => {
    expect(body.length).toBeLessThan(11_000);
    const response = await client.call('POST', '/networkpolicyimports', { token: api.tokens.admin, rawBody: body, contentType });
    expect(response.status).toBe(400);
    expect(response.body.code).toBe('ImportRejected');
    expect(pointers(response.body)).toContain(pointer);
    expect(response.body.errors.find((e: { pointer: string }) => e.pointer === pointer).rule).toBe('maxDepth');
    expect(await policyNames()).toEqual([]);
  });

  it('a PUT nested past the same limit → 400 ValidationFailed (maxDepth)', async () => {
    const body = JSON.stringify({ ...policyBody('deep'), extra: 'X' }).replace('"X"', nested(5000));
    const response = await client.call('PUT', '/networkpolicies/deep', { token: api.tokens.admin, rawBody: body });
    expect(response.status).toBe(400);
    expect(response.body.code).toBe('ValidationFailed');
    expect(response.body.errors).toEqual([{ pointer: `/extra${'/0'.repeat(63)}`, message: expect.stringContaining('64 levels'), rule: 'maxDepth' }]);
    expect((await client.call('GET', '/networkpolicies/deep', { token: api.tokens.admin })).status).toBe(404);
  });
});

describe('Hubble flow imports are held to the agent batch contract', () => {
  const time = '2026-11-24T21:00:10Z';
  const flow = (over: Record<string, unknown> = {}) => ({
    time,
    verdict: 'FORWARDED',
    traffic_direction: 'INGRESS',
    IP: { source: '10.0.0.1', destination: '10.0.0.2' },
    l4: { TCP: { destination_port: 8080, flags: { SYN: true } } },
    source: { identity: 1001, namespace: 'shop', pod_name: 'web-0' },
    destination: { identity: 1002, namespace: 'shop', pod_name: 'api-0' },
    ...over,
  });
  const line = (over: Record<string, unknown> = {}, node = 'hub/node-a') => JSON.stringify({ flow: flow(over), node_name: node, time });
  const valid = line();

  async function storedFlows(): Promise<number> {
    const page = await client.call('POST', '/flows/query', { token: api.tokens.reader, body: { since: '2026-11-24T20:00:00Z', until: '2026-11-24T22:00:00Z', whitelist: [{ cluster: ['hub'] }] } });
    expect(page.status).toBe(200);
    expect(page.body.coverage.clusters.flatMap((c: { nodes: unknown[] }) => c.nodes)).toEqual([]);
    return page.body.items.length;
  }

  it.each([
    { name: 'destination port 70000', lines: [valid, line({ l4: { TCP: { destination_port: 70000 } } })], pointer: '/1/flow/l4/TCP/destination_port', rule: 'maximum' },
    { name: 'ICMP type 65536', lines: [line({ l4: { ICMPv4: { type: 65536 } } })], pointer: '/0/flow/l4/ICMPv4/type', rule: 'maximum' },
    { name: 'identity 99999999999', lines: [line({ source: { identity: 99999999999 } }), valid], pointer: '/0/flow/source/identity', rule: 'maximum' },
    { name: 'identity "99999999999" (jsonpb string)', lines: [line({ source: { identity: '99999999999' } })], pointer: '/0/flow/source/identity', rule: 'maximum' },
    { name: 'identity 1.5', lines: [valid, '', line({ destination: { identity: 1.5 } })], pointer: '/2/flow/destination/identity', rule: 'type' },
    { name: 'a 5,000-character node name', lines: [line({}, `hub/${'n'.repeat(5000)}`)], pointer: '/0/node_name', rule: 'maxLength' },
    { name: 'a node name that is not a DNS subdomain', lines: [line({}, 'hub/Node_A')], pointer: '/0/node_name', rule: 'pattern' },
    { name: 'a bare flow with a 5,000-character node name', lines: [JSON.stringify({ ...flow(), node_name: 'n'.repeat(5000) })], pointer: '/0/node_name', rule: 'maxLength' },
    { name: 'a 1 MB node_name (NDJSON line)', lines: [valid, line({}, 'n'.repeat(1024 * 1024))], pointer: '/1/node_name', rule: 'maxLength' },
    { name: 'a 300-character pod name', lines: [line({ source: { identity: 1, pod_name: 'p'.repeat(300) } })], pointer: '/0/flow/source/pod_name', rule: 'maxLength' },
  ])('$name → 400 ValidationFailed at $pointer, nothing stored', async ({ lines, pointer, rule }) => {
    const response = await client.call('POST', '/clusters/hub/flowimports', { token: api.tokens.admin, rawBody: lines.join('\n'), contentType: 'application/x-ndjson' });
    expect(response.status).toBe(400);
    expect(response.body.code).toBe('ValidationFailed');
    expect(response.body.errors).toContainEqual(expect.objectContaining({ pointer, rule }));
    expect(response.text.length).toBeLessThan(10_000); // the offending value is never echoed
    expect(await storedFlows()).toBe(0);
  });

  it('lines that are not flows are still skipped, and valid lines still import (200)', async () => {
    const response = await client.call('POST', '/clusters/hub/flowimports', { token: api.tokens.admin, rawBody: ['{"node_status":{}}', valid].join('\n'), contentType: 'application/x-ndjson' });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ lines: 2, imported: 1, skipped: 1, accepted: 1 });
    const page = await client.call('POST', '/flows/query', { token: api.tokens.reader, body: { since: '2026-11-24T20:00:00Z', until: '2026-11-24T22:00:00Z', whitelist: [{ cluster: ['hub'] }] } });
    expect(page.body.items).toHaveLength(1); // the contract client validated it against FlowRecord
  });
});

describe('a body shorter than its Content-Length', () => {
  /** Sends the head and `sent` bytes of a body declared as `declared` bytes, keeps the socket open, returns the raw response. */
  function sendShort(path: string, declared: number, sent: string): Promise<string> {
    const url = new URL(`${api.baseUrl}${path}`);
    return new Promise((resolve, reject) => {
      const socket = connect(Number(url.port), url.hostname, () => {
        socket.write(
          `PUT ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${api.tokens.admin}\r\nContent-Type: application/json\r\nContent-Length: ${declared}\r\n\r\n${sent}`,
        );
      });
      let response = '';
      socket.on('data', (chunk) => (response += chunk.toString('utf8')));
      socket.on('close', () => resolve(response));
      socket.on('error', reject);
      setTimeout(() => socket.destroy(new Error('no answer within 5 s')), 5000);
    });
  }

  /** The payload of a chunked HTTP/1.1 body. */
  function dechunk(body: string): string {
    let out = '';
    for (let at = 0; ; ) {
      const eol = body.indexOf('\r\n', at);
      const size = parseInt(body.slice(at, eol), 16);
      if (!size) return out;
      out += body.slice(eol + 2, eol + 2 + size);
      at = eol + 2 + size + 2;
    }
  }

  it('times out with 400 IncompleteBody and closes the connection; nothing stored', async () => {
    const body = JSON.stringify(policyBody('short'));
    const started = Date.now();
    const raw = await sendShort('/networkpolicies/short', body.length + 100, body);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(BODY_READ_TIMEOUT_MS - 20);
    expect(elapsed).toBeLessThan(3000);
    const [head, payload] = raw.split('\r\n\r\n') as [string, string];
    expect(head).toMatch(/^HTTP\/1\.1 400 /);
    expect(head.toLowerCase()).toContain('content-type: application/problem+json');
    expect(head.toLowerCase()).toContain('connection: close');
    const problem = JSON.parse(/transfer-encoding: chunked/i.test(head) ? dechunk(payload) : payload);
    expect(createSchemaValidator('Problem')(problem)).toEqual([]);
    expect(problem).toMatchObject({ status: 400, code: 'IncompleteBody', errors: [{ pointer: '', rule: 'contentLength' }] });
    expect((await client.call('GET', '/networkpolicies/short', { token: api.tokens.admin })).status).toBe(404);
  });
});

describe('Content-Encoding', () => {
  const json = (name: string) => Buffer.from(JSON.stringify(policyBody(name)));

  it.each([
    { coding: 'gzip', encode: gzipSync, name: 'enc-gzip' },
    { coding: 'x-gzip', encode: gzipSync, name: 'enc-x-gzip' },
    { coding: 'deflate', encode: deflateSync, name: 'enc-deflate' },
    { coding: 'deflate', encode: deflateRawSync, name: 'enc-raw-deflate' },
    { coding: 'br', encode: brotliCompressSync, name: 'enc-br' },
    { coding: 'identity', encode: (b: Buffer) => b, name: 'enc-identity' },
    { coding: 'gzip, br', encode: (b: Buffer) => brotliCompressSync(gzipSync(b)), name: 'enc-gzip-then-br' },
  ])('$coding bodies are decoded ($name)', async ({ coding, encode, name }) => {
    const response = await client.call('PUT', `/networkpolicies/${name}`, { token: api.tokens.admin, rawBody: encode(json(name)), headers: { 'content-encoding': coding } });
    expect(response.status).toBe(201);
    expect(response.body.metadata.name).toBe(name);
  });

  it('a gzipped Hubble import is decoded', async () => {
    const text = JSON.stringify({ flow: { time: '2026-11-25T10:00:00Z', verdict: 'DROPPED', traffic_direction: 'EGRESS', l4: { UDP: { destination_port: 53 } }, source: { identity: 5 }, destination: { identity: 2 } }, node_name: 'hub/node-z' });
    const response = await client.call('POST', '/clusters/hub/flowimports', { token: api.tokens.admin, rawBody: gzipSync(text), contentType: 'application/x-ndjson', headers: { 'content-encoding': 'gzip' } });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ imported: 1, accepted: 1 });
  });

  const bomb = gzipSync(Buffer.concat([Buffer.from('{"apiVersion":"'), Buffer.alloc(64 * 1024 * 1024, 0x61), Buffer.from('"}')]), { level: 9 });

  it.each([
    { name: 'an unknown encoding', coding: 'compress', body: json('bad-enc'), status: 415, code: 'UnsupportedMediaType', pointer: '/header/content-encoding' },
    { name: 'zstd', coding: 'zstd', body: json('bad-enc'), status: 415, code: 'UnsupportedMediaType', pointer: '/header/content-encoding' },
    { name: 'a known and an unknown encoding', coding: 'gzip, snappy', body: json('bad-enc'), status: 415, code: 'UnsupportedMediaType', pointer: '/header/content-encoding' },
    { name: 'gzip that is not gzip', coding: 'gzip', body: json('bad-enc'), status: 400, code: 'InvalidContentEncoding', pointer: '/header/content-encoding' },
    { name: 'truncated br', coding: 'br', body: brotliCompressSync(json('bad-enc')).subarray(0, 20), status: 400, code: 'InvalidContentEncoding', pointer: '/header/content-encoding' },
    { name: 'a gzip bomb (64 KiB → 64 MiB)', coding: 'gzip', body: bomb, status: 413, code: 'PayloadTooLarge', pointer: '' },
  ])('$name → $status $code, nothing stored', async ({ coding, body, status, code, pointer }) => {
    expect(body.byteLength).toBeLessThan(1024 * 1024);
    const response = await client.call('PUT', '/networkpolicies/bad-enc', { token: api.tokens.admin, rawBody: body, headers: { 'content-encoding': coding } });
    expect(response.status).toBe(status);
    expect(response.body.code).toBe(code);
    expect(pointers(response.body)).toContain(pointer);
    if (status === 415) expect(response.headers.get('accept-encoding')).toBe('gzip, deflate, br');
    expect((await client.call('GET', '/networkpolicies/bad-enc', { token: api.tokens.admin })).status).toBe(404);
  });

  it('a gzip bomb on a 64 MiB import stops at the limit with 413', async () => {
    const big = gzipSync(Buffer.alloc(65 * 1024 * 1024, 0x0a), { level: 1 });
    const response = await client.call('POST', '/clusters/hub/flowimports', { token: api.tokens.admin, rawBody: big, contentType: 'application/x-ndjson', headers: { 'content-encoding': 'gzip' } });
    expect(response.status).toBe(413);
    expect(response.body.code).toBe('PayloadTooLarge');
  });
});

describe('patch documents on PUT', () => {
  it.each([
    { contentType: 'application/merge-patch+json', body: policyBody('patched') },
    { contentType: 'application/json-patch+json', body: [{ op: 'replace', path: '/spec/mode', value: 'audit' }] },
    { contentType: 'application/merge-patch+json; charset=utf-8', body: policyBody('patched') },
  ])('$contentType → 415 UnsupportedMediaType, nothing stored', async ({ contentType, body }) => {
    const response = await client.call('PUT', '/networkpolicies/patched', { token: api.tokens.admin, body, contentType });
    expect(response.status).toBe(415);
    expect(response.body.code).toBe('UnsupportedMediaType');
    expect(response.body.detail).toContain('patch');
    expect(pointers(response.body)).toEqual(['/header/content-type']);
    expect((await client.call('GET', '/networkpolicies/patched', { token: api.tokens.admin })).status).toBe(404);
  });

  it('other +json media types are still JSON', async () => {
    const response = await client.call('PUT', '/networkpolicies/vendor-json', { token: api.tokens.admin, body: policyBody('vendor-json'), contentType: 'application/vnd.fleetnet+json' });
    expect(response.status).toBe(201);
  });
});
