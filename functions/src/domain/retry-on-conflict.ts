import { WriteConflictError } from '../store/document-collection.js';

/** Tries per optimistic write: 20 writers on one document settle well within it (tested with 20). */
export const MAX_CONFLICT_ATTEMPTS = 32;

/**
 * Optimistic read-modify-write against concurrent writers: runs `attempt` (which reads, decides and
 * writes at the version it read) until it does not throw a WriteConflictError, at most `maxAttempts`
 * times. Between tries it sleeps a random 0 … min(2^n, 50) ms, so colliding writers spread out
 * instead of colliding again. Other errors pass through at once; after the last try the conflict
 * itself is rethrown.
 */
export async function retryOnWriteConflict<T>(attempt: () => Promise<T>, maxAttempts = MAX_CONFLICT_ATTEMPTS): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof WriteConflictError) || n >= maxAttempts) throw error;
      await conflictBackoff(n);
    }
  }
}

/** The pause after the n-th lost race: a random 0 … min(2^n, 50) ms. */
export function conflictBackoff(n: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(2 ** n, 50)));
}
