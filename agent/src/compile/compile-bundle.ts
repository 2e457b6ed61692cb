/**
 * compileBundle — PURE and deterministic: (desired-state bundle, this node's endpoints, the cluster's
 * pods) → the datapath's map entries, with rule attribution, identity info and the list of rules that
 * cannot be enforced (degraded, each failing closed). The contract is written in docs/agent.md.
 *
 * Policy semantics live in core/: selection, labels, CIDR/port/ICMP parsing, and the precedence
 * (core/policy/resolve: resolveVerdictTable, evaluateFlow). This file only sequences the phases:
 *   1. identities   the node's view of the cluster → numeric identities (build-identity-universe.ts)
 *   2. resolution   the bundle's policies for this node's endpoints → core's verdict table
 *   3. encoding     rows → policy entries, defaults → endpoint bits (encode-verdict-table.ts), and what
 *                   the proxies check on redirected ports (dns-rules.ts, http-rules.ts)
 *   4. ipcache      addresses → identities (build-ipcache.ts)
 *   5. attribution  rules and identities (describe-identities.ts)
 *   6. degraded     what the entries leave out (collect-degraded.ts)
 */
import { resolveVerdictTable } from '../../../core/policy/resolve/resolve-verdict-table.js';
import { buildIdentityUniverse } from './build-identity-universe.js';
import { buildIpcache } from './build-ipcache.js';
import { collectDegraded } from './collect-degraded.js';
import { describeIdentities } from './describe-identities.js';
import { buildDnsRules } from './dns-rules.js';
import { encodeEndpoints, encodePolicyEntries, toContribution } from './encode-verdict-table.js';
import { buildFqdnLearnEntries } from './fqdn-learning.js';
import { buildHttpRules } from './http-rules.js';
import type { CompiledState, CompileInput, LocalEndpoint } from './types.js';

export { TO_FQDNS_WITHOUT_DNS_RULE } from './collect-degraded.js';

export function compileBundle(input: CompileInput): CompiledState {
  const universe = buildIdentityUniverse(input);
  const { environment } = universe;
  const table = resolveVerdictTable({
    policies: input.bundle.policies,
    identities: universe.identities,
    cidrIdentities: universe.cidrRefs,
    subjects: universe.subjects,
    environment,
  });

  // The proxies check what the rules' own redirects say (not clipped rows, conflict denies or copies).
  const ruleContributions = table.rows.filter((r) => r.origin === 'rule').map(toContribution);
  const dnsRules = environment.dnsProxy ? buildDnsRules(ruleContributions) : undefined;
  const httpRules = environment.httpProxy ? buildHttpRules(ruleContributions) : undefined;
  const endpoints = encodeEndpoints(
    universe.pods.filter((x) => x.local).map((x) => ({ ifindex: (x.p as LocalEndpoint).ifindex, identity: universe.idOf(x.key) })),
    table.defaults,
  );
  return {
    endpoints,
    ipcache: buildIpcache(universe, input),
    policy: encodePolicyEntries(table.rows),
    rules: table.rules,
    identities: describeIdentities(universe, input.bundle.policies),
    degraded: collectDegraded(input.bundle.policies, environment, table, table.rules, dnsRules ?? []),
    ...(dnsRules ? { dnsRules, fqdnSelectors: buildFqdnLearnEntries(table.fqdnSelectors) } : {}),
    ...(httpRules ? { httpRules } : {}),
  };
}
