/**
 * resolveVerdictTable — PURE and deterministic: the policies of a bundle, resolved for a set of
 * subjects (endpoint identities) against a universe of identities, → the verdict table
 * (verdict-table.ts). This is where fleetnet's policy semantics beyond selection live:
 *
 * - Rule ids: allocateHashed over `name\ngeneration\npointer` of every rule of every policy (0 is
 *   reserved for "no rule").
 * - Default deny is entered by selection: a rule selecting a subject with any allow or deny in a
 *   direction turns that direction's default deny on, unless the rule says `enableDefaultDeny:
 *   {<dir>: false}` (per rule, as Cilium). An audit policy's default deny only counts (audit), and
 *   not when an enforce policy denies in that direction (the subject's audit bit would turn those
 *   drops into counts too).
 * - Rows: per rule (policies by name, rules in spec order, ingress then egress, allows then denies),
 *   the rule's peers × its port blocks; a deny of an audit policy is an `audit-deny`.
 * - Requirements (`fromRequires`/`toRequires`) of enforce allows narrow every allow of the subject in
 *   that direction to the peers they match (the any-peer family becomes the universe's identities);
 *   an audit policy's requirements are not evaluated (reported as degraded).
 * - An audit policy never loosens enforcement: its allows are dropped where an enforce policy
 *   default-denies the direction, and its denies there are clipped to what enforce allows (each
 *   intersected with every allow of the subject and direction, peer ∩ peer and block ∩ block), except
 *   allows redirected to a proxy (proxy-redirects.ts, known limit).
 * - Redirects: conflicts denied, any-peer redirects copied onto exact peers (proxy-redirects.ts).
 * - Host policies (`nodeSelector`) and mutual authentication contribute nothing (reported).
 * What wins between rows is evaluate-flow.ts.
 */
import type { BundledPolicy, EgressRule, FQDNSelector, IngressRule, LabelSelector } from '../../../openapi/types.js';
import { matchesEndpointSelector, scopePeerSelector, scopeSubjectSelector } from '../endpoint-selector.js';
import { authenticationIssue, rulesOf, type DirName, type EnforcementEnvironment } from '../unenforced-parts.js';
import { allocateHashed, RULE_ID_SPACE } from './allocate-ids.js';
import { blockContains, type PortBlock } from './port-blocks.js';
import { propagateRedirects, resolveRedirectConflicts } from './proxy-redirects.js';
import { createPeerResolver, type Peers } from './resolve-peers.js';
import { resolvePortBlocks, type DnsBlock, type HttpBlock } from './resolve-port-blocks.js';
import { ReservedId } from './reserved-identities.js';
import type { CidrIdentityRef, LabelledIdentity, RuleRef, RuleVerdict, SubjectDefaults, VerdictRow, VerdictTable } from './verdict-table.js';

export interface ResolveInput {
  policies: readonly BundledPolicy[];
  /** the workload and reserved identities peers are selected from (requirements narrow the any-peer
   *  family to these) */
  identities: readonly LabelledIdentity[];
  /** the CIDR identities of the bundle's CIDR selectors and learned addresses (not world) */
  cidrIdentities: readonly CidrIdentityRef[];
  /** the identities whose policies are resolved; each must be one of `identities` */
  subjects: readonly number[];
  environment: EnforcementEnvironment;
}

interface Selection {
  enforceDefaultDeny: boolean;
  auditDefaultDeny: boolean;
  enforceDeny: boolean;
  requires: LabelSelector[];
}

