import type { Cluster } from '../../../openapi/types.js';
import type { AppServices } from '../app-services.js';
import type { Versioned } from '../store/document-collection.js';
import { describeActor, requireAdmin, requireReader } from '../auth/authorize.js';
import { parseListQuery } from '../http/list-query.js';
import { defineOperation, type Operation, type ServicesProvider } from '../http/operation.js';
import { pathParam, preconditionsOf, readValidBody } from '../http/request-parts.js';
import { listResponse, noContent, resourceResponse } from '../http/responses.js';

const ROUTE = 'clusters/{clusterId}';

export const clusterOperations = (services: ServicesProvider): Operation[] => [
  defineOperation(services, { operationId: 'listClusters', method: 'GET', route: 'clusters' }, async ({ request, services, principal }) => {
    requireReader(principal);
    const page = await services.clusters.list(parseListQuery(request, { labelSelector: true }));
    return listResponse(request, { ...page, items: await withConditions(services, page.items) });
  }),
  defineOperation(services, { operationId: 'getCluster', method: 'GET', route: ROUTE }, async ({ request, services, principal }) => {
    requireReader(principal);
    const [stored] = await withConditions(services, [await services.clusters.get(pathParam(request, 'clusterId', 'ClusterIdValue'))]);
    return resourceResponse(stored!);
  }),
  defineOperation(services, { operationId: 'putCluster', method: 'PUT', route: ROUTE }, async ({ request, services, principal }) => {
    requireAdmin(principal);
    const id = pathParam(request, 'clusterId', 'ClusterIdValue');
    const body = await readValidBody<Cluster>(request, 'Cluster');
    const result = await services.clusters.put(id, body, describeActor(principal), preconditionsOf(request));
    const [stored] = await withConditions(services, [result.stored]);
    return resourceResponse(stored!, result.outcome === 'created' ? 201 : 200);
  }),
  defineOperation(services, { operationId: 'deleteCluster', method: 'DELETE', route: ROUTE }, async ({ request, services, principal }) => {
    requireAdmin(principal);
    await services.clusters.delete(pathParam(request, 'clusterId', 'ClusterIdValue'), request.headers.get('if-match'), describeActor(principal));
    return noContent();
  }),
];

/** Clusters are answered with their EncryptionCompliant condition computed now (encryption-compliance.ts). */
async function withConditions(services: AppServices, stored: Versioned<Cluster>[]): Promise<Versioned<Cluster>[]> {
  const decorated = await services.encryptionCompliance.withConditions(stored.map((entry) => entry.value));
  return stored.map((entry, i) => ({ ...entry, value: decorated[i]! }));
}
