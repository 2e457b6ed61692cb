/**
 * Kubernetes label selectors: matching, the query-string syntax, and validation.
 *
 * Matching contract (Kubernetes semantics, plain keys — no Cilium source handling):
 * - matchLabels and matchExpressions are ANDed; an empty selector matches every label set.
 * - `undefined` is treated as the empty selector (matches everything): callers use it for optional
 *   selectors whose absence means "no restriction". Callers needing "absent selects nothing" must check first.
 * - In: the key is present with one of the values. NotIn: the key is absent or its value is not listed.
 *   Exists / DoesNotExist: presence of the key. An unknown operator never matches (fail closed).
 */
import type { FieldError, LabelSelector, LabelSelectorRequirement } from '../../openapi/types.js';
import { appendPointer } from '../json/json-pointer.js';
import {
  describeLabelKeyProblem,
  describeLabelValueProblem,
  type LabelKeyOptions,
} from './label-syntax.js';

export function matchesLabelSelector(
  selector: LabelSelector | undefined,
  labels: Record<string, string>,
): boolean {
  if (!selector) return true;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (!Object.hasOwn(labels, key) || labels[key] !== value) return false;
  }
  return (selector.matchExpressions ?? []).every((req) => matchesRequirement(req, labels));
}

function matchesRequirement(req: LabelSelectorRequirement, labels: Record<string, string>): boolean {
  const present = Object.hasOwn(labels, req.key);
  const value = labels[req.key];
  const values = req.values ?? [];
  switch (req.operator) {
    case 'In':
      return present && value !== undefined && values.includes(value);
    case 'NotIn':
      return !present || value === undefined || !values.includes(value);
    case 'Exists':
      return present;
    case 'DoesNotExist':
      return !present;
    default:
      return false;
  }
}

/**
 * Validates a selector: In/NotIn need at least one value, Exists/DoesNotExist take none,
 * keys and values are syntactically valid. `allowSourcePrefix` admits Cilium label sources (`k8s:app`)
 * and is meant for endpoint/node selectors, not for cluster selectors.
 */
export function validateLabelSelector(
  selector: LabelSelector | undefined,
  pointer: string,
  options: LabelKeyOptions = {},
): FieldError[] {
  const errors: FieldError[] = [];
  if (!selector) return errors;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    const at = appendPointer(pointer, 'matchLabels', key);
    const keyProblem = describeLabelKeyProblem(key, options);
    if (keyProblem) errors.push({ pointer: at, message: `label key "${key}" ${keyProblem}`, rule: 'label-key' });
    const valueProblem = describeLabelValueProblem(value);
    if (valueProblem) errors.push({ pointer: at, message: `label value "${value}" ${valueProblem}`, rule: 'label-value' });
  }
  (selector.matchExpressions ?? []).forEach((req, i) => {
    const at = appendPointer(pointer, 'matchExpressions', i);
    const keyProblem = describeLabelKeyProblem(req.key, options);
    if (keyProblem) {
      errors.push({ pointer: appendPointer(at, 'key'), message: `label key "${req.key}" ${keyProblem}`, rule: 'label-key' });
    }
    const values = req.values ?? [];
    if ((req.operator === 'In' || req.operator === 'NotIn') && values.length === 0) {
      errors.push({
        pointer: appendPointer(at, 'values'),
        message: `operator ${req.operator} needs at least one value`,
        rule: 'selector-values',
      });
    }
    if ((req.operator === 'Exists' || req.operator === 'DoesNotExist') && values.length > 0) {
      errors.push({
        pointer: appendPointer(at, 'values'),
        message: `operator ${req.operator} takes no values`,
        rule: 'selector-values',
      });
    }
    values.forEach((value, j) => {
      const problem = describeLabelValueProblem(value);
      if (problem) {
        errors.push({ pointer: appendPointer(at, 'values', j), message: `label value "${value}" ${problem}`, rule: 'label-value' });
      }
    });
  });
  return errors;
}

export type ParsedLabelSelectorQuery = { selector: LabelSelector } | { errors: FieldError[] };

type Token =
  | { kind: 'word'; text: string; at: number }
  | { kind: 'op'; text: '=' | '==' | '!=' | '!' | '(' | ')' | ','; at: number };

const OPERATORS = ['==', '!=', '=', '!', '(', ')', ','] as const;

function tokenize(text: string): Token[] | string {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i] as string;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const op = OPERATORS.find((o) => text.startsWith(o, i));
    if (op) {
      tokens.push({ kind: 'op', text: op, at: i });
      i += op.length;
      continue;
    }
    const start = i;
    while (i < text.length && !/[\s=!(),]/.test(text[i] as string)) i++;
    tokens.push({ kind: 'word', text: text.slice(start, i), at: start });
  }
  return tokens;
}

