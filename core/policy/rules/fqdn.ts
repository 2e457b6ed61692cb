/**
 * FQDN selectors (toFQDNs and DNS L7 rules), mirroring Cilium's CRD patterns
 * (`matchName` `^([-a-zA-Z0-9_]+[.]?)+$`, `matchPattern` `^([-a-zA-Z0-9_*]+[.]?)+$`) plus DNS limits.
 *
 * Contracts:
 * - matchName: labels of letters, digits, '-' and '_' separated by single dots, optional trailing dot,
 *   each label ≤ 63 characters, the whole name ≤ 255 (a longer one can never match).
 * - matchPattern: the lone `*` (every name), or a name whose labels may contain `*` (zero or more DNS
 *   characters within one label); a leftmost label of exactly `**` matches one or more labels
 *   (Cilium ≥ 1.17 `**.example.com`). `**` anywhere else is rejected as ambiguous.
 * - In toFQDNs exactly one of matchName / matchPattern per selector (Cilium); a DNS rule may have both
 *   (`requireOne: false` is not offered: a DNS rule needs at least one too).
 * - Matching (`fqdnSelectorMatcher`, for a valid selector), as Cilium's matchpattern package: names and
 *   patterns compare case-insensitively with the trailing dot ignored; matchName matches that name only;
 *   in matchPattern `*` stands for zero or more DNS characters (letters, digits, '-', '_') within one
 *   label, a lone `*` for every name, and a leftmost `**.` for one or more whole labels (`**.example.com`
 *   matches `a.example.com` and `a.b.example.com`, not `example.com`). A selector with both fields
 *   matches a name either one matches.
 */
import type { FieldError, FQDNSelector } from '../../../openapi/types.js';
import { appendPointer } from '../../json/json-pointer.js';

function describeLabels(text: string, labelChars: RegExp): string | undefined {
  if (text.length === 0) return 'must not be empty';
  if (text.length > 255) return 'must be at most 255 characters';
  const body = text.endsWith('.') ? text.slice(0, -1) : text;
  for (const label of body.split('.')) {
    if (label.length === 0) return 'must not contain empty labels (leading or doubled ".")';
    if (label.length > 63) return `label "${label.slice(0, 20)}…" is longer than 63 characters`;
    if (!labelChars.test(label)) return `label "${label}" contains characters other than letters, digits, "-" and "_"`;
  }
  return undefined;
}

export function describeMatchNameProblem(name: string): string | undefined {
  return describeLabels(name, /^[-a-zA-Z0-9_]+$/);
}

export function describeMatchPatternProblem(pattern: string): string | undefined {
  if (pattern === '*') return undefined;
  const rest = pattern.startsWith('**.') ? pattern.slice(3) : pattern;
  if (rest.includes('**')) return '"**" is only allowed as the whole leftmost label ("**.example.com")';
  const problem = describeLabels(rest, /^[-a-zA-Z0-9_*]+$/);
  return problem?.replace('"-" and "_"', '"-", "_" and "*"');
}

export function validateFqdnSelector(selector: FQDNSelector, pointer: string, options: { exclusive: boolean }): FieldError[] {
  const errors: FieldError[] = [];
  if (selector.matchName === undefined && selector.matchPattern === undefined) {
    errors.push({ pointer, message: 'one of matchName or matchPattern is required', rule: 'fqdn-selector' });
  }
  if (options.exclusive && selector.matchName !== undefined && selector.matchPattern !== undefined) {
    errors.push({ pointer: appendPointer(pointer, 'matchPattern'), message: 'only one of matchName or matchPattern is allowed in a toFQDNs selector', rule: 'fqdn-selector' });
  }
  if (selector.matchName !== undefined) {
    const problem = describeMatchNameProblem(selector.matchName);
    if (problem) errors.push({ pointer: appendPointer(pointer, 'matchName'), message: `matchName "${selector.matchName}" ${problem}`, rule: 'fqdn-match-name' });
  }
  if (selector.matchPattern !== undefined) {
    const problem = describeMatchPatternProblem(selector.matchPattern);
    if (problem) errors.push({ pointer: appendPointer(pointer, 'matchPattern'), message: `matchPattern "${selector.matchPattern}" ${problem}`, rule: 'fqdn-match-pattern' });
  }
  return errors;
}

const DNS_CHAR = '[-a-z0-9_]';

/** Lower case, without the trailing dot: how names and patterns compare. */
export function canonicalDnsName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

function patternRegExp(pattern: string): RegExp {
  const canonical = canonicalDnsName(pattern);
  if (canonical === '*') return new RegExp(`^${DNS_CHAR}+(\\.${DNS_CHAR}+)*$`);
  const manyLabels = canonical.startsWith('**.');
  const rest = manyLabels ? canonical.slice(3) : canonical;
  const body = rest
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')) // literal, whatever the text
    .join(`${DNS_CHAR}*`);
  return new RegExp(`^${manyLabels ? `${DNS_CHAR}+(\\.${DNS_CHAR}+)*\\.` : ''}${body}$`);
}

/** A predicate over DNS names (see the module contract); any text outside the DNS characters, `.` and
 *  `*` is matched literally, so an unvalidated pattern (a flow filter's) is safe too. */
export function fqdnSelectorMatcher(selector: FQDNSelector): (name: string) => boolean {
  const exact = selector.matchName === undefined ? undefined : canonicalDnsName(selector.matchName);
  const pattern = selector.matchPattern === undefined ? undefined : patternRegExp(selector.matchPattern);
  return (name) => {
    const canonical = canonicalDnsName(name);
    return canonical === exact || (pattern?.test(canonical) ?? false);
  };
}
