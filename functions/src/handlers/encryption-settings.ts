import type { ComplianceState, EncryptionRemediationRequest, EncryptionSettings } from '../../../openapi/types.js';
import type { HttpRequest } from '@azure/functions';
import { validationFailed } from '../http/api-error.js';
import { describeActor, requireAdmin, requireReader } from '../auth/authorize.js';
import { defineOperation, type Operation, type ServicesProvider } from '../http/operation.js';
import { booleanQueryParam, integerQueryParam, pathParam, preconditionsOf, readOptionalBody, readValidBody, siblingUrl } from '../http/request-parts.js';
import { jsonResponse, noContent, resourceResponse } from '../http/responses.js';

const ROUTE = 'encryptionsettings';
/** Seconds a client waits before polling a remediation that has not finished. */
const POLL_SECONDS = 2;
const COMPLIANCE_STATES: readonly ComplianceState[] = ['Compliant', 'Drifted', 'Unsupported', 'Unknown'];
/** A node heard within this long counts as reporting evidence (default as realization: three 30 s polls). */
const DEFAULT_SILENT_AFTER_SECONDS = 90;
const silentAfterSecondsOf = (request: HttpRequest): number => integerQueryParam(request, 'silentAfterSeconds', DEFAULT_SILENT_AFTER_SECONDS, 1, 86_400);

export const encryptionOperations = (services: ServicesProvider): Operation[] => [
  defineOperation(services, { operationId: 'getEncryptionSettings', method: 'GET', route: ROUTE }, async ({ services, principal }) => {
    requireReader(principal);
    return resourceResponse(await services.encryption.get());
  }),
  defineOperation(services, { operationId: 'putEncryptionSettings', method: 'PUT', route: ROUTE }, async ({ request, services, principal }) => {
    requireAdmin(principal);
    const dryRun = booleanQueryParam(request, 'dryRun');
    const body = await readValidBody<EncryptionSettings>(request, 'EncryptionSettings');
    if (dryRun) {
      services.encryption.check(body);
      return jsonResponse(200, body);
    }
    const result = await services.encryption.put(body, describeActor(principal), preconditionsOf(request));
    return resourceResponse(result.stored, result.outcome === 'created' ? 201 : 200);
  }),
  defineOperation(services, { operationId: 'deleteEncryptionSettings', method: 'DELETE', route: ROUTE }, async ({ request, services, principal }) => {
    requireAdmin(principal);
    await services.encryption.delete(describeActor(principal), request.headers.get('if-match'));
    return noContent();
  }),
  defineOperation(services, { operationId: 'getEffectiveEncryption', method: 'GET', route: 'clusters/{clusterId}/encryption' }, async ({ request, services, principal }) => {
    requireReader(principal);
    const id = pathParam(request, 'clusterId', 'ClusterIdValue');
    return jsonResponse(200, await services.encryptionCompliance.forCluster(id, silentAfterSecondsOf(request)));
  }),
  defineOperation(services, { operationId: 'remediateClusterEncryption', method: 'POST', route: 'clusters/{clusterId}/encryption/remediations' }, async ({ request, services, principal }) => {
    requireAdmin(principal);
    const id = pathParam(request, 'clusterId', 'ClusterIdValue');
    const body = await readOptionalBody<EncryptionRemediationRequest>(request, 'EncryptionRemediationRequest');
    if (booleanQueryParam(request, 'dryRun')) return jsonResponse(200, await services.remediations.plan(id, body));
    const operation = await services.remediations.apply(id, body, describeActor(principal));
    return jsonResponse(202, operation, { 'Operation-Location': siblingUrl(request, /\/clusters\/[^/]+\/encryption\/remediations\/?$/, `/encryptionremediations/${operation.id}`), 'Retry-After': String(POLL_SECONDS) });
  }),
  defineOperation(services, { operationId: 'getEncryptionRemediation', method: 'GET', route: 'encryptionremediations/{operationId}' }, async ({ request, services, principal }) => {
    requireAdmin(principal); // the plan holds the managed cluster's whole configuration
    const id = pathParam(request, 'operationId');
    if (!/^[0-9a-f-]{1,64}$/.test(id)) throw validationFailed([{ pointer: '/path/operationId', message: 'is an operation id (hex digits and dashes)', rule: 'pattern' }]);
    const operation = await services.remediations.get(id);
    return jsonResponse(200, operation, operation.status === 'Running' ? { 'Retry-After': String(POLL_SECONDS) } : {});
  }),
  defineOperation(services, { operationId: 'getEncryptionCompliance', method: 'GET', route: 'encryptioncompliance' }, async ({ request, services, principal }) => {
    requireReader(principal);
    const state = request.query.get('state');
    if (state !== null && !COMPLIANCE_STATES.includes(state as ComplianceState)) {
      throw validationFailed([{ pointer: '/query/state', message: `must be one of ${COMPLIANCE_STATES.join(', ')}`, rule: 'enum' }], 'The query parameters are invalid.');
    }
    return jsonResponse(200, await services.encryptionCompliance.report((state ?? undefined) as ComplianceState | undefined, silentAfterSecondsOf(request)));
  }),
];
