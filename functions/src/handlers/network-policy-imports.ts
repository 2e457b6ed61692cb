import type { HttpRequest } from '@azure/functions';
import type { ClusterTargets, FieldError, ImportOutcome, PolicyMode } from '../../../openapi/types.js';
import { parseLabelSelectorQuery } from '../../../core/labels/label-selector.js';
import { importPolicyDocuments } from '../../../core/policy/import/import-policy-documents.js';
import { createSchemaValidator } from '../../../core/schema/compile-schema-validator.js';
import { describeActor, requireAdmin } from '../auth/authorize.js';
import { presentPolicy } from '../domain/network-policies.js';
import { policyWarnings } from '../../../core/policy/unenforced-parts.js';
import { ApiError, validationFailed } from '../http/api-error.js';
import { defineOperation, type Operation, type ServicesProvider } from '../http/operation.js';
import { readBodyText } from '../http/read-body.js';
import { booleanQueryParam } from '../http/request-parts.js';
import { jsonResponse } from '../http/responses.js';

interface ImportOptions {
  dryRun: boolean;
  mode: PolicyMode | undefined;
  targets: ClusterTargets | undefined;
}

/** dryRun, mode, clusterSelector and clusterIds from the query; errors point at `/query/<name>`. */
function parseImportOptions(request: HttpRequest): ImportOptions {
  const errors: FieldError[] = [];
  const dryRun = booleanQueryParam(request, 'dryRun');
  const mode = request.query.get('mode');
  if (mode !== null && mode !== 'enforce' && mode !== 'audit') errors.push({ pointer: '/query/mode', message: 'must be enforce or audit', rule: 'enum' });
  const targets: ClusterTargets = {};
  const selectorText = request.query.get('clusterSelector');
  if (selectorText !== null) {
    const parsed = parseLabelSelectorQuery(selectorText, '/query/clusterSelector');
    if ('errors' in parsed) errors.push(...parsed.errors);
    else targets.clusterSelector = parsed.selector;
  }
  const idsText = request.query.get('clusterIds');
  if (idsText !== null) {
    targets.clusterIds = idsText.split(',').map((id) => id.trim());
    const validateId = createSchemaValidator('ClusterIdValue');
    targets.clusterIds.forEach((id, index) => errors.push(...validateId(id, `/query/clusterIds/${index}`)));
  }
  if (errors.length > 0) throw validationFailed(errors, 'The query parameters are invalid.');
  return { dryRun, mode: (mode ?? undefined) as PolicyMode | undefined, targets: selectorText || idsText ? targets : undefined };
}

export const networkPolicyImportOperations = (services: ServicesProvider): Operation[] => [
  defineOperation(services, { operationId: 'importNetworkPolicies', method: 'POST', route: 'networkpolicyimports' }, async ({ request, services, principal }) => {
    requireAdmin(principal);
    const options = parseImportOptions(request);
    const { text, format } = await readBodyText(request, ['yaml', 'json']);
    const outcomes = importPolicyDocuments(text, format, { mode: options.mode, targets: options.targets }).map(withOutcomeWarnings);
    if (options.dryRun) return jsonResponse(200, { dryRun: true, documents: outcomes });
    const rejected = outcomes.filter((o) => o.outcome === 'rejected');
    if (rejected.length > 0) {
      const errors = rejected.flatMap((o) => (o.errors?.length ? o.errors : [{ pointer: '', message: o.reason ?? 'rejected' }]).map((e) => ({ ...e, pointer: `/${o.document}${e.pointer}` })));
      throw new ApiError(400, 'ImportRejected', `${rejected.length} of ${outcomes.length} documents were rejected; nothing was stored.`, errors, { documents: outcomes });
    }
    const actor = describeActor(principal);
    const documents: ImportOutcome[] = [];
    for (const outcome of outcomes) {
      const policy = outcome.policy!;
      const result = await services.policies.put(policy.metadata.name, policy, actor, { ifMatch: null, ifNoneMatch: null });
      documents.push({ ...outcome, outcome: result.outcome === 'unchanged' ? 'unchanged' : 'imported', policy: presentPolicy(result.stored) });
    }
    return jsonResponse(200, { dryRun: false, documents });
  }),
];

/** A converted document with what of its policy the datapath will not enforce (dry runs included). */
function withOutcomeWarnings(outcome: ImportOutcome): ImportOutcome {
  if (!outcome.policy) return outcome;
  const warnings = policyWarnings(outcome.policy);
  return warnings.length > 0 ? { ...outcome, warnings } : outcome;
}
