/**
 * randomBundle: deterministic, every spec passes the API's checks (schema, then validatePolicySpec),
 * and across 500 seeds every feature the generator promises occurs (counted from the specs and
 * options themselves, not from the generator's choices).
 */
import { describe, expect, it } from 'vitest';

import { validatePolicySpec } from '../../../core/policy/validate-policy-spec.js';
import { createSchemaValidator } from '../../../core/schema/compile-schema-validator.js';
import type { EgressRule, IngressRule, LabelSelector, NetworkPolicySpec, PortRule, Rule } from '../../../openapi/types.js';
import { ICMP_TYPE_NAMES } from '../../../core/policy/rules/icmp.js';
import { randomBundle, type RandomBundle } from './random-bundles.js';

const SEEDS = Array.from({ length: 500 }, (_, i) => i + 1);
const NS_KEY = 'k8s:io.kubernetes.pod.namespace';

/** every feature randomBundle promises (a feature string outside this list fails the count) */
type Feature = string;
const FEATURES: readonly Feature[] = [
  'subject {}', 'subject app=web', 'subject app=db', 'subject matchExpressions', 'namespaced',
  'fromEndpoints', 'toEndpoints', 'peer selector {}', 'peer selector cross-namespace',
  'fromEntities', 'toEntities', ...['all', 'world', 'world-ipv4', 'world-ipv6', 'cluster', 'host', 'remote-node', 'kube-apiserver', 'none'].map((e) => `entity ${e}`),
  'toCIDR', 'toCIDRSet', 'fromCIDRSet', 'cidrSet except v4', 'cidrSet except v6',
  'toFQDNs', 'toFQDNs learned name', 'no L3 peer',
  'port single', 'port range', 'port 0', 'port named', 'protocol ANY', 'protocol TCP', 'protocol UDP', 'protocol SCTP', 'protocol unset',
  'icmp v4 type 0', 'icmp v4 type 8', 'icmp v6 type 128', 'icmp v6 type 129', 'icmp type by name', 'icmp type unnamed number',
  'ingressDeny', 'egressDeny', 'enableDefaultDeny ingress false', 'enableDefaultDeny egress false', 'mode audit', 'mode enforce',
  'fromRequires', 'toRequires',
  'dns matchName', 'dns matchPattern', 'dns on UDP', 'dns on TCP', 'dns on ANY', 'http method', 'http path',
  'specs multi-rule', 'dnsProxy true', 'dnsProxy false', 'httpProxy true', 'httpProxy false', 'fqdnNames', 'kubeApiserver',
];

