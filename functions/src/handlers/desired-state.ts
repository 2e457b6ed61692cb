import { DESIRED_STATE_MEDIA_TYPE } from '../../../core/bundle/desired-state-format.js';
import { canReadFleet, requireClusterReader } from '../auth/authorize.js';
import type { Principal } from '../auth/principal.js';
import type { DesiredStateLookup } from '../domain/desired-state/desired-state-reader.js';
import { ApiError, forbidden, notFound } from '../http/api-error.js';
import { formatEtag, ifNoneMatchHits } from '../http/etag.js';
import { defineOperation, type Operation, type ServicesProvider } from '../http/operation.js';
import { pathParam, positiveIntegerParam } from '../http/request-parts.js';
import { jsonResponse } from '../http/responses.js';

/** Seconds an agent should wait before asking again for a cluster the compiler has not placed yet. */
const PENDING_RETRY_SECONDS = 1;

/**
 * The agents' poll and the policy bodies it references. Hot path: one verified-token cache lookup and at
 * most one point read when the poll's If-None-Match names the manifest it holds (the manifest carries the
 * members' identities and ETags); none while the manifest is cached.
 */
export const desiredStateOperations = (services: ServicesProvider): Operation[] => [
  defineOperation(
    services,
    { operationId: 'getDesiredState', method: 'GET', route: 'clusters/{clusterId}/nodes/{nodeName}/desiredstate' },
    async ({ request, services, principal }) => {
      const clusterId = pathParam(request, 'clusterId', 'ClusterIdValue');
      pathParam(request, 'nodeName', 'ResourceName');
      requireManifestFormat(request.headers.get('accept'));
      const ifNoneMatch = request.headers.get('if-none-match');
      const state = authorized(principal, clusterId, await services.desiredState.reader.lookup(clusterId, ifNoneMatch));
      const etag = formatEtag(state.etag);
      if (ifNoneMatch !== null && ifNoneMatchHits(ifNoneMatch, state.etag)) return { status: 304, headers: { ETag: etag } };
      return jsonResponse(200, state.view(), { ETag: etag, 'Content-Type': DESIRED_STATE_MEDIA_TYPE });
    },
  ),
  defineOperation(
    services,
    { operationId: 'getBundledPolicy', method: 'GET', route: 'clusters/{clusterId}/nodes/{nodeName}/desiredstate/policies/{name}/{generation}' },
    async ({ request, services, principal }) => {
      const clusterId = pathParam(request, 'clusterId', 'ClusterIdValue');
      pathParam(request, 'nodeName', 'ResourceName');
      const name = pathParam(request, 'name', 'ResourceName');
      const generation = positiveIntegerParam(request, 'generation');
      const state = authorized(principal, clusterId, await services.desiredState.reader.lookup(clusterId, null));
      const listed = state.view().policies.find((entry) => entry.name === name && entry.generation === generation);
      const body = listed && (await services.desiredState.reader.bundledPolicy(listed.contentHash, name, generation));
      if (!listed || !body) throw notFound(`Generation ${generation} of policy "${name}" in the desired state of cluster "${clusterId}" (poll the desired state again)`);
      return jsonResponse(200, body, { ETag: formatEtag(listed.contentHash), 'Cache-Control': 'private, max-age=31536000, immutable' });
    },
  ),
];

/** 406 unless Accept names the manifest format (an agent of another release must not misread it). */
function requireManifestFormat(accept: string | null): void {
  const types = (accept ?? '').split(',').map((part) => part.split(';')[0]!.trim().toLowerCase());
  if (types.includes(DESIRED_STATE_MEDIA_TYPE)) return;
  throw new ApiError(
    406,
    'NotAcceptable',
    `This API serves desired state only as ${DESIRED_STATE_MEDIA_TYPE} (format fleetnet.io/v2); the request accepts ${accept ? `"${accept.slice(0, 200)}"` : 'nothing'}. An agent that cannot read it must be upgraded.`,
    [{ pointer: '/header/accept', message: `must include ${DESIRED_STATE_MEDIA_TYPE}` }],
  );
}

/** The manifest lookup, if `principal` may read the cluster's desired state; 404/403 otherwise. */
function authorized(principal: Principal, clusterId: string, lookup: DesiredStateLookup): Extract<DesiredStateLookup, { found: 'manifest' }> {
  if (lookup.found === 'none') {
    if (canReadFleet(principal)) throw notFound(`Cluster "${clusterId}"`);
    throw forbidden(`This identity is not an agent of cluster '${clusterId}'.`);
  }
  requireClusterReader(principal, { id: clusterId, agentIdentities: lookup.agentIdentities });
  if (lookup.found === 'pending') {
    const detail = `The desired state of cluster "${clusterId}" is being compiled; retry in ${PENDING_RETRY_SECONDS} s.`;
    throw new ApiError(404, 'DesiredStatePending', detail, [], {}, { 'Retry-After': String(PENDING_RETRY_SECONDS) });
  }
  return lookup;
}
