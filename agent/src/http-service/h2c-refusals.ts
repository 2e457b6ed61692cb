/**
 * HTTP/2 cleartext the HTTP proxy refused, as the node's `Degraded` condition (issue 12: "HTTP/2
 * cleartext either supported or reported Degraded — never passed unchecked").
 *
 * The proxy enforces HTTP rules on HTTP/1.x only: a connection that opens with the HTTP/2 preface is
 * closed, a request with `Upgrade: h2c` gets 403 (http-proxy). Neither is forwarded. What a policy then
 * means for an h2c client is not what it says (its requests never pass, even allowed ones), so the
 * rules that decided such a connection are reported at their pointer, with the port:
 *
 *   { policy, pointer: the rule's pointer (e.g. /ingress/0), reason: "HTTP/2 cleartext (h2c) … port 80 …" }
 *
 * Contract:
 * - note(rules, port): the rules (RuleAttribution of the last compile) of one refused connection; true
 *   when that added an entry (the status should be reported again).
 * - entries(): the report, sorted by policy, pointer, reason; one entry per (policy, generation,
 *   pointer, port).
 * - retain(rules): after a compile, keeps only entries whose (policy, generation, pointer) still exists
 *   — an edited policy's new generation starts clean; true when something was dropped.
 */
import type { RuleAttribution } from '../compile/index.js';
import type { DegradedRule } from '../sync/node-status.js';

const reasonFor = (port: number): string =>
  `HTTP/2 cleartext (h2c) to port ${port} was refused: the HTTP proxy enforces HTTP rules on HTTP/1.x only (an HTTP/2 preface is closed, Upgrade: h2c gets 403); h2c clients of this port fail (closed)`;

type Rule = Pick<RuleAttribution, 'policy' | 'generation' | 'pointer'>;
const ruleKey = (r: Rule): string => `${r.policy}\n${r.generation}\n${r.pointer}`;

export class H2cRefusals {
  private readonly byKey = new Map<string, { rule: string; entry: DegradedRule }>();

  note(rules: readonly Rule[], port: number): boolean {
    let added = false;
    for (const r of rules) {
      const key = `${ruleKey(r)}\n${port}`;
      if (this.byKey.has(key)) continue;
      this.byKey.set(key, { rule: ruleKey(r), entry: { policy: r.policy, pointer: r.pointer, reason: reasonFor(port) } });
      added = true;
    }
    return added;
  }

  entries(): DegradedRule[] {
    return [...this.byKey.values()].map((x) => x.entry).sort((a, b) => (a.policy < b.policy ? -1 : a.policy > b.policy ? 1 : a.pointer < b.pointer ? -1 : a.pointer > b.pointer ? 1 : a.reason < b.reason ? -1 : 1));
  }

  retain(rules: readonly Rule[]): boolean {
    const live = new Set(rules.map(ruleKey));
    let dropped = false;
    for (const [key, e] of this.byKey) {
      if (live.has(e.rule)) continue;
      this.byKey.delete(key);
      dropped = true;
    }
    return dropped;
  }
}