/**
 * Parses the Kubernetes query syntax: `a=b,c!=d,e in (x,y),f notin (z),g,!h` (also `a==b`).
 * `k=v` goes to matchLabels (a repeated key becomes an `In` expression so both constraints hold);
 * everything else becomes a matchExpression. The empty string is the empty selector.
 * Errors point at `pointer` (default `/query/labelSelector`) and name the character offset.
 */
export function parseLabelSelectorQuery(text: string, pointer = '/query/labelSelector', options: LabelKeyOptions = {}): ParsedLabelSelectorQuery {
  const fail = (message: string): ParsedLabelSelectorQuery => ({
    errors: [{ pointer, message, rule: 'label-selector-syntax' }],
  });
  const tokens = tokenize(text);
  if (typeof tokens === 'string') return fail(tokens);
  const matchLabels: Record<string, string> = {};
  const matchExpressions: LabelSelectorRequirement[] = [];
  let pos = 0;
  const peek = (): Token | undefined => tokens[pos];
  const describe = (t: Token | undefined): string => (t ? `"${t.text}" at offset ${t.at}` : 'end of input');

  while (pos < tokens.length) {
    let tok = peek();
    if (tok?.kind === 'op' && tok.text === '!') {
      pos++;
      tok = peek();
      if (tok?.kind !== 'word') return fail(`expected a label key after "!", found ${describe(tok)}`);
      pos++;
      matchExpressions.push({ key: tok.text, operator: 'DoesNotExist' });
    } else if (tok?.kind === 'word') {
      const key = tok.text;
      pos++;
      const op = peek();
      if (!op || (op.kind === 'op' && op.text === ',')) {
        matchExpressions.push({ key, operator: 'Exists' });
      } else if (op.kind === 'op' && (op.text === '=' || op.text === '==' || op.text === '!=')) {
        pos++;
        const valueTok = peek();
        let value = '';
        if (valueTok?.kind === 'word') {
          value = valueTok.text;
          pos++;
        } else if (valueTok && !(valueTok.kind === 'op' && valueTok.text === ',')) {
          return fail(`expected a label value after "${op.text}", found ${describe(valueTok)}`);
        }
        if (op.text === '!=') matchExpressions.push({ key, operator: 'NotIn', values: [value] });
        else if (Object.hasOwn(matchLabels, key)) matchExpressions.push({ key, operator: 'In', values: [value] });
        else matchLabels[key] = value;
      } else if (op.kind === 'word' && (op.text === 'in' || op.text === 'notin')) {
        pos++;
        const open = peek();
        if (!(open?.kind === 'op' && open.text === '(')) return fail(`expected "(" after "${op.text}", found ${describe(open)}`);
        pos++;
        const values: string[] = [];
        for (;;) {
          const v = peek();
          if (v?.kind === 'word') {
            values.push(v.text);
            pos++;
          } else if (v?.kind === 'op' && v.text === ')' && values.length === 0) {
            break;
          } else {
            return fail(`expected a label value in the set, found ${describe(v)}`);
          }
          const sep = peek();
          if (sep?.kind === 'op' && sep.text === ',') {
            pos++;
            continue;
          }
          if (sep?.kind === 'op' && sep.text === ')') break;
          return fail(`expected "," or ")" in the value set, found ${describe(sep)}`);
        }
        pos++; // ')'
        if (values.length === 0) return fail(`operator "${op.text}" needs at least one value`);
        matchExpressions.push({ key, operator: op.text === 'in' ? 'In' : 'NotIn', values });
      } else {
        return fail(`expected an operator (=, ==, !=, in, notin) or "," after "${key}", found ${describe(op)}`);
      }
    } else {
      return fail(`expected a label key, found ${describe(tok)}`);
    }
    const sep = peek();
    if (sep === undefined) break;
    if (sep.kind === 'op' && sep.text === ',') {
      pos++;
      if (peek() === undefined) return fail('expected a requirement after ","');
      continue;
    }
    return fail(`expected "," between requirements, found ${describe(sep)}`);
  }

  const selector: LabelSelector = {};
  if (Object.keys(matchLabels).length > 0) selector.matchLabels = matchLabels;
  if (matchExpressions.length > 0) selector.matchExpressions = matchExpressions;
  const problems = validateLabelSelector(selector, '', options);
  if (problems.length > 0) {
    return { errors: problems.map((p) => ({ pointer, message: p.message, rule: p.rule })) };
  }
  return { selector };
}
