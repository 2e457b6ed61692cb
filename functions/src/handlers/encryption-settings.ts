import type { EncryptionSettings } from '../../../openapi/types.js';
import { describeActor, requireAdmin, requireReader } from '../auth/authorize.js';
import { defineOperation, type Operation, type ServicesProvider } from '../http/operation.js';
import { booleanQueryParam, pathParam, preconditionsOf, readValidBody } from '../http/request-parts.js';
import { jsonResponse, noContent, resourceResponse } from '../http/responses.js';

const ROUTE = 'encryptionsettings';

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
    const cluster = await services.clusters.get(pathParam(request, 'clusterId', 'ClusterIdValue'));
    return jsonResponse(200, await services.encryption.effectiveFor(cluster.value));
  }),
];
