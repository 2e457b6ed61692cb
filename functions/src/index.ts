/**
 * Azure Functions entry point (package.json "main" → dist/functions/src/index.js). Registers every
 * operation with the v4 programming model. Authentication happens in code (authLevel anonymous at the
 * host): only getHealth, the contract (getOpenApiYaml, getOpenApiJson) and its rendered reference page
 * (getApiReference and the renderer's script and license) are open. Desired state is
 * compiled by a Cosmos DB trigger on the `resources` container (change feed, leases in `leases`), with
 * the reconcile timer as the safety net. Outside the
 * Functions host this module is not loaded: the local host serves the same operations
 * (functions/src/local-host/) and drives the same compiler in-process.
 */
import { app, type InvocationContext } from '@azure/functions';
import { createAppServices, type AppServices } from './app-services.js';
import { createOperations } from './routes.js';
import { reconcileDesiredState, RECONCILE_SCHEDULE } from './domain/reconcile-desired-state.js';
import { CONTAINERS, DATABASE_ID } from './store/cosmos-layout.js';
import { INVENTORY_SCHEDULE } from './inventory/fleet-inventory.js';

let services: Promise<AppServices> | undefined;
const provideServices = (): Promise<AppServices> => {
  services ??= createAppServices({ env: process.env, changeFeed: 'functions-trigger' }).catch((error: unknown) => {
    services = undefined; // let the next invocation retry a failed start-up
    throw error;
  });
  return services;
};

app.setup({ enableHttpStream: false });

for (const operation of createOperations(provideServices)) {
  app.http(operation.operationId, {
    methods: [operation.method],
    route: operation.route,
    authLevel: 'anonymous',
    handler: operation.handler,
  });
}

/**
 * The change feed of `resources` (latest-version mode: deletes arrive as tombstones). Identity-based
 * connection: app setting `COSMOS__accountEndpoint` (infra/). A failed batch is retried with backoff
 * before the lease moves on; the reconcile timer covers a batch that still fails.
 */
app.cosmosDB('compileDesiredState', {
  connection: 'COSMOS',
  databaseName: process.env.COSMOS_DATABASE ?? DATABASE_ID,
  containerName: CONTAINERS.resources.id,
  leaseContainerName: CONTAINERS.leases.id,
  createLeaseContainerIfNotExists: false,
  feedPollDelay: 1000,
  retry: { strategy: 'exponentialBackoff', maxRetryCount: 8, minimumInterval: { seconds: 1 }, maximumInterval: { seconds: 60 } },
  handler: async (documents: unknown[], context: InvocationContext) => {
    await (await provideServices()).desiredState.compiler.applyChanges(documents as Record<string, unknown>[]);
    context.log(`desired state compiled for ${documents.length} changed resource document(s)`);
  },
});

/** Fleet inventory every 15 minutes (functions/src/inventory/fleet-inventory.ts); runInventory runs it now. */
app.timer('runFleetInventory', {
  schedule: INVENTORY_SCHEDULE,
  handler: async (_timer, context) => {
    const result = await (await provideServices()).inventory.run();
    context.log(`fleet inventory: ${result.clusters.updated.length} read, ${result.clusters.notFound.length} not found, ${result.clusters.failed.length} failed, ${result.subscriptions.filter((s) => s.error).length} subscription(s) failed`);
  },
});

app.timer('reconcileDesiredState', {
  schedule: RECONCILE_SCHEDULE,
  handler: async (_timer, context) => {
    const { groups, clusters } = await reconcileDesiredState(await provideServices());
    context.log(`desired state reconciled: ${groups} label group(s), ${clusters} cluster(s)`);
  },
});
