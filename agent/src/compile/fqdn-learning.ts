/**
 * Which names the DNS proxy must learn for an endpoint (pure): CompiledState.fqdnSelectors and the
 * predicate over it.
 *
 * Contract:
 * - `buildFqdnLearnEntries`: per local identity, every `toFQDNs` selector of the egress allow rules
 *   (enforce and audit policies) whose endpointSelector selects it; canonical (lower case, no trailing
 *   dot), without duplicates, sorted by matchName then matchPattern; entries sorted by localId. Local
 *   identities without toFQDNs rules have no entry.
 * - `createFqdnLearner(entries)(localId, name)`: true iff one of that identity's selectors matches the
 *   name (core's fqdnSelectorMatcher) — the answer's addresses for such a name must be learned
 *   (added to CompileInput.fqdnNames and programmed) before the answer is released.
 */
import type { FQDNSelector } from '../../../openapi/types.js';
import { canonicalDnsName, fqdnSelectorMatcher } from '../../../core/policy/rules/fqdn.js';
import type { FqdnLearnEntry } from './types.js';

const cmp = (a: string | undefined, b: string | undefined): number => ((a ?? '') < (b ?? '') ? -1 : (a ?? '') > (b ?? '') ? 1 : 0);

export function buildFqdnLearnEntries(selectorsByLocal: ReadonlyMap<number, readonly FQDNSelector[]>): FqdnLearnEntry[] {
  const out: FqdnLearnEntry[] = [];
  for (const [localId, selectors] of selectorsByLocal) {
    const unique = new Map<string, { matchName?: string; matchPattern?: string }>();
    for (const s of selectors) {
      const c: { matchName?: string; matchPattern?: string } = {};
      if (s.matchName !== undefined) c.matchName = canonicalDnsName(s.matchName);
      if (s.matchPattern !== undefined) c.matchPattern = canonicalDnsName(s.matchPattern);
      if (c.matchName !== undefined || c.matchPattern !== undefined) unique.set(JSON.stringify([c.matchName, c.matchPattern]), c);
    }
    if (unique.size > 0) out.push({ localId, selectors: [...unique.values()].sort((a, b) => cmp(a.matchName, b.matchName) || cmp(a.matchPattern, b.matchPattern)) });
  }
  return out.sort((a, b) => a.localId - b.localId);
}

/** (localId, name) → must the proxy learn this name's addresses for that endpoint identity? */
export function createFqdnLearner(entries: readonly FqdnLearnEntry[]): (localId: number, name: string) => boolean {
  const matchers = new Map(entries.map((e) => [e.localId, e.selectors.map((s) => fqdnSelectorMatcher(s))]));
  return (localId, name) => (matchers.get(localId) ?? []).some((matches) => matches(name));
}
