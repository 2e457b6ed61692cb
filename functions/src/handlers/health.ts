import { defineOperation, type Operation, type ServicesProvider } from '../http/operation.js';
import { jsonResponse } from '../http/responses.js';

export const healthOperations = (services: ServicesProvider): Operation[] => [
  defineOperation(services, { operationId: 'getHealth', method: 'GET', route: 'healthz', anonymous: true }, async () =>
    jsonResponse(200, { status: 'ok', version: '0.1.0' }),
  ),
];
