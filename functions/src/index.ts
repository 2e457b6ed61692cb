/**
 * Azure Functions entry point (package.json "main" → dist/functions/src/index.js). Registers every
 * operation with the v4 programming model. Authentication happens in code (authLevel anonymous at the
 * host): only getHealth is open. Outside the Functions host this module is not loaded: the local host
 * serves the same operations (functions/src/local-host/).
 */
import { app } from '@azure/functions';
import { createAppServices, type AppServices } from './app-services.js';
import { createOperations } from './routes.js';
import { reconcileDesiredState, RECONCILE_SCHEDULE } from './domain/reconcile-desired-state.js';

let services: Promise<AppServices> | undefined;
const provideServices = (): Promise<AppServices> => {
  services ??= createAppServices({ env: process.env }).catch((error: unknown) => {
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

app.timer('reconcileDesiredState', {
  schedule: RECONCILE_SCHEDULE,
  handler: async (_timer, context) => {
    const checked = await reconcileDesiredState(await provideServices());
    context.log(`desired state reconciled for ${checked} cluster(s)`);
  },
});
