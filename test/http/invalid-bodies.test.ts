import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContractClient } from '../helpers/contract-client.js';
import { startTestApi, type TestApi } from '../helpers/api-harness.js';
import { clusterBody, encryptionBody, policyBody } from '../helpers/fixtures.js';

let api: TestApi;
let client: ReturnType<typeof createContractClient>;

beforeAll(async () => {
  api = await startTestApi();
  client = createContractClient(api.baseUrl);
});
afterAll(async () => api?.close());

const NAME = 'bad';
const rule = (patch: Record<string, unknown>) => policyBody(NAME, patch);
const withPorts = (port: Record<string, unknown>) => rule({ ingress: [{ toPorts: [{ ports: [port] }] }] });

interface InvalidCase {
  name: string;
  path?: string;
  body?: unknown;
  raw?: string;
  contentType?: string;
  status?: number;
  code?: string;
  pointer: string;
}

const cases: InvalidCase[] = [
  { name: 'malformed JSON', raw: '{"apiVersion": "fleetnet.io/v1",', code: 'InvalidJson', pointer: '' },
  { name: 'empty body', raw: '', code: 'InvalidJson', pointer: '' },
  { name: 'a JSON array', body: [policyBody(NAME)], pointer: '' },
  { name: 'wrong content type', raw: JSON.stringify(policyBody(NAME)), contentType: 'text/plain', status: 415, code: 'UnsupportedMediaType', pointer: '/header/content-type' },
  { name: 'body over the limit', raw: JSON.stringify({ ...policyBody(NAME), padding: 'x'.repeat(1_100_000) }), status: 413, code: 'PayloadTooLarge', pointer: '' },
  { name: 'unknown top-level field', body: { ...policyBody(NAME), specc: {} }, pointer: '/specc' },
  { name: 'unknown field in a rule', body: rule({ ingress: [{ fromEndpointz: [] }] }), pointer: '/spec/ingress/0/fromEndpointz' },
  { name: 'unknown field in spec', body: rule({ egressRules: [] }), pointer: '/spec/egressRules' },
  { name: 'wrong apiVersion', body: { ...policyBody(NAME), apiVersion: 'cilium.io/v2' }, pointer: '/apiVersion' },
  { name: 'wrong kind', body: { ...policyBody(NAME), kind: 'CiliumNetworkPolicy' }, pointer: '/kind' },
  { name: 'missing metadata', body: { apiVersion: 'fleetnet.io/v1', kind: 'NetworkPolicy', spec: {} }, pointer: '/metadata' },
  { name: 'name not matching the URL', body: policyBody('other-name'), code: 'NameMismatch', pointer: '/metadata/name' },
  { name: 'upper-case name in the URL', path: '/networkpolicies/Bad_Name', body: policyBody('Bad_Name'), pointer: '/path/name' },
  { name: 'label value too long', body: policyBody(NAME, {}, { app: 'x'.repeat(64) }), pointer: '/metadata/labels/app' },
  { name: 'unknown mode', body: rule({ mode: 'block' }), pointer: '/spec/mode' },
  { name: 'ingress not a list', body: rule({ ingress: { fromEntities: ['world'] } }), pointer: '/spec/ingress' },
  { name: 'CIDR octet out of range', body: rule({ egress: [{ toCIDR: ['10.0.0.300/8'] }] }), pointer: '/spec/egress/0/toCIDR/0' },
  { name: 'CIDR prefix too long', body: rule({ egress: [{ toCIDRSet: [{ cidr: '10.0.0.0/33' }] }] }), pointer: '/spec/egress/0/toCIDRSet/0/cidr' },
  { name: 'except outside its cidr', body: rule({ egress: [{ toCIDRSet: [{ cidr: '10.0.0.0/8', except: ['192.168.0.0/16'] }] }] }), pointer: '/spec/egress/0/toCIDRSet/0/except/0' },
  { name: 'port above 65535', body: withPorts({ port: '70000', protocol: 'TCP' }), pointer: '/spec/ingress/0/toPorts/0/ports/0/port' },
  { name: 'endPort below port', body: withPorts({ port: '8080', endPort: 80, protocol: 'TCP' }), pointer: '/spec/ingress/0/toPorts/0/ports/0/endPort' },
  { name: 'named port with bad syntax', body: withPorts({ port: 'http--alt', protocol: 'TCP' }), pointer: '/spec/ingress/0/toPorts/0/ports/0/port' },
  { name: 'unknown protocol', body: withPorts({ port: '80', protocol: 'TCPX' }), pointer: '/spec/ingress/0/toPorts/0/ports/0/protocol' },
  { name: 'FQDN name with bad characters', body: rule({ egress: [{ toFQDNs: [{ matchName: 'bad_name!.example.com' }] }] }), pointer: '/spec/egress/0/toFQDNs/0/matchName' },
  { name: 'FQDN pattern with a space', body: rule({ egress: [{ toFQDNs: [{ matchPattern: '*.ex ample.com' }] }] }), pointer: '/spec/egress/0/toFQDNs/0/matchPattern' },
  {
    name: 'HTTP path regex that does not compile',
    body: rule({ ingress: [{ toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }], rules: { http: [{ method: 'GET', path: '/api/(v1' }] } }] }] }),
    pointer: '/spec/ingress/0/toPorts/0/rules/http/0/path',
  },
  { name: 'unknown entity', body: rule({ egress: [{ toEntities: ['galaxy'] }] }), pointer: '/spec/egress/0/toEntities/0' },
  {
    name: 'unknown selector operator',
    body: rule({ endpointSelector: { matchExpressions: [{ key: 'app', operator: 'Contains', values: ['x'] }] } }),
    pointer: '/spec/endpointSelector/matchExpressions/0/operator',
  },
  {
    name: 'In without values',
    body: rule({ endpointSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: [] }] } }),
    pointer: '/spec/endpointSelector/matchExpressions/0/values',
  },
  { name: 'bad cluster id in targets', body: rule({ targets: { clusterIds: ['Not_A_Cluster'] } }), pointer: '/spec/targets/clusterIds/0' },
  { name: 'encryption type unknown', path: '/encryptionsettings', body: encryptionBody({ default: { enabled: true, type: 'tls' } }), pointer: '/spec/default/type' },
  {
    name: 'IPsec key rotation not a duration',
    path: '/encryptionsettings',
    body: encryptionBody({ default: { enabled: true, type: 'ipsec', ipsec: { keyRotationDuration: 'five minutes' } } }),
    pointer: '/spec/default/ipsec/keyRotationDuration',
  },
  { name: 'cluster with a malformed ARM id', path: '/clusters/c1', body: { ...clusterBody('c1', {}), spec: { armResourceId: '/subscriptions/x' } }, pointer: '/spec/armResourceId' },
];

