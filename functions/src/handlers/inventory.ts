import { requireAdmin } from '../auth/authorize.js';
import { defineOperation, type Operation, type ServicesProvider } from '../http/operation.js';
import { jsonResponse } from '../http/responses.js';

/** runInventory: the fleet inventory the timer runs, now (Fleet.Admin; it writes every cluster's status). */
export const inventoryOperations = (services: ServicesProvider): Operation[] => [
  defineOperation(services, { operationId: 'runInventory', method: 'POST', route: 'inventoryruns' }, async ({ services, principal }) => {
    requireAdmin(principal);
    return jsonResponse(200, await services.inventory.run());
  }),
];
