import type { HttpRequest } from '@azure/functions';
import type { Node, NodeStatus } from '../../../openapi/types.js';
import type { AppServices } from '../app-services.js';
import { canReadFleet, describeActor, requireClusterAgent, requireClusterReader } from '../auth/authorize.js';
import type { Principal } from '../auth/principal.js';
import { toClusterRecord } from '../domain/cluster-directory.js';
import { ApiError, forbidden } from '../http/api-error.js';
import { parseListQuery } from '../http/list-query.js';
import { defineOperation, type Operation, type ServicesProvider } from '../http/operation.js';
import { pathParam, preconditionsOf, readValidBody } from '../http/request-parts.js';
import { listResponse, noContent, resourceResponse } from '../http/responses.js';

const ROUTE = 'clusters/{clusterId}/nodes/{nodeName}';

/**
 * Resolves the cluster of the path and authorizes the caller for it. An agent asking about a cluster
 * that does not exist gets 403, not 404, so agents cannot probe for other clusters.
 */
async function authorizeForCluster(request: HttpRequest, services: AppServices, principal: Principal, access: 'read' | 'agent'): Promise<string> {
  const clusterId = pathParam(request, 'clusterId', 'ClusterIdValue');
  const cluster = await services.clusters.get(clusterId).catch((error: unknown) => {
    // Only "no such cluster" is hidden from non-readers; a store fault stays a 503.
    if (canReadFleet(principal) || !(error instanceof ApiError && error.status === 404)) throw error;
    throw forbidden(`This identity is not an agent of cluster '${clusterId}'.`);
  });
  const binding = toClusterRecord(cluster.value);
  if (access === 'read') requireClusterReader(principal, binding);
  else requireClusterAgent(principal, binding);
  return clusterId;
}

export const nodeOperations = (services: ServicesProvider): Operation[] => [
  defineOperation(services, { operationId: 'listNodes', method: 'GET', route: 'clusters/{clusterId}/nodes' }, async ({ request, services, principal }) => {
    const clusterId = await authorizeForCluster(request, services, principal, 'read');
    return listResponse(request, await services.nodes.list(clusterId, parseListQuery(request, { labelSelector: true })));
  }),
  defineOperation(services, { operationId: 'getNode', method: 'GET', route: ROUTE }, async ({ request, services, principal }) => {
    const clusterId = await authorizeForCluster(request, services, principal, 'read');
    return resourceResponse(await services.nodes.get(clusterId, pathParam(request, 'nodeName', 'ResourceName')));
  }),
  defineOperation(services, { operationId: 'registerNode', method: 'PUT', route: ROUTE }, async ({ request, services, principal }) => {
    const clusterId = await authorizeForCluster(request, services, principal, 'agent');
    const name = pathParam(request, 'nodeName', 'ResourceName');
    const body = await readValidBody<Node>(request, 'Node');
    const result = await services.nodes.register(clusterId, name, body, describeActor(principal), preconditionsOf(request));
    return resourceResponse(result.stored, result.outcome === 'created' ? 201 : 200);
  }),
  defineOperation(services, { operationId: 'deleteNode', method: 'DELETE', route: ROUTE }, async ({ request, services, principal }) => {
    const clusterId = await authorizeForCluster(request, services, principal, 'agent');
    await services.nodes.delete(clusterId, pathParam(request, 'nodeName', 'ResourceName'), request.headers.get('if-match'));
    return noContent();
  }),
  defineOperation(services, { operationId: 'putNodeStatus', method: 'PUT', route: `${ROUTE}/status` }, async ({ request, services, principal }) => {
    const clusterId = await authorizeForCluster(request, services, principal, 'agent');
    const name = pathParam(request, 'nodeName', 'ResourceName');
    const status = await readValidBody<NodeStatus>(request, 'NodeStatus');
    return resourceResponse(await services.nodes.reportStatus(clusterId, name, status));
  }),
];
