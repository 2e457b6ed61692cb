import { canReadFleet, requireClusterReader } from '../auth/authorize.js';
import { forbidden, notFound } from '../http/api-error.js';
import { formatEtag, ifNoneMatchHits } from '../http/etag.js';
import { defineOperation, type Operation, type ServicesProvider } from '../http/operation.js';
import { pathParam } from '../http/request-parts.js';
import { jsonResponse } from '../http/responses.js';

/**
 * The agents' poll. Hot path: one verified-token cache lookup and at most one point read (the cluster's
 * state document carries the bundle, its ETag and the agent identities); none while the state is cached.
 */
export const desiredStateOperations = (services: ServicesProvider): Operation[] => [
  defineOperation(
    services,
    { operationId: 'getDesiredState', method: 'GET', route: 'clusters/{clusterId}/nodes/{nodeName}/desiredstate' },
    async ({ request, services, principal }) => {
      const clusterId = pathParam(request, 'clusterId', 'ClusterIdValue');
      pathParam(request, 'nodeName', 'ResourceName');
      const state = await services.desiredState.read(clusterId);
      if (!state) {
        if (canReadFleet(principal)) throw notFound(`Cluster "${clusterId}"`);
        throw forbidden(`This identity is not an agent of cluster '${clusterId}'.`);
      }
      requireClusterReader(principal, { id: clusterId, agentIdentities: state.agentIdentities });
      const etag = formatEtag(state.etag);
      const ifNoneMatch = request.headers.get('if-none-match');
      if (ifNoneMatch !== null && ifNoneMatchHits(ifNoneMatch, state.etag)) return { status: 304, headers: { ETag: etag } };
      return jsonResponse(200, state.bundle, { ETag: etag });
    },
  ),
];
