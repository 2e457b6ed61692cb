import { requireReader } from '../auth/authorize.js';
import { defineOperation, type Operation, type ServicesProvider } from '../http/operation.js';
import { integerQueryParam, pathParam } from '../http/request-parts.js';
import { jsonResponse } from '../http/responses.js';

/** A node is silent after this long without a report unless the query says otherwise (three 30 s polls). */
const DEFAULT_SILENT_AFTER_SECONDS = 90;

/**
 * What the fleet actually enforces (domain/realization.ts): per policy generation and per cluster. Readers
 * (Fleet.Reader or Fleet.Admin).
 */
export const realizationOperations = (services: ServicesProvider): Operation[] => [
  defineOperation(services, { operationId: 'getPolicyRealization', method: 'GET', route: 'networkpolicies/{name}/realization' }, async ({ request, services, principal }) => {
    requireReader(principal);
    const name = pathParam(request, 'name', 'ResourceName');
    const silentAfterSeconds = integerQueryParam(request, 'silentAfterSeconds', DEFAULT_SILENT_AFTER_SECONDS, 1, 86_400);
    const realization = await services.realization.policy(name, silentAfterSeconds * 1000);
    // A policy no cluster targets and no node enforces: 404 unless it exists (then the answer is empty).
    if (realization.generations.length === 0) await services.policies.get(name);
    return jsonResponse(200, { ...realization, silentAfterSeconds });
  }),
  defineOperation(services, { operationId: 'getFleetRealization', method: 'GET', route: 'realization' }, async ({ request, services, principal }) => {
    requireReader(principal);
    const silentAfterSeconds = integerQueryParam(request, 'silentAfterSeconds', DEFAULT_SILENT_AFTER_SECONDS, 1, 86_400);
    return jsonResponse(200, { clusters: await services.realization.fleet(silentAfterSeconds * 1000), silentAfterSeconds });
  }),
];
