import type { AppServices } from '../app-services.js';

/** How often the Functions timer recompiles every label group (NCRONTAB, UTC): every five minutes. */
export const RECONCILE_SCHEDULE = '0 */5 * * * *';

/**
 * Recompiles every label group's manifest from what is stored: the safety net behind the change feed
 * (a batch the feed handler gave up on, a change made while no compiler ran). A manifest is rewritten only
 * if its content or members changed, so a healthy fleet costs reads only. Returns what was checked.
 */
export function reconcileDesiredState(services: Pick<AppServices, 'desiredState'>): Promise<{ groups: number; clusters: number }> {
  return services.desiredState.compiler.compileAll();
}
