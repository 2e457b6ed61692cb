/**
 * Import of CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy and Kubernetes NetworkPolicy
 * documents as fleet NetworkPolicies (pure: no storage).
 *
 * Contracts:
 * - Returns one outcome per document (see parse-documents.ts for splitting and numbering), in body order:
 *   `imported` with the converted `policy` (collectImportedPolicies lists them), or `rejected` with `reason` and, where a field is at
 *   fault, `errors` whose pointers are relative to the source document (`/spec/egress/0/auth`).
 *   (`unchanged` is for the storage layer, which compares with what is stored.)
 * - A bare Cilium rule (what `cilium policy import` reads: no `kind`/`apiVersion`, an
 *   `endpointSelector` or `nodeSelector`; a JSON/YAML array of them is split by parse-documents.ts)
 *   is converted by convert-cilium-rule.ts: field names matched case-insensitively like Cilium's Go
 *   decoder, stored canonically, named from its policy labels or its hash.
 * - Any other document: dispatch is on `kind` first (anything else: `kind X is not a network policy`),
 *   then the exact `apiVersion` (cilium.io/v2 for the Cilium kinds, networking.k8s.io/v1 for NetworkPolicy).
 *   Field names are case-sensitive as in Kubernetes: `apiversion` is not `apiVersion`.
 * - Every converted policy passes the same validation as a PUT: the contract's JSON schema for
 *   NetworkPolicy, then validatePolicySpec. The fleet name must be a ResourceName (lower-case
 *   DNS-1123 subdomain, ≤ 253); two documents converting to the same name reject the later one.
 * - Envelope fields a kind does not define (e.g. a top-level `description`) carry no policy meaning
 *   and are ignored, listed in the outcome's `reason`; unknown fields inside a rule reject the document,
 *   because dropping them would silently change what the policy allows.
 * - `options.mode` / `options.targets` are copied into every imported policy's spec.
 */
import type { ClusterTargets, FieldError, ImportOutcome, NetworkPolicy, PolicyMode } from '../../../openapi/types.js';
import { isPlainObject } from '../../json/plain-object.js';
import { describeDnsSubdomainProblem } from '../../labels/label-syntax.js';
import { createSchemaValidator } from '../../schema/compile-schema-validator.js';
import { validatePolicySpec } from '../validate-policy-spec.js';
import type { ConversionResult } from './conversion.js';
import { convertCiliumPolicy } from './convert-cilium-policy.js';
import { convertCiliumRule, isBareCiliumRule, POLICY_NAME_LABEL, POLICY_NAMESPACE_LABEL } from './convert-cilium-rule.js';
import { convertK8sNetworkPolicy } from './convert-k8s-network-policy.js';
import { splitImportDocuments } from './parse-documents.js';
import { mapPointerToSource, type PointerMapEntry } from './pointer-map.js';

export interface ImportOptions {
  mode?: PolicyMode;
  targets?: ClusterTargets;
}

/** The converted policies of the `imported` outcomes, in body order. */
export function collectImportedPolicies(outcomes: readonly ImportOutcome[]): NetworkPolicy[] {
  return outcomes.flatMap((o) => (o.outcome === 'imported' && o.policy ? [o.policy] : []));
}

const POLICY_KINDS: Readonly<Record<string, { apiVersion: string; convert: (doc: Record<string, unknown>) => ConversionResult }>> = {
  CiliumNetworkPolicy: { apiVersion: 'cilium.io/v2', convert: (doc) => convertCiliumPolicy(doc, false) },
  CiliumClusterwideNetworkPolicy: { apiVersion: 'cilium.io/v2', convert: (doc) => convertCiliumPolicy(doc, true) },
  NetworkPolicy: { apiVersion: 'networking.k8s.io/v1', convert: convertK8sNetworkPolicy },
};

const BARE_RULE = { apiVersion: '', convert: convertCiliumRule };

/** sourceName / sourceNamespace of a bare rule: its io.cilium.k8s.policy.name / .namespace labels. */
function describeRuleSource(rule: Record<string, unknown>): Partial<ImportOutcome> {
  const ids: Partial<ImportOutcome> = {};
  if (!Array.isArray(rule.labels)) return ids;
  for (const label of rule.labels as unknown[]) {
    if (!isPlainObject(label) || typeof label.value !== 'string') continue;
    if (label.key === POLICY_NAME_LABEL && ids.sourceName === undefined) ids.sourceName = label.value;
    if (label.key === POLICY_NAMESPACE_LABEL && ids.sourceNamespace === undefined) ids.sourceNamespace = label.value;
  }
  return ids;
}

function summarize(errors: FieldError[]): string {
  const first = errors[0];
  if (!first) return 'invalid';
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : '';
  return `${first.pointer || '/'}: ${first.message}${more}`;
}

function findCaseVariant(doc: Record<string, unknown>, key: string): string | undefined {
  return Object.keys(doc).find((k) => k !== key && k.toLowerCase() === key.toLowerCase());
}

