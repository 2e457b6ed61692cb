/**
 * The node agent's policy compiler (pure). See docs/agent.md "Compile contract".
 *
 *   compileBundle(input: CompileInput): CompiledState
 *
 * CompiledState.endpoints / ipcache / policy are the kernel's entry types (agent/src/kernel/codecs.ts)
 * and go to applyCompiledState (agent/src/apply); rules and identities attribute flow records
 * (ruleId → policy, generation, pointer; identity → labels, namespace, pods, workloads); degraded
 * lists every rule part the datapath cannot enforce (each fails closed), for the node's Degraded status.
 * With `dnsProxy: true`, dnsRules is what the DNS proxy checks; `createDnsQueryVerdict(dnsRules)` /
 * `dnsQueryVerdict(dnsRules, query)` decide one query (allowed, audit, ruleId), and
 * `createFqdnLearner(fqdnSelectors)(localId, name)` says whether an answer's addresses must be learned.
 * With `httpProxy: true`, httpRules is what the HTTP proxy checks; `createHttpRuleLookup(httpRules)
 * (localId, peerId, port, direction)` gives a connection's rules (undefined: refuse) and `.match(request)` decides
 * one request (allowed, audit, ruleId, header actions).
 */
export { compileBundle } from './compile-bundle.js';
export { createDnsQueryVerdict, dnsQueryVerdict, type DnsQuery, type DnsQueryVerdict } from './dns-rules.js';
export { createFqdnLearner } from './fqdn-learning.js';
export { createHttpRuleLookup, type HttpConnectionRules, type HttpRequestVerdict, type HttpRuleLookup } from './http-rules.js';
export { allocateHashed, hashToU32, CIDR_ID_SPACE, RULE_ID_SPACE, WORKLOAD_ID_SPACE, type IdSpace } from '../../../core/policy/resolve/allocate-ids.js';
export type {
  ClusterNode,
  CompiledState,
  CompileInput,
  DegradedRule,
  DnsAllow,
  DnsRuleEntry,
  FqdnLearnEntry,
  HttpRuleEntry,
  HttpRuleSet,
  IdentityInfo,
  IdentityKind,
  LearnedName,
  LocalEndpoint,
  PeerEndpoint,
  RuleAttribution,
  RuleVerdictKind,
  Workload,
} from './types.js';