interface PendingRule {
  subjects: number[];
  direction: DirName;
  peers: Peers;
  blocks: PortBlock[];
  dnsBlocks: DnsBlock[];
  httpBlocks: HttpBlock[];
  verdict: RuleVerdict;
  ruleId: number;
  auditAllow: boolean;
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const DENY_KEY = { ingress: 'ingressDeny', egress: 'egressDeny' } as const;

/** `name\ngeneration\npointer`: what a rule's id is allocated from. */
const ruleName = (policy: Pick<BundledPolicy, 'name' | 'generation'>, pointer: string): string => `${policy.name}\n${policy.generation}\n${pointer}`;

/** Every rule of every policy with its id, sorted by id. */
export function allocateRuleRefs(policies: readonly BundledPolicy[]): { rules: RuleRef[]; idOf: (policy: BundledPolicy, pointer: string) => number } {
  const names: string[] = [];
  const meta = new Map<string, Omit<RuleRef, 'ruleId'>>();
  for (const policy of policies) {
    for (const { rule, base } of rulesOf(policy.spec)) {
      for (const [key, direction, deny] of [['ingress', 'ingress', false], ['ingressDeny', 'ingress', true], ['egress', 'egress', false], ['egressDeny', 'egress', true]] as const) {
        (rule[key] ?? []).forEach((_r, i) => {
          const pointer = `${base}/${key}/${i}`;
          const name = ruleName(policy, pointer);
          names.push(name);
          meta.set(name, {
            policy: policy.name,
            generation: policy.generation,
            pointer,
            direction,
            verdict: deny ? (policy.mode === 'audit' ? 'audit-deny' : 'deny') : 'allow',
            mode: policy.mode,
          });
        });
      }
    }
  }
  const ids = allocateHashed(names, { ...RULE_ID_SPACE, reserved: new Set([0]) });
  const rules = [...ids.entries()].map(([name, ruleId]) => ({ ruleId, ...(meta.get(name) as Omit<RuleRef, 'ruleId'>) })).sort((a, b) => a.ruleId - b.ruleId);
  return { rules, idOf: (policy, pointer) => ids.get(ruleName(policy, pointer)) ?? 0 };
}

export function resolveVerdictTable(input: ResolveInput): VerdictTable {
  const { environment } = input;
  const resolver = createPeerResolver(input.identities, input.cidrIdentities, environment);
  const subjects = [...new Set(input.subjects)]
    .sort((a, b) => a - b)
    .map((id) => resolver.byId(id))
    .filter((u) => u !== undefined);
  const { rules, idOf } = allocateRuleRefs(input.policies);

  // ---- rules → pending rows, selection per (subject, direction) --------------------------------
  const selection = new Map<string, Selection & { subject: number; direction: DirName }>();
  const selectionOf = (subject: number, direction: DirName): Selection => {
    const k = `${subject}/${direction}`;
    let s = selection.get(k);
    if (!s) {
      s = { subject, direction, enforceDefaultDeny: false, auditDefaultDeny: false, enforceDeny: false, requires: [] };
      selection.set(k, s);
    }
    return s;
  };
  const pending: PendingRule[] = [];
  const fqdnSelectors = new Map<number, FQDNSelector[]>();
  const toFqdnRules: VerdictTable['toFqdnRules'] = [];

  const sortedPolicies = [...input.policies].sort((a, b) => cmp(a.name, b.name));
  for (const policy of sortedPolicies) {
    const namespace = policy.spec.namespace;
    const audit = policy.mode === 'audit';
    for (const { rule, base } of rulesOf(policy.spec)) {
      if (rule.nodeSelector !== undefined) continue; // host policies: not enforced (reported as degraded)
      if (!rule.endpointSelector) continue;
      const subject = scopeSubjectSelector(rule.endpointSelector, namespace);
      const selected = subjects.filter((u) => matchesEndpointSelector(subject, u.indexed)).map((u) => u.id);

      for (const direction of ['ingress', 'egress'] as const) {
        const allowRules = (rule[direction] ?? []) as Array<IngressRule | EgressRule>;
        const denyRules = (rule[DENY_KEY[direction]] ?? []) as Array<IngressRule | EgressRule>;
        if (allowRules.length + denyRules.length > 0) {
          const defaultDeny = rule.enableDefaultDeny?.[direction] ?? true;
          for (const id of selected) {
            const s = selectionOf(id, direction);
            if (defaultDeny && !audit) s.enforceDefaultDeny = true;
            if (defaultDeny && audit) s.auditDefaultDeny = true;
            if (!audit && denyRules.length > 0) s.enforceDeny = true;
          }
        }
        for (const [list, deny] of [[allowRules, false], [denyRules, true]] as const) {
          const key = deny ? DENY_KEY[direction] : direction;
          list.forEach((r, i) => {
            const pointer = `${base}/${key}/${i}`;
            const ruleId = idOf(policy, pointer);
            const requires = ((r as Record<string, unknown>)[direction === 'ingress' ? 'fromRequires' : 'toRequires'] as LabelSelector[] | undefined) ?? [];
            if (!deny && requires.length > 0 && !audit) {
              for (const id of selected) selectionOf(id, direction).requires.push(...requires.map((s) => scopePeerSelector(s, namespace)));
            }
            if (environment.dnsProxy && !deny && direction === 'egress') {
              const toFqdns = (r as EgressRule).toFQDNs ?? [];
              for (const id of selected) fqdnSelectors.set(id, [...(fqdnSelectors.get(id) ?? []), ...toFqdns]);
              if (toFqdns.length > 0) toFqdnRules.push({ policy: policy.name, pointer: `${pointer}/toFQDNs`, subjects: selected });
            }
            if (authenticationIssue(r, deny)) return; // mutual authentication: no allow (reported as degraded)
            const peers = resolver.resolvePeers(r, direction, namespace, deny);
            const l4 = resolvePortBlocks(r, pointer, deny ? 'deny' : 'allow', { dir: direction, environment });
            if (selected.length === 0 || l4.blocks.length + l4.dnsBlocks.length + l4.httpBlocks.length === 0 || (!peers.any && peers.ids.size === 0)) return;
            pending.push({
              subjects: selected,
              direction,
              peers,
              blocks: l4.blocks,
              dnsBlocks: l4.dnsBlocks,
              httpBlocks: l4.httpBlocks,
              verdict: deny ? (audit ? 'audit-deny' : 'deny') : 'allow',
              ruleId,
              auditAllow: !deny && audit,
            });
          });
        }
      }
    }
  }

  // ---- pending → rows (requirements, audit allows, audit denies to clip) -------------------------
  const rows: VerdictRow[] = [];
  const toClip: VerdictRow[] = [];
  for (const p of pending) {
    for (const subject of p.subjects) {
      const s = selectionOf(subject, p.direction);
      if (p.auditAllow && s.enforceDefaultDeny) continue;
      let peerIds: number[] = [...p.peers.ids];
      let any = p.peers.any;
      if (p.verdict === 'allow' && s.requires.length > 0) {
        const candidates = any ? resolver.universe.map((u) => u.id) : peerIds;
        peerIds = candidates.filter((id) => {
          const u = resolver.byId(id);
          return u !== undefined && s.requires.every((req) => matchesEndpointSelector(req, u.indexed));
        });
        any = false;
      }
      const targets = any ? [ReservedId.any] : peerIds;
      const out = p.verdict === 'audit-deny' && s.enforceDefaultDeny ? toClip : rows;
      const common = { subject, direction: p.direction, verdict: p.verdict, ruleId: p.ruleId, origin: 'rule' as const, ...(p.auditAllow ? { auditAllow: true } : {}) };
      for (const peer of targets) {
        for (const block of p.blocks) out.push({ ...common, peer, block });
        for (const { block, dns, pointer } of p.dnsBlocks) out.push({ ...common, peer, block, proxy: 'dns', dns, l7Pointer: pointer });
        for (const { block, http, pointer } of p.httpBlocks) out.push({ ...common, peer, block, proxy: 'http', http, l7Pointer: pointer });
      }
    }
  }
  const ruleRows = rows.length;
  for (const a of toClip) {
    for (let i = 0; i < ruleRows; i++) {
      const c = rows[i] as VerdictRow;
      if (c.verdict !== 'allow' || c.subject !== a.subject || c.direction !== a.direction) continue;
      if (c.proxy !== undefined) continue;
      const peer = a.peer === ReservedId.any ? c.peer : c.peer === ReservedId.any || c.peer === a.peer ? a.peer : undefined;
      if (peer === undefined) continue;
      const block = blockContains(a.block, c.block) ? c.block : blockContains(c.block, a.block) ? a.block : undefined;
      if (block) rows.push({ ...a, peer, block, origin: 'clipped' });
    }
  }
  const { denies, conflicts } = resolveRedirectConflicts(rows.slice(0, ruleRows));
  rows.push(...denies);
  rows.push(...propagateRedirects(rows));

  const defaults: SubjectDefaults[] = [...selection.values()]
    .map((s) => {
      const audit = !s.enforceDefaultDeny && s.auditDefaultDeny && !s.enforceDeny;
      return { subject: s.subject, direction: s.direction, defaultDeny: s.enforceDefaultDeny || audit, audit };
    })
    .sort((a, b) => a.subject - b.subject || Number(a.direction === 'egress') - Number(b.direction === 'egress'));
  return { rules, rows, defaults, conflicts, fqdnSelectors, toFqdnRules };
}
