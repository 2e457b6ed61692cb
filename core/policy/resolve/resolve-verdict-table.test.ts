/**
 * resolveVerdictTable + evaluateFlow on whole policies: the semantics an operator relies on, stated
 * as (policies, flow) → (verdict, deciding rule). The agent's encoding of the same table is checked
 * against the kernel model in agent/src/compile/resolution-agreement.test.ts.
 */
import { describe, expect, it } from 'vitest';

import type { BundledPolicy, NetworkPolicySpec } from '../../../openapi/types.js';
import { buildPodLabelSet } from '../../labels/cilium-labels.js';
import { WRITE_TIME_ENVIRONMENT, type EnforcementEnvironment } from '../unenforced-parts.js';
import { evaluateFlow, type FlowProbe } from './evaluate-flow.js';
import { RESERVED_IDENTITIES, ReservedId, reservedLabel } from './reserved-identities.js';
import { resolveVerdictTable } from './resolve-verdict-table.js';
import type { LabelledIdentity } from './verdict-table.js';

const WEB = 300;
const DB = 301;
const CLIENT = 302;
const CIDR_NET = 16777300;
const workload = (id: number, app: string, namespace: string): LabelledIdentity => ({ id, kind: 'workload', labels: buildPodLabelSet({ labels: { app }, namespace }) });
const IDENTITIES: LabelledIdentity[] = [
  workload(WEB, 'web', 'shop'),
  workload(DB, 'db', 'shop'),
  workload(CLIENT, 'client', 'other'),
  ...RESERVED_IDENTITIES.map(([name, id]): LabelledIdentity => ({ id, kind: 'reserved', labels: [reservedLabel(name)] })),
];
const NO_PROXY: EnforcementEnvironment = { kubeApiserverAddressed: false, dnsProxy: false, httpProxy: false };

const policy = (name: string, spec: NetworkPolicySpec, mode: 'enforce' | 'audit' = 'enforce'): BundledPolicy => ({ name, generation: 3, mode, spec });
const app = (a: string): { matchLabels: Record<string, string> } => ({ matchLabels: { app: a } });
const tcp = (port: string): { toPorts: Array<{ ports: Array<{ port: string; protocol: 'TCP' }> }> } => ({ toPorts: [{ ports: [{ port, protocol: 'TCP' }] }] });

type Flow = Partial<FlowProbe>;
const flow = (f: Flow): FlowProbe => ({ subject: DB, direction: 'ingress', peer: WEB, proto: 6, port: 5432, ...f });

interface Case {
  name: string;
  policies: BundledPolicy[];
  environment?: EnforcementEnvironment;
  /** flow → `verdict policy#pointer` (or `verdict -` when no rule decides) */
  want: Array<[Flow, string]>;
}

const show = (policies: BundledPolicy[], environment: EnforcementEnvironment, f: Flow): string => {
  const table = resolveVerdictTable({ policies, identities: IDENTITIES, cidrIdentities: [{ id: CIDR_NET, cidr: '203.0.113.0/24', family: 4 }], subjects: [WEB, DB], environment });
  const d = evaluateFlow(table, flow(f));
  return `${d.verdict} ${d.rule ? `${d.rule.policy}#${d.rule.pointer}` : '-'}${d.proxy ? ` via ${d.proxy}` : ''}`;
};

