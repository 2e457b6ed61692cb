/**
 * The size limits openapi/openapi.yaml declares on request schemas (maxItems, maxLength, maximum, minimum) are
 * enforced at the edge: a value at the limit is accepted, one past it is a 400 ValidationFailed whose errors[]
 * name the JSON pointer and the keyword. The request validator is compiled from the same document
 * (core/schema/compile-schema-validator.ts), so these cases pin the contract and the behaviour together.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiResponse } from '../helpers/contract-client.js';
import { createContractClient } from '../helpers/contract-client.js';
import { startTestApi, type TestApi } from '../helpers/api-harness.js';
import { clusterBody, nodeBody, policyBody } from '../helpers/fixtures.js';
import { batch, summary } from '../helpers/flow-fixtures.js';

let api: TestApi;
let client: ReturnType<typeof createContractClient>;
let agent: string;

const NAME = 'limits';
const CLUSTER = 'limits-east';
const NODE = 'node-1';
/** The largest integer a JSON number carries exactly (2^53 − 1): the `maximum` of counters and generations. */
const SAFE = Number.MAX_SAFE_INTEGER;

beforeAll(async () => {
  api = await startTestApi();
  client = createContractClient(api.baseUrl);
  agent = await api.agentToken('agent-limits');
  expect((await client.call('PUT', `/clusters/${CLUSTER}`, { token: api.tokens.admin, body: clusterBody(CLUSTER, {}, ['agent-limits']) })).status).toBe(201);
  expect((await client.call('PUT', `/clusters/${CLUSTER}/nodes/${NODE}`, { token: agent, body: nodeBody(NODE) })).status).toBe(201);
});
afterAll(async () => api?.close());

type Target = 'policy' | 'nodeStatus' | 'flowBatch';

interface LimitCase {
  /** Schema and field, e.g. `Rule.ingress`. */
  name: string;
  target: Target;
  /** Where the error points (a JSON pointer into the body). */
  pointer: string;
  rule: 'maxItems' | 'maxLength' | 'maximum' | 'minimum';
  limit: number;
  /** The request body with the constrained value at size (or value) `n`. */
  given: (n: number) => unknown;
  /** The status of the request at the limit when something else than the limit rejects it (default 200). */
  atLimitStatus?: number;
}

const list = <T>(n: number, item: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => item(i));
const cidr = (i: number) => `10.${(i >> 8) & 255}.${i & 255}.0/24`;
const selector = (i: number) => ({ matchLabels: { app: `a${i}` } });
const tcp = (port: number) => ({ port: String(port), protocol: 'TCP' });
/** An RFC 3339 timestamp of exactly `n` characters (n ≥ 22): the instant `at`, padded with fraction digits. */
const timestamp = (n: number, at = new Date(Date.now() - 3 * 60_000)) => `${at.toISOString().slice(0, 19)}.${'0'.repeat(n - 21)}Z`;

const spec = (patch: Record<string, unknown>) => policyBody(NAME, patch);
const metadata = (patch: Record<string, unknown>) => {
  const body = policyBody(NAME);
  return { ...body, metadata: { ...body.metadata, ...patch } };
};
const ingressPorts = (rule: Record<string, unknown>) => spec({ ingress: [{ toPorts: [rule] }] });
const http = (items: unknown[]) => ingressPorts({ ports: [tcp(80)], rules: { http: items } });

