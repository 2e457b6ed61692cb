import type { PolicyReplayRequest } from '../../../openapi/types.js';
import { requireReader } from '../auth/authorize.js';
import { validationFailed } from '../http/api-error.js';
import { defineOperation, type Operation, type ServicesProvider } from '../http/operation.js';
import { pathParam, readValidBody, siblingUrl } from '../http/request-parts.js';
import { jsonResponse } from '../http/responses.js';

/** Seconds a client waits before polling an operation that has not finished. */
const POLL_SECONDS = 1;

/**
 * Policy replays (domain/policy-replay-operations.ts): a long-running operation, 202 + Operation-Location.
 * Replay changes nothing, so readers may start one: Fleet.Reader or Fleet.Admin.
 */
export const policyReplayOperations = (services: ServicesProvider): Operation[] => [
  defineOperation(services, { operationId: 'startPolicyReplay', method: 'POST', route: 'policyreplays' }, async ({ request, services, principal }) => {
    requireReader(principal);
    const body = await readValidBody<PolicyReplayRequest>(request, 'PolicyReplayRequest');
    const operation = await services.policyReplays.start(body);
    const location = siblingUrl(request, /\/policyreplays\/?$/, `/policyreplays/${operation.id}`);
    return jsonResponse(202, operation, { 'Operation-Location': location, 'Retry-After': String(POLL_SECONDS) });
  }),
  defineOperation(services, { operationId: 'getPolicyReplay', method: 'GET', route: 'policyreplays/{operationId}' }, async ({ request, services, principal }) => {
    requireReader(principal);
    const id = pathParam(request, 'operationId');
    if (!/^[0-9a-f-]{1,64}$/.test(id)) throw validationFailed([{ pointer: '/path/operationId', message: 'is an operation id (hex digits and dashes)', rule: 'pattern' }]);
    const operation = await services.policyReplays.get(id);
    const pending = operation.status === 'NotStarted' || operation.status === 'Running';
    return jsonResponse(200, operation, pending ? { 'Retry-After': String(POLL_SECONDS) } : {});
  }),
];
