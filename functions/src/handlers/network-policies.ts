import type { NetworkPolicy } from '../../../openapi/types.js';
import { describeActor, requireAdmin, requireReader } from '../auth/authorize.js';
import { parseListQuery } from '../http/list-query.js';
import { defineOperation, type Operation, type ServicesProvider } from '../http/operation.js';
import { booleanQueryParam, pathParam, preconditionsOf, readValidBody } from '../http/request-parts.js';
import { jsonResponse, listResponse, noContent, resourceResponse } from '../http/responses.js';
import { presentPolicy, withWarnings } from '../domain/network-policies.js';

const ROUTE = 'networkpolicies/{name}';

export const networkPolicyOperations = (services: ServicesProvider): Operation[] => [
  defineOperation(services, { operationId: 'listNetworkPolicies', method: 'GET', route: 'networkpolicies' }, async ({ request, services, principal }) => {
    requireReader(principal);
    return listResponse(request, await services.policies.list(parseListQuery(request, { labelSelector: true })), presentPolicy);
  }),
  defineOperation(services, { operationId: 'getNetworkPolicy', method: 'GET', route: ROUTE }, async ({ request, services, principal }) => {
    requireReader(principal);
    return resourceResponse(await services.policies.get(pathParam(request, 'name', 'ResourceName')), 200, presentPolicy);
  }),
  defineOperation(services, { operationId: 'putNetworkPolicy', method: 'PUT', route: ROUTE }, async ({ request, services, principal }) => {
    requireAdmin(principal);
    const name = pathParam(request, 'name', 'ResourceName');
    const dryRun = booleanQueryParam(request, 'dryRun');
    const body = await readValidBody<NetworkPolicy>(request, 'NetworkPolicy');
    if (dryRun) {
      services.policies.check(name, body);
      return jsonResponse(200, withWarnings(body));
    }
    const result = await services.policies.put(name, body, describeActor(principal), preconditionsOf(request));
    return resourceResponse(result.stored, result.outcome === 'created' ? 201 : 200, presentPolicy);
  }),
  defineOperation(services, { operationId: 'deleteNetworkPolicy', method: 'DELETE', route: ROUTE }, async ({ request, services, principal }) => {
    requireAdmin(principal);
    await services.policies.delete(pathParam(request, 'name', 'ResourceName'), describeActor(principal), request.headers.get('if-match'));
    return noContent();
  }),
];