const policyCases: Omit<LimitCase, 'target'>[] = [
  { name: 'Rule.ingress', pointer: '/spec/ingress', rule: 'maxItems', limit: 256, given: (n) => spec({ ingress: list(n, (i) => ({ fromEndpoints: [selector(i)] })) }) },
  { name: 'Rule.ingressDeny', pointer: '/spec/ingressDeny', rule: 'maxItems', limit: 256, given: (n) => spec({ ingressDeny: list(n, () => ({ fromEntities: ['world'] })) }) },
  { name: 'Rule.egress', pointer: '/spec/egress', rule: 'maxItems', limit: 256, given: (n) => spec({ egress: list(n, (i) => ({ toEndpoints: [selector(i)] })) }) },
  { name: 'Rule.egressDeny', pointer: '/spec/egressDeny', rule: 'maxItems', limit: 256, given: (n) => spec({ egressDeny: list(n, () => ({ toEntities: ['world'] })) }) },
  { name: 'Rule.labels', pointer: '/spec/labels', rule: 'maxItems', limit: 64, given: (n) => spec({ labels: list(n, (i) => ({ key: `k${i}`, value: 'v' })) }) },
  { name: 'IngressCommon.fromEndpoints', pointer: '/spec/ingress/0/fromEndpoints', rule: 'maxItems', limit: 1024, given: (n) => spec({ ingress: [{ fromEndpoints: list(n, selector) }] }) },
  { name: 'IngressCommon.fromRequires', pointer: '/spec/ingress/0/fromRequires', rule: 'maxItems', limit: 1024, given: (n) => spec({ ingress: [{ fromRequires: list(n, selector) }] }) },
  { name: 'IngressCommon.fromNodes', pointer: '/spec/ingress/0/fromNodes', rule: 'maxItems', limit: 1024, given: (n) => spec({ ingress: [{ fromNodes: list(n, selector) }] }) },
  { name: 'IngressCommon.fromCIDR', pointer: '/spec/ingress/0/fromCIDR', rule: 'maxItems', limit: 4096, given: (n) => spec({ ingress: [{ fromCIDR: list(n, cidr) }] }) },
  { name: 'IngressCommon.fromCIDRSet', pointer: '/spec/ingress/0/fromCIDRSet', rule: 'maxItems', limit: 4096, given: (n) => spec({ ingress: [{ fromCIDRSet: list(n, (i) => ({ cidr: cidr(i) })) }] }) },
  { name: 'IngressCommon.fromEntities', pointer: '/spec/ingress/0/fromEntities', rule: 'maxItems', limit: 64, given: (n) => spec({ ingress: [{ fromEntities: list(n, () => 'world') }] }) },
  { name: 'IngressCommon.icmps', pointer: '/spec/ingress/0/icmps', rule: 'maxItems', limit: 64, given: (n) => spec({ ingress: [{ icmps: list(n, () => ({ fields: [{ type: 8 }] })) }] }) },
  { name: 'IngressRule.toPorts', pointer: '/spec/ingress/0/toPorts', rule: 'maxItems', limit: 256, given: (n) => spec({ ingress: [{ toPorts: list(n, (i) => ({ ports: [tcp(1000 + i)] })) }] }) },
  { name: 'IngressDenyRule.toPorts', pointer: '/spec/ingressDeny/0/toPorts', rule: 'maxItems', limit: 256, given: (n) => spec({ ingressDeny: [{ fromEntities: ['world'], toPorts: list(n, (i) => ({ ports: [tcp(1000 + i)] })) }] }) },
  { name: 'EgressCommon.toEndpoints', pointer: '/spec/egress/0/toEndpoints', rule: 'maxItems', limit: 1024, given: (n) => spec({ egress: [{ toEndpoints: list(n, selector) }] }) },
  { name: 'EgressCommon.toRequires', pointer: '/spec/egress/0/toRequires', rule: 'maxItems', limit: 1024, given: (n) => spec({ egress: [{ toRequires: list(n, selector) }] }) },
  { name: 'EgressCommon.toNodes', pointer: '/spec/egress/0/toNodes', rule: 'maxItems', limit: 1024, given: (n) => spec({ egress: [{ toNodes: list(n, selector) }] }) },
  { name: 'EgressCommon.toCIDR', pointer: '/spec/egress/0/toCIDR', rule: 'maxItems', limit: 4096, given: (n) => spec({ egress: [{ toCIDR: list(n, cidr) }] }) },
  { name: 'EgressCommon.toCIDRSet', pointer: '/spec/egress/0/toCIDRSet', rule: 'maxItems', limit: 4096, given: (n) => spec({ egress: [{ toCIDRSet: list(n, (i) => ({ cidr: cidr(i) })) }] }) },
  {
    name: 'CIDRRule.except',
    pointer: '/spec/egress/0/toCIDRSet/0/except',
    rule: 'maxItems',
    limit: 1024,
    given: (n) => spec({ egress: [{ toCIDRSet: [{ cidr: '10.0.0.0/8', except: list(n, cidr) }] }] }),
  },
  { name: 'EgressCommon.toEntities', pointer: '/spec/egress/0/toEntities', rule: 'maxItems', limit: 64, given: (n) => spec({ egress: [{ toEntities: list(n, () => 'world') }] }) },
  {
    name: 'EgressCommon.toServices',
    pointer: '/spec/egress/0/toServices',
    rule: 'maxItems',
    limit: 1024,
    given: (n) => spec({ egress: [{ toServices: list(n, (i) => ({ k8sService: { serviceName: `s${i}`, namespace: 'default' } })) }] }),
  },
  { name: 'EgressCommon.icmps', pointer: '/spec/egress/0/icmps', rule: 'maxItems', limit: 64, given: (n) => spec({ egress: [{ icmps: list(n, () => ({ fields: [{ type: 8 }] })) }] }) },
  { name: 'EgressRule.toPorts', pointer: '/spec/egress/0/toPorts', rule: 'maxItems', limit: 256, given: (n) => spec({ egress: [{ toPorts: list(n, (i) => ({ ports: [tcp(1000 + i)] })) }] }) },
  { name: 'EgressDenyRule.toPorts', pointer: '/spec/egressDeny/0/toPorts', rule: 'maxItems', limit: 256, given: (n) => spec({ egressDeny: [{ toEntities: ['world'], toPorts: list(n, (i) => ({ ports: [tcp(1000 + i)] })) }] }) },
  {
    name: 'EgressRule.toFQDNs',
    pointer: '/spec/egress/0/toFQDNs',
    rule: 'maxItems',
    limit: 1024,
    given: (n) => spec({ egress: [{ toFQDNs: list(n, (i) => ({ matchName: `h${i}.example.com` })) }] }),
  },
  { name: 'L7Rules.http', pointer: '/spec/ingress/0/toPorts/0/rules/http', rule: 'maxItems', limit: 1024, given: (n) => http(list(n, (i) => ({ method: 'GET', path: `/p${i}` }))) },
  { name: 'PortRuleHTTP.headers', pointer: '/spec/ingress/0/toPorts/0/rules/http/0/headers', rule: 'maxItems', limit: 64, given: (n) => http([{ headers: list(n, (i) => `X-H${i}: v`) }]) },
  {
    name: 'PortRuleHTTP.headerMatches',
    pointer: '/spec/ingress/0/toPorts/0/rules/http/0/headerMatches',
    rule: 'maxItems',
    limit: 64,
    given: (n) => http([{ headerMatches: list(n, (i) => ({ name: `X-H${i}`, value: 'v' })) }]),
  },
  {
    name: 'L7Rules.kafka',
    pointer: '/spec/ingress/0/toPorts/0/rules/kafka',
    rule: 'maxItems',
    limit: 1024,
    given: (n) => ingressPorts({ ports: [tcp(9092)], rules: { kafka: list(n, (i) => ({ topic: `t${i}` })) } }),
  },
  {
    name: 'L7Rules.dns',
    pointer: '/spec/egress/0/toPorts/0/rules/dns',
    rule: 'maxItems',
    limit: 1024,
    given: (n) => spec({ egress: [{ toEndpoints: [selector(0)], toPorts: [{ ports: [{ port: '53', protocol: 'UDP' }], rules: { dns: list(n, (i) => ({ matchName: `h${i}.example.com` })) } }] }] }),
  },
  {
    name: 'L7Rules.l7',
    pointer: '/spec/ingress/0/toPorts/0/rules/l7',
    rule: 'maxItems',
    limit: 1024,
    given: (n) => ingressPorts({ ports: [tcp(8080)], rules: { l7proto: 'envoy.filters.network.example', l7: list(n, (i) => ({ key: `v${i}` })) } }),
  },
  {
    name: 'L7Rules.l7 value',
    pointer: '/spec/ingress/0/toPorts/0/rules/l7/0/key',
    rule: 'maxLength',
    limit: 1024,
    given: (n) => ingressPorts({ ports: [tcp(8080)], rules: { l7proto: 'envoy.filters.network.example', l7: [{ key: 'v'.repeat(n) }] } }),
  },
  {
    name: 'PortRule.serverNames',
    pointer: '/spec/ingress/0/toPorts/0/serverNames',
    rule: 'maxItems',
    limit: 256,
    given: (n) => ingressPorts({ ports: [tcp(443)], serverNames: list(n, (i) => `h${i}.example.com`) }),
  },
  {
    name: 'LabelSelector.matchExpressions',
    pointer: '/spec/endpointSelector/matchExpressions',
    rule: 'maxItems',
    limit: 64,
    given: (n) => spec({ endpointSelector: { matchExpressions: list(n, (i) => ({ key: `k${i}`, operator: 'Exists' })) } }),
  },
  {
    name: 'LabelSelectorRequirement.values',
    pointer: '/spec/endpointSelector/matchExpressions/0/values',
    rule: 'maxItems',
    limit: 1024,
    given: (n) => spec({ endpointSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: list(n, (i) => `v${i}`) }] } }),
  },
  {
    // At 64 characters the name is still unknown: the semantic rule (icmp-type) answers, not the schema's maxLength.
    name: 'ICMPRule type (name)',
    pointer: '/spec/egress/0/icmps/0/fields/0/type',
    rule: 'maxLength',
    limit: 64,
    given: (n) => spec({ egress: [{ icmps: [{ fields: [{ type: 'E'.repeat(n) }] }] }] }),
    atLimitStatus: 400,
  },
  { name: 'ObjectMeta.generation', pointer: '/metadata/generation', rule: 'maximum', limit: SAFE, given: (n) => metadata({ generation: n }) },
  { name: 'ObjectMeta.generation', pointer: '/metadata/generation', rule: 'minimum', limit: 0, given: (n) => metadata({ generation: n }) },
  { name: 'ObjectMeta.resourceVersion', pointer: '/metadata/resourceVersion', rule: 'maxLength', limit: 256, given: (n) => metadata({ resourceVersion: 'r'.repeat(n) }) },
  { name: 'ObjectMeta.createdAt', pointer: '/metadata/createdAt', rule: 'maxLength', limit: 64, given: (n) => metadata({ createdAt: timestamp(n) }) },
  { name: 'ObjectMeta.updatedAt', pointer: '/metadata/updatedAt', rule: 'maxLength', limit: 64, given: (n) => metadata({ updatedAt: timestamp(n) }) },
  { name: 'ObjectMeta.createdBy', pointer: '/metadata/createdBy', rule: 'maxLength', limit: 1024, given: (n) => metadata({ createdBy: 'u'.repeat(n) }) },
  { name: 'ObjectMeta.updatedBy', pointer: '/metadata/updatedBy', rule: 'maxLength', limit: 1024, given: (n) => metadata({ updatedBy: 'u'.repeat(n) }) },
  { name: 'NetworkPolicyStatus.targetedClusters', pointer: '/status/targetedClusters', rule: 'maximum', limit: SAFE, given: (n) => ({ ...policyBody(NAME), status: { targetedClusters: n } }) },
  {
    name: 'NetworkPolicyStatus.warnings',
    pointer: '/status/warnings',
    rule: 'maxItems',
    limit: 4096,
    given: (n) => ({ ...policyBody(NAME), status: { warnings: list(n, () => ({ pointer: '/spec', message: 'm', consequence: 'noEffect' })) } }),
  },
];