export function importPolicyDocuments(text: string, contentType: 'yaml' | 'json', options: ImportOptions = {}): ImportOutcome[] {
  const outcomes: ImportOutcome[] = [];
  const validateSchema = createSchemaValidator('NetworkPolicy');
  const namesSeen = new Map<string, number>();

  for (const source of splitImportDocuments(text, contentType)) {
    const document = source.index;
    const reject = (reason: string, errors?: FieldError[], extra: Partial<ImportOutcome> = {}): void => {
      outcomes.push({ document, ...extra, outcome: 'rejected', reason, ...(errors && errors.length > 0 ? { errors } : {}) });
    };
    if (source.parseError !== undefined) {
      reject(source.parseError, source.errors);
      continue;
    }
    const doc = source.value;
    if (!isPlainObject(doc)) {
      reject('the document is not an object');
      continue;
    }
    const meta = isPlainObject(doc.metadata) ? doc.metadata : {};
    const ids: Partial<ImportOutcome> = {};
    if (typeof doc.kind === 'string') ids.sourceKind = doc.kind;
    if (typeof meta.name === 'string') ids.sourceName = meta.name;
    if (typeof meta.namespace === 'string') ids.sourceNamespace = meta.namespace;

    const bareRule = isBareCiliumRule(doc);
    if (!bareRule && typeof doc.kind !== 'string') {
      const variant = findCaseVariant(doc, 'kind');
      reject(variant ? `kind is missing (found "${variant}"; field names are case-sensitive)` : 'kind is missing (a bare Cilium rule needs endpointSelector or nodeSelector)', [
        { pointer: '/kind', message: 'is required', rule: 'required' },
      ], ids);
      continue;
    }
    const handler = bareRule ? BARE_RULE : POLICY_KINDS[doc.kind as string];
    if (!handler) {
      reject(`kind ${String(doc.kind)} is not a network policy`, undefined, ids);
      continue;
    }
    if (!bareRule && doc.apiVersion !== handler.apiVersion) {
      const variant = findCaseVariant(doc, 'apiVersion');
      if (doc.apiVersion === undefined && variant) {
        reject(
          `apiVersion is missing: the document has "${variant}", but field names are case-sensitive (Kubernetes rejects it too)`,
          [{ pointer: `/${variant}`, message: `unknown field; did you mean "apiVersion"?`, rule: 'additionalProperties' }],
          ids,
        );
      } else if (doc.apiVersion === undefined) {
        reject('apiVersion is missing', [{ pointer: '/apiVersion', message: 'is required', rule: 'required' }], ids);
      } else {
        reject(`unsupported apiVersion ${JSON.stringify(doc.apiVersion)} for kind ${doc.kind} (expected ${handler.apiVersion})`, [
          { pointer: '/apiVersion', message: `must be ${handler.apiVersion}`, rule: 'const' },
        ], ids);
      }
      continue;
    }

    const what = bareRule ? 'Cilium rule' : String(doc.kind);
    const converted = handler.convert(doc);
    if (!converted.ok) {
      reject(`the ${what} is invalid: ${summarize(converted.errors)}`, converted.errors, ids);
      continue;
    }
    const { policy: parts } = converted;
    if (bareRule) Object.assign(ids, describeRuleSource(parts.spec));
    const namePointer = parts.namePointer ?? '/metadata/name';
    const nameProblem = describeDnsSubdomainProblem(parts.name);
    if (nameProblem) {
      const from = parts.nameSource ?? (doc.kind === 'CiliumClusterwideNetworkPolicy' ? 'metadata.name' : '<namespace>.<name>');
      reject(
        `fleet policy name "${parts.name}" (from ${from}) ${nameProblem}`,
        [{ pointer: namePointer, message: `fleet name "${parts.name}" ${nameProblem}`, rule: 'resource-name' }],
        ids,
      );
      continue;
    }

    const spec: Record<string, unknown> = { ...parts.spec };
    if (options.mode !== undefined) spec.mode = options.mode;
    if (options.targets !== undefined) spec.targets = options.targets;
    const metadata: Record<string, unknown> = { name: parts.name };
    if (parts.labels !== undefined) metadata.labels = parts.labels;
    const policy = { apiVersion: 'fleetnet.io/v1', kind: 'NetworkPolicy', metadata, spec } as unknown as NetworkPolicy;

    const pointerMap: PointerMapEntry[] = [
      ...parts.pointerMap,
      { fleet: '/spec/mode', source: '/query/mode', keepSuffix: false },
      { fleet: '/spec/targets/clusterSelector', source: '/query/clusterSelector', keepSuffix: false },
      { fleet: '/spec/targets/clusterIds', source: '/query/clusterIds', keepSuffix: false },
    ];
    const schemaErrors = validateSchema(policy);
    const fleetErrors = schemaErrors.length > 0 ? schemaErrors : validatePolicySpec(policy.spec, '/spec');
    if (fleetErrors.length > 0) {
      const toSource = parts.toSourcePointer ?? ((p: string) => p);
      const errors = fleetErrors.map((e) => ({ ...e, pointer: toSource(mapPointerToSource(e.pointer, pointerMap)) }));
      reject(`the converted policy is invalid: ${summarize(errors)}`, errors, ids);
      continue;
    }
    const earlier = namesSeen.get(parts.name);
    if (earlier !== undefined) {
      reject(`document ${earlier} already imports a policy named "${parts.name}"`, [
        { pointer: namePointer, message: `duplicate fleet name "${parts.name}"`, rule: 'unique-name' },
      ], ids);
      continue;
    }
    namesSeen.set(parts.name, document);
    const outcome: ImportOutcome = { document, ...ids, outcome: 'imported', policy };
    if (parts.notes.length > 0) outcome.reason = parts.notes.join('; ');
    outcomes.push(outcome);
  }
  return outcomes;
}
