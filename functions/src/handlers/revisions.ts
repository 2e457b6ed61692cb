import type { HttpRequest } from '@azure/functions';
import type { Revision } from '../../../openapi/types.js';
import { requireReader } from '../auth/authorize.js';
import type { AppServices } from '../app-services.js';
import { notFound } from '../http/api-error.js';
import { buildNextLink, parseListQuery } from '../http/list-query.js';
import { defineOperation, type Operation, type ServicesProvider } from '../http/operation.js';
import { pathParam, positiveIntegerParam } from '../http/request-parts.js';
import { jsonResponse } from '../http/responses.js';
import { FLEET_ENCRYPTION_NAME, KIND } from '../domain/fleet-store.js';
import type { RevisedKind } from '../domain/revision-log.js';
import { REMEDIATION_REVISION_KIND } from '../domain/encryption-remediation.js';

/**
 * A page of a resource's history, newest first; the continuation token carries the last generation served.
 * No history at all is a 404 unless the caller knows the resource exists (`mayBeEmpty`).
 */
async function revisionPage(request: HttpRequest, services: AppServices, kind: RevisedKind, name: string, mayBeEmpty = false) {
  const query = parseListQuery(request, { labelSelector: false });
  const before = query.afterId === undefined ? undefined : Number(query.afterId);
  const items: Revision[] = await services.revisions.page(kind, name, query.limit + 1, before);
  if (items.length === 0 && before === undefined && !mayBeEmpty) throw notFound(`History of ${kind} "${name}"`);
  const page = items.slice(0, query.limit);
  const last = page.at(-1);
  const nextLink = items.length > query.limit && last ? buildNextLink(request, String(last.generation)) : null;
  return jsonResponse(200, { items: page, nextLink });
}

export const revisionOperations = (services: ServicesProvider): Operation[] => [
  defineOperation(services, { operationId: 'listNetworkPolicyRevisions', method: 'GET', route: 'networkpolicies/{name}/revisions' }, async ({ request, services, principal }) => {
    requireReader(principal);
    return revisionPage(request, services, KIND.policy, pathParam(request, 'name', 'ResourceName'));
  }),
  defineOperation(
    services,
    { operationId: 'getNetworkPolicyRevision', method: 'GET', route: 'networkpolicies/{name}/revisions/{generation}' },
    async ({ request, services, principal }) => {
      requireReader(principal);
      const name = pathParam(request, 'name', 'ResourceName');
      const generation = positiveIntegerParam(request, 'generation');
      const revision = await services.revisions.get(KIND.policy, name, generation);
      if (!revision) throw notFound(`Generation ${generation} of NetworkPolicy "${name}"`);
      return jsonResponse(200, revision);
    },
  ),
  defineOperation(services, { operationId: 'listEncryptionSettingsRevisions', method: 'GET', route: 'encryptionsettings/revisions' }, async ({ request, services, principal }) => {
    requireReader(principal);
    return revisionPage(request, services, KIND.encryption, FLEET_ENCRYPTION_NAME);
  }),
  defineOperation(services, { operationId: 'listClusterEncryptionRevisions', method: 'GET', route: 'clusters/{clusterId}/encryption/revisions' }, async ({ request, services, principal }) => {
    requireReader(principal);
    const clusterId = pathParam(request, 'clusterId', 'ClusterIdValue');
    await services.clusters.get(clusterId); // 404 for an unknown cluster; a known one may have no remediation yet
    return revisionPage(request, services, REMEDIATION_REVISION_KIND, clusterId, true);
  }),
];
