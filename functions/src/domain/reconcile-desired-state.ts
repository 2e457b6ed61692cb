import type { AppServices } from '../app-services.js';
import { listAllClusters } from './cluster-directory.js';

/** How often the Functions timer recompiles every cluster (NCRONTAB, UTC): every five minutes. */
export const RECONCILE_SCHEDULE = '0 */5 * * * *';

/**
 * Recompiles every cluster's desired state from what is stored. Writes recompile the clusters they
 * affect; this sweep heals the rare write whose process died between storing a resource and
 * recompiling (a bundle is rewritten only if its content changed, so a healthy fleet costs reads only).
 * Returns the number of clusters checked.
 */
export async function reconcileDesiredState(services: Pick<AppServices, 'desiredState' | 'store'>): Promise<number> {
  const clusters = await listAllClusters(services.store.clusters);
  await services.desiredState.refresh(clusters);
  return clusters.length;
}