describe('invalid bodies', () => {
  it('has at least 20 cases', () => expect(cases.length).toBeGreaterThanOrEqual(20));

  it.each(cases)('$name → problem+json pointing at "$pointer"', async (c) => {
    const path = c.path ?? `/networkpolicies/${NAME}`;
    const response = await client.call('PUT', path, {
      token: api.tokens.admin,
      ...(c.raw !== undefined ? { rawBody: c.raw } : { body: c.body }),
      contentType: c.contentType ?? 'application/json',
    });
    expect(response.status).toBe(c.status ?? 400);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(response.body.code).toBe(c.code ?? 'ValidationFailed');
    expect(response.body.errors.map((e: { pointer: string }) => e.pointer)).toContain(c.pointer);
  });

  it('changed nothing', async () => {
    expect((await client.call('GET', `/networkpolicies/${NAME}`, { token: api.tokens.admin })).status).toBe(404);
    expect((await client.call('GET', '/encryptionsettings', { token: api.tokens.admin })).status).toBe(404);
    expect((await client.call('GET', '/clusters/c1', { token: api.tokens.admin })).status).toBe(404);
  });

  it('a wrong method is a 405 problem, an unknown path a 404 problem', async () => {
    const wrongMethod = await client.call('POST', '/networkpolicies/x', { token: api.tokens.admin, body: {} });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toContain('PUT');
    const unknown = await client.call('GET', '/no-such-thing', { token: api.tokens.admin });
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toBe('application/problem+json');
  });
});
