import { apiReferenceOperations } from './handlers/api-reference.js';
import { clusterOperations } from './handlers/clusters.js';
import { consoleOperations } from './handlers/console.js';
import { desiredStateOperations } from './handlers/desired-state.js';
import { encryptionOperations } from './handlers/encryption-settings.js';
import { explainOperations } from './handlers/explain.js';
import { flowOperations } from './handlers/flows.js';
import { healthOperations } from './handlers/health.js';
import { inventoryOperations } from './handlers/inventory.js';
import { networkPolicyImportOperations } from './handlers/network-policy-imports.js';
import { networkPolicyOperations } from './handlers/network-policies.js';
import { nodeOperations } from './handlers/nodes.js';
import { policyReplayOperations } from './handlers/policy-replays.js';
import { openApiDocumentOperations } from './handlers/openapi-document.js';
import { realizationOperations } from './handlers/realization.js';
import { revisionOperations } from './handlers/revisions.js';
import type { Operation, ServicesProvider } from './http/operation.js';

/**
 * The route table: every operation of openapi/openapi.yaml, once. The Functions entry point (index.ts)
 * registers each with app.http; the local host (local-host/) serves the same table over node:http.
 */
export function createOperations(services: ServicesProvider): Operation[] {
  return [
    ...healthOperations(services),
    ...openApiDocumentOperations(services),
    ...apiReferenceOperations(services),
    ...consoleOperations(services),
    ...networkPolicyOperations(services),
    ...revisionOperations(services),
    ...networkPolicyImportOperations(services),
    ...encryptionOperations(services),
    ...clusterOperations(services),
    ...inventoryOperations(services),
    ...realizationOperations(services),
    ...nodeOperations(services),
    ...desiredStateOperations(services),
    ...flowOperations(services),
    ...explainOperations(services),
    ...policyReplayOperations(services),
  ];
}