const status = (patch: Record<string, unknown>) => ({ observedRevision: 1, ...patch });
const nodeStatusCases: Omit<LimitCase, 'target'>[] = [
  { name: 'NodeStatus.observedRevision', pointer: '/observedRevision', rule: 'maximum', limit: SAFE, given: (n) => status({ observedRevision: n }) },
  { name: 'NodeStatus.lastSeen', pointer: '/lastSeen', rule: 'maxLength', limit: 64, given: (n) => status({ lastSeen: timestamp(n) }) },
  {
    name: 'NodeCondition.lastTransitionTime',
    pointer: '/conditions/0/lastTransitionTime',
    rule: 'maxLength',
    limit: 64,
    given: (n) => status({ conditions: [{ type: 'Programmed', status: 'True', lastTransitionTime: timestamp(n) }] }),
  },
];

const end = () => new Date(Date.now() - 2 * 60_000);
const flowBatch = (patch: Record<string, unknown> = {}, summaryPatch: Record<string, unknown> = {}) => ({
  ...batch([summary(summaryPatch)], 1, end().toISOString()),
  ...patch,
});
const counters = ['batches', 'summaries', 'packets', 'bytes', 'flows'] as const;
const flowBatchCases: Omit<LimitCase, 'target'>[] = [
  { name: 'FlowSummaryBatch.sequence', pointer: '/sequence', rule: 'maximum', limit: SAFE, given: (n) => flowBatch({ sequence: n }) },
  ...counters.map((counter) => ({
    name: `FlowSummaryBatch.lost.${counter}`,
    pointer: `/lost/${counter}`,
    rule: 'maximum' as const,
    limit: SAFE,
    given: (n: number) => flowBatch({ lost: { batches: 0, summaries: 0, [counter]: n } }),
  })),
  ...(['packets', 'bytes', 'flows'] as const).map((counter) => ({
    name: `FlowSummary.${counter}`,
    pointer: `/summaries/0/${counter}`,
    rule: 'maximum' as const,
    limit: SAFE,
    given: (n: number) => flowBatch({}, { [counter]: n }),
  })),
  { name: 'FlowSummary.first_seen', pointer: '/summaries/0/first_seen', rule: 'maxLength', limit: 64, given: (n) => flowBatch({}, { first_seen: timestamp(n) }) },
  { name: 'FlowSummary.last_seen', pointer: '/summaries/0/last_seen', rule: 'maxLength', limit: 64, given: (n) => flowBatch({}, { last_seen: timestamp(n) }) },
  {
    name: 'FlowSummaryBatch.window.end',
    pointer: '/window/end',
    rule: 'maxLength',
    limit: 64,
    given: (n) => {
      const body = flowBatch();
      return { ...body, window: { ...body.window, end: timestamp(n, new Date(body.window.end)) } };
    },
  },
  {
    name: 'FlowSummaryBatch.window.start',
    pointer: '/window/start',
    rule: 'maxLength',
    limit: 64,
    given: (n) => {
      const body = flowBatch();
      return { ...body, window: { ...body.window, start: timestamp(n, new Date(body.window.start)) } };
    },
  },
  {
    // `format: uuid` admits the `urn:uuid:` form (45 characters).
    name: 'FlowSummaryBatch.batchId',
    pointer: '/batchId',
    rule: 'maxLength',
    limit: 45,
    given: (n) => flowBatch({ batchId: `urn:uuid:${crypto.randomUUID()}`.padEnd(n, '0') }),
  },
];

