/**
 * The verdict table: what the policies selecting a set of endpoints (subjects) decide, before any
 * encoding. resolveVerdictTable (resolve-verdict-table.ts) builds it; evaluateFlow (evaluate-flow.ts)
 * reads it for one flow; the agent encodes it into kernel map entries (agent/src/compile). The
 * precedence between rows is written once, in evaluate-flow.ts; the agent's encoding must decide the
 * same (agent/src/compile/resolution-agreement.test.ts).
 */
import type { FQDNSelector } from '../../../openapi/types.js';
import type { LabelSet } from '../../labels/cilium-labels.js';
import type { PortRuleHTTP } from '../rules/http-match.js';
import type { PortBlock } from './port-blocks.js';
import type { DnsSelector } from './resolve-port-blocks.js';

export type FlowDirection = 'ingress' | 'egress';
export type RuleVerdict = 'allow' | 'deny' | 'audit-deny';
export type PolicyMode = 'enforce' | 'audit';
export type ProxyName = 'dns' | 'http';

/** One rule of one policy generation (flow attribution). */
export interface RuleRef {
  /** u32, never 0; deterministic per (policy name, generation, pointer) */
  ruleId: number;
  policy: string;
  /** the policy's generation (revision of the policy resource) */
  generation: number;
  /** RFC 6901 pointer into the policy's spec: `/ingress/0`, `/specs/1/egressDeny/0` */
  pointer: string;
  direction: FlowDirection;
  verdict: RuleVerdict;
  mode: PolicyMode;
}

/** A workload or reserved identity peers and subjects are selected from by labels. */
export interface LabelledIdentity {
  id: number;
  kind: 'workload' | 'reserved';
  /** canonical Cilium labels, sorted */
  labels: LabelSet;
}

/** A CIDR identity: a prefix some CIDR selector of the policies selects, or an address the DNS proxy
 *  learned (then with its names). */
export interface CidrIdentityRef {
  id: number;
  /** masked prefix, canonical text */
  cidr: string;
  family: 4 | 6;
  /** names learned for this address (canonical), for toFQDNs */
  fqdnNames?: readonly string[];
}

/** Why a row exists: a rule's own verdict, an audit deny clipped to what enforce allows, a port denied
 *  because two proxies' rules claim it, or an any-peer redirect copied onto an exact peer. */
export type RowOrigin = 'rule' | 'clipped' | 'conflict' | 'redirect-copy';

/** One verdict of one rule for one (subject, direction, peer, block). */
export interface VerdictRow {
  subject: number;
  direction: FlowDirection;
  /** the peer identity; 0 = every peer (the any-peer family) */
  peer: number;
  block: PortBlock;
  verdict: RuleVerdict;
  /** the rule (RuleRef.ruleId); 0 = no rule (a conflict deny) */
  ruleId: number;
  origin: RowOrigin;
  /** allows only: an allow of an audit-mode policy */
  auditAllow?: boolean;
  /** allows only: the proxy the allowed connection is handed to */
  proxy?: ProxyName;
  /** with proxy dns: the DNS rules the proxy checks */
  dns?: readonly DnsSelector[];
  /** with proxy http: the HTTP rules the proxy checks */
  http?: readonly PortRuleHTTP[];
  /** with a proxy: the L7 rules' pointer into the policy spec (`…/toPorts/<j>/rules/dns|http`) */
  l7Pointer?: string;
}

/** What a subject does in a direction when no row matches. Absent for a (subject, direction) no rule
 *  selects: then everything is allowed (no policy, no default deny). */
export interface SubjectDefaults {
  subject: number;
  direction: FlowDirection;
  /** unmatched flows are dropped */
  defaultDeny: boolean;
  /** drops in this direction are only counted (audit): an audit policy's default deny with no
   *  enforce deny of the subject */
  audit: boolean;
}

/** Redirects of different proxies on one (subject, peer family, block): denied (rows of origin
 *  `conflict`) and reported. */
export interface RedirectConflict {
  subject: number;
  /** 0: the any-peer family */
  peer: number;
  block: PortBlock;
  /** every redirect involved, by ruleId */
  redirects: VerdictRow[];
}

export interface VerdictTable {
  /** every rule of every policy, by ruleId */
  rules: RuleRef[];
  /** in emission order: rule rows, clipped, conflict denies, redirect copies */
  rows: VerdictRow[];
  /** by subject then direction (ingress first) */
  defaults: SubjectDefaults[];
  conflicts: RedirectConflict[];
  /** subject → toFQDNs selectors of the policies selecting it (DNS proxy only) */
  fqdnSelectors: Map<number, FQDNSelector[]>;
  /** where toFQDNs is used (DNS proxy only): policy, pointer and the subjects it selects */
  toFqdnRules: Array<{ policy: string; pointer: string; subjects: number[] }>;
}