/** The features one bundle exhibits, read from its specs and options. */
function featuresOf({ policies, options }: RandomBundle): Set<Feature> {
  const seen = new Set<Feature>();
  const add = (f: Feature): void => {
    if (!FEATURES.includes(f)) throw new Error(`feature "${f}" is not listed in FEATURES`);
    seen.add(f);
  };
  const learned = new Set((options.fqdnNames ?? []).map((n) => n.name));
  const peerSelectors = (list: LabelSelector[] | undefined): void => {
    for (const s of list ?? []) {
      if (Object.keys(s).length === 0) add('peer selector {}');
      if (s.matchLabels?.[NS_KEY] !== undefined || s.matchExpressions?.some((e) => e.key === NS_KEY)) add('peer selector cross-namespace');
    }
  };
  const ports = (toPorts: PortRule[] | undefined): void => {
    for (const pr of toPorts ?? []) {
      for (const p of pr.ports ?? []) {
        if (p.port === '0') add('port 0');
        else if (!/^[0-9]+$/.test(p.port)) add('port named');
        else add(p.endPort !== undefined ? 'port range' : 'port single');
        add(p.protocol === undefined ? 'protocol unset' : (`protocol ${p.protocol}`));
        if (pr.rules?.dns) add(`dns on ${p.protocol ?? 'ANY'}`);
      }
      for (const d of pr.rules?.dns ?? []) {
        if (d.matchName !== undefined) add('dns matchName');
        if (d.matchPattern !== undefined) add('dns matchPattern');
      }
      for (const h of pr.rules?.http ?? []) {
        if (h.method !== undefined) add('http method');
        if (h.path !== undefined) add('http path');
      }
    }
  };
  const peerRule = (r: IngressRule & EgressRule): void => {
    const l3 = ['fromEndpoints', 'toEndpoints', 'fromEntities', 'toEntities', 'fromCIDR', 'toCIDR', 'fromCIDRSet', 'toCIDRSet', 'toFQDNs'] as const;
    if (!l3.some((k) => (r[k]?.length ?? 0) > 0)) add('no L3 peer');
    for (const k of ['fromEndpoints', 'toEndpoints', 'fromEntities', 'toEntities', 'toCIDR', 'toCIDRSet', 'fromCIDRSet', 'toFQDNs', 'fromRequires', 'toRequires'] as const) {
      if ((r[k]?.length ?? 0) > 0) add(k);
    }
    peerSelectors(r.fromEndpoints);
    peerSelectors(r.toEndpoints);
    for (const e of [...(r.fromEntities ?? []), ...(r.toEntities ?? [])]) add(`entity ${e}`);
    for (const c of [...(r.fromCIDRSet ?? []), ...(r.toCIDRSet ?? [])]) {
      for (const x of c.except ?? []) add(x.includes(':') ? 'cidrSet except v6' : 'cidrSet except v4');
    }
    if (r.toFQDNs?.some((f) => f.matchName !== undefined && learned.has(f.matchName))) add('toFQDNs learned name');
    for (const f of (r.icmps ?? []).flatMap((i) => i.fields ?? [])) {
      const family = f.family ?? 'IPv4';
      if (typeof f.type === 'string') add('icmp type by name');
      else if (!Object.values(ICMP_TYPE_NAMES[family]).includes(f.type)) add('icmp type unnamed number');
      else if ([0, 8, 128, 129].includes(f.type)) add(`icmp ${family === 'IPv4' ? 'v4' : 'v6'} type ${f.type}`);
    }
    ports(r.toPorts as PortRule[] | undefined);
  };
  const rule = (r: Rule, namespace: string | undefined): void => {
    const s = r.endpointSelector ?? {};
    if (Object.keys(s).length === 0) add('subject {}');
    if (s.matchLabels?.app === 'web') add('subject app=web');
    if (s.matchLabels?.app === 'db') add('subject app=db');
    if (s.matchExpressions !== undefined) add('subject matchExpressions');
    if (namespace !== undefined) add('namespaced');
    if (r.ingressDeny) add('ingressDeny');
    if (r.egressDeny) add('egressDeny');
    if (r.enableDefaultDeny?.ingress === false) add('enableDefaultDeny ingress false');
    if (r.enableDefaultDeny?.egress === false) add('enableDefaultDeny egress false');
    for (const x of [...(r.ingress ?? []), ...(r.ingressDeny ?? []), ...(r.egress ?? []), ...(r.egressDeny ?? [])]) peerRule(x as IngressRule & EgressRule);
  };
  for (const p of policies) {
    const spec: NetworkPolicySpec = p.spec;
    add(p.mode === 'audit' ? 'mode audit' : 'mode enforce');
    if ((spec.specs?.length ?? 0) > 1) add('specs multi-rule');
    if (spec.specs) spec.specs.forEach((r) => rule(r, spec.namespace));
    else rule(spec, spec.namespace);
  }
  if (options.dnsProxy !== undefined) add(options.dnsProxy ? 'dnsProxy true' : 'dnsProxy false');
  if (options.httpProxy !== undefined) add(options.httpProxy ? 'httpProxy true' : 'httpProxy false');
  if ((options.fqdnNames?.length ?? 0) > 0) add('fqdnNames');
  if ((options.kubeApiserver?.length ?? 0) > 0) add('kubeApiserver');
  return seen;
}

/** Occurrences of each feature over the seeds (a bundle counts once per feature). */
function countFeatures(seeds: readonly number[]): Record<Feature, number> {
  const counts = Object.fromEntries(FEATURES.map((f) => [f, 0])) as Record<Feature, number>;
  for (const seed of seeds) for (const f of featuresOf(randomBundle(seed))) counts[f] = (counts[f] ?? 0) + 1;
  return counts;
}

describe('randomBundle', () => {
  it('is deterministic: the same seed gives the same bundle; different seeds differ', () => {
    expect(JSON.stringify(randomBundle(42))).toBe(JSON.stringify(randomBundle(42)));
    expect(new Set(SEEDS.slice(0, 50).map((s) => JSON.stringify(randomBundle(s)))).size).toBe(50);
  });

  it('gives 1–5 policies with unique names, each spec valid per the API (schema, then validatePolicySpec), over 500 seeds', () => {
    const validateSchema = createSchemaValidator('NetworkPolicySpec');
    const invalid: string[] = [];
    for (const seed of SEEDS) {
      const { policies } = randomBundle(seed);
      expect(policies.length).toBeGreaterThanOrEqual(1);
      expect(policies.length).toBeLessThanOrEqual(5);
      expect(new Set(policies.map((p) => p.name)).size).toBe(policies.length);
      for (const p of policies) {
        const schema = validateSchema(p.spec, '/spec');
        const errors = schema.length > 0 ? schema : validatePolicySpec(p.spec, '/spec');
        for (const e of errors) invalid.push(`seed ${seed} ${p.name} ${e.pointer} ${e.rule}: ${e.message}`);
      }
    }
    expect(invalid).toEqual([]);
  });

  it('covers every feature at least once across 500 seeds', () => {
    const counts = countFeatures(SEEDS);
    const missing = FEATURES.filter((f) => counts[f] === 0);
    expect(missing).toEqual([]);
  });
});