const cases: LimitCase[] = [
  ...policyCases.map((c) => ({ ...c, target: 'policy' as const })),
  ...nodeStatusCases.map((c) => ({ ...c, target: 'nodeStatus' as const })),
  ...flowBatchCases.map((c) => ({ ...c, target: 'flowBatch' as const })),
];

function send(target: Target, body: unknown): Promise<ApiResponse> {
  switch (target) {
    case 'policy':
      return client.call('PUT', `/networkpolicies/${NAME}?dryRun=true`, { token: api.tokens.admin, body });
    case 'nodeStatus':
      return client.call('PUT', `/clusters/${CLUSTER}/nodes/${NODE}/status`, { token: agent, body });
    case 'flowBatch':
      return client.call('POST', `/clusters/${CLUSTER}/nodes/${NODE}/flows`, { token: agent, body });
  }
}

type Errors = { pointer: string; rule?: string }[];
const names = (errors: Errors | undefined) => (errors ?? []).map((e) => `${e.pointer} (${e.rule})`);

/** One past the limit: one more for upper bounds, one less for `minimum`. */
const past = (c: LimitCase) => (c.rule === 'minimum' ? c.limit - 1 : c.limit + 1);

describe('contract limits at the edge', () => {
  it.each(cases)('$name ($rule $limit): the limit is accepted', async (c) => {
    const response = await send(c.target, c.given(c.limit));
    expect(response.status, JSON.stringify(response.body?.errors ?? response.body)).toBe(c.atLimitStatus ?? 200);
    expect(names(response.body?.errors)).not.toContain(`${c.pointer} (${c.rule})`);
  });

  it.each(cases)('$name ($rule $limit): one past is a 400 pointing at $pointer', async (c) => {
    const response = await send(c.target, c.given(past(c)));
    expect(response.status).toBe(400);
    expect(response.body.code).toBe('ValidationFailed');
    expect(names(response.body.errors)).toContain(`${c.pointer} (${c.rule})`);
  });

  it.each([
    { generation: '999999999999999', status: 404 },
    { generation: '1000000000000000', status: 400 },
  ])('Generation path parameter (maximum 999999999999999): $generation → $status', async ({ generation, status: want }) => {
    const response = await client.call('GET', `/networkpolicies/${NAME}/revisions/${generation}`, { token: api.tokens.admin });
    expect(response.status).toBe(want);
    if (want === 400) expect(response.body.errors.map((e: { pointer: string }) => e.pointer)).toContain('/path/generation');
  });

  it('dry runs stored nothing', async () => {
    expect((await client.call('GET', `/networkpolicies/${NAME}`, { token: api.tokens.admin })).status).toBe(404);
  });
});
