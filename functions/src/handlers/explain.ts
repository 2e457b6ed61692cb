import type { FlowExplainRequest } from '../../../openapi/types.js';
import { requireReader } from '../auth/authorize.js';
import { defineOperation, type Operation, type ServicesProvider } from '../http/operation.js';
import { pathParam, readValidBody } from '../http/request-parts.js';
import { jsonResponse } from '../http/responses.js';

/**
 * Explain a flow against a cluster's current policies (domain/explain.ts). Security teams read: Fleet.Reader
 * or Fleet.Admin (an agent token is 403 for every cluster, as for the other fleet reads); an unknown
 * cluster is a 404 for them, as for getCluster.
 */
export const explainOperations = (services: ServicesProvider): Operation[] => [
  defineOperation(services, { operationId: 'explainFlow', method: 'POST', route: 'clusters/{clusterId}/explain' }, async ({ request, services, principal }) => {
    requireReader(principal);
    const clusterId = pathParam(request, 'clusterId', 'ClusterIdValue');
    const body = await readValidBody<FlowExplainRequest>(request, 'FlowExplainRequest');
    return jsonResponse(200, await services.explain.explain(clusterId, body));
  }),
];