describe('resolveVerdictTable: precedence over whole policies', () => {
  it.each<Case>([
    {
      name: 'no policy selects db: everything passes',
      policies: [policy('p', { endpointSelector: app('web'), ingress: [{ fromEndpoints: [app('db')] }] })],
      want: [[{}, 'forwarded -'], [{ direction: 'egress' }, 'forwarded -']],
    },
    {
      name: 'selection enters default deny in the directions the rule names, only those',
      policies: [policy('p', { endpointSelector: app('db'), ingress: [{ fromEndpoints: [app('web')], ...tcp('5432') }] })],
      want: [[{}, 'forwarded p#/ingress/0'], [{ port: 5433 }, 'dropped -'], [{ peer: CLIENT }, 'dropped -'], [{ direction: 'egress', peer: CLIENT }, 'forwarded -']],
    },
    {
      name: 'enableDefaultDeny false: the rule allows, nothing else is denied',
      policies: [policy('p', { endpointSelector: app('db'), enableDefaultDeny: { ingress: false }, ingress: [{ fromEndpoints: [app('web')], ...tcp('5432') }] })],
      want: [[{}, 'forwarded p#/ingress/0'], [{ peer: CLIENT }, 'forwarded -']],
    },
    {
      name: '…unless another policy selecting db keeps default deny on',
      policies: [
        policy('p', { endpointSelector: app('db'), enableDefaultDeny: { ingress: false }, ingress: [{ fromEndpoints: [app('web')], ...tcp('5432') }] }),
        policy('q', { endpointSelector: app('db'), ingress: [{ fromEntities: ['host'] }] }),
      ],
      want: [[{ peer: CLIENT }, 'dropped -']],
    },
    {
      name: 'deny beats allow, in any policy and at any breadth',
      policies: [
        policy('a', { endpointSelector: app('db'), ingress: [{ fromEndpoints: [app('web')], ...tcp('5432') }] }),
        policy('b', { endpointSelector: {}, ingressDeny: [{ fromEntities: ['cluster'] }] }),
      ],
      want: [[{}, 'dropped b#/ingressDeny/0']],
    },
    {
      name: 'namespaced policy: a peer selector stays in the policy\'s namespace',
      policies: [policy('p', { namespace: 'shop', endpointSelector: app('db'), ingress: [{ fromEndpoints: [{}] }] })],
      want: [[{}, 'forwarded p#/ingress/0'], [{ peer: CLIENT }, 'dropped -']],
    },
    {
      name: 'requirements narrow other policies\' allows',
      policies: [
        policy('a', { endpointSelector: app('db'), ingress: [{ fromEntities: ['all'], ...tcp('5432') }] }),
        policy('r', { endpointSelector: app('db'), ingress: [{ fromRequires: [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'shop' } }] }] }),
      ],
      want: [[{}, 'forwarded a#/ingress/0'], [{ peer: CLIENT }, 'dropped -']],
    },
    {
      name: 'an audit policy alone: its default deny and denies are counted, not enforced',
      policies: [policy('au', { endpointSelector: app('db'), ingress: [{ fromEndpoints: [app('web')] }], ingressDeny: [{ fromEndpoints: [app('client')] }] }, 'audit')],
      want: [[{}, 'forwarded au#/ingress/0'], [{ peer: CLIENT }, 'audit au#/ingressDeny/0'], [{ peer: ReservedId.world }, 'audit -']],
    },
    {
      name: 'an audit policy never loosens an enforce default deny: its allows vanish, its denies are clipped to what enforce allows',
      policies: [
        policy('en', { endpointSelector: app('db'), ingress: [{ fromEndpoints: [app('web')], ...tcp('5432') }] }),
        policy('au', { endpointSelector: app('db'), ingress: [{ fromEndpoints: [app('client')] }], ingressDeny: [{ fromEntities: ['cluster'] }] }, 'audit'),
      ],
      want: [[{}, 'audit au#/ingressDeny/0'], [{ peer: CLIENT }, 'dropped -'], [{ port: 80 }, 'dropped -']],
    },
    {
      name: 'an enforce deny keeps an audit policy\'s default deny from being counted (documented)',
      policies: [
        policy('en', { endpointSelector: app('db'), enableDefaultDeny: { ingress: false }, ingressDeny: [{ fromEndpoints: [app('client')] }] }),
        policy('au', { endpointSelector: app('db'), ingress: [{ fromEndpoints: [app('web')] }] }, 'audit'),
      ],
      want: [[{ peer: CLIENT }, 'dropped en#/ingressDeny/0'], [{ peer: ReservedId.world }, 'forwarded -']],
    },
    {
      name: 'CIDR: the prefix\'s identity, not world',
      policies: [policy('p', { endpointSelector: app('web'), egress: [{ toCIDR: ['203.0.113.0/24'] }] })],
      want: [[{ subject: WEB, direction: 'egress', peer: CIDR_NET, port: 443 }, 'forwarded p#/egress/0'], [{ subject: WEB, direction: 'egress', peer: ReservedId.world, port: 443 }, 'dropped -']],
    },
    {
      name: 'host ingress passes by default (allow-localhost)',
      policies: [policy('p', { endpointSelector: app('db'), ingress: [{ fromEndpoints: [app('web')] }] })],
      want: [[{ peer: ReservedId.host }, 'forwarded -']],
    },
    {
      name: 'HTTP rules redirect to the proxy with the HTTP proxy on; without it the port fails closed',
      environment: WRITE_TIME_ENVIRONMENT,
      policies: [policy('p', { endpointSelector: app('db'), ingress: [{ fromEndpoints: [app('web')], toPorts: [{ ports: [{ port: '8080', protocol: 'TCP' }], rules: { http: [{ method: 'GET' }] } }] }] })],
      want: [[{ port: 8080 }, 'forwarded p#/ingress/0 via http']],
    },
    {
      name: 'DNS and HTTP rules on one port of the same peers: denied, no rule',
      environment: WRITE_TIME_ENVIRONMENT,
      policies: [
        policy('d', { endpointSelector: app('web'), egress: [{ toEndpoints: [app('db')], toPorts: [{ ports: [{ port: '53', protocol: 'TCP' }], rules: { dns: [{ matchPattern: '*' }] } }] }] }),
        policy('h', { endpointSelector: app('web'), egress: [{ toEndpoints: [app('db')], toPorts: [{ ports: [{ port: '53', protocol: 'TCP' }], rules: { http: [{ method: 'GET' }] } }] }] }),
      ],
      want: [[{ subject: WEB, direction: 'egress', peer: DB, port: 53 }, 'dropped -']],
    },
  ])('$name', ({ policies, environment, want }) => {
    const got = want.map(([f]) => [f, show(policies, environment ?? NO_PROXY, f)]);
    expect(got).toEqual(want);
  });

  it('rule ids depend only on (name, generation, pointer) and are never 0', () => {
    const p = policy('p', { endpointSelector: app('db'), ingress: [{ fromEndpoints: [app('web')] }], egressDeny: [{ toEntities: ['world'] }] });
    const resolve = (policies: BundledPolicy[]): number[] => resolveVerdictTable({ policies, identities: IDENTITIES, cidrIdentities: [], subjects: [DB], environment: NO_PROXY }).rules.map((r) => r.ruleId);
    const alone = resolve([p]);
    expect(alone).toHaveLength(2);
    expect(alone).not.toContain(0);
    expect(resolve([policy('other', { endpointSelector: {}, ingress: [{}] }), p]).filter((id) => alone.includes(id))).toEqual(alone);
  });
});
