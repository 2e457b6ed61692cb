/**
 * Pure: a cluster's status after one inventory read of its managed cluster.
 * - found: the new facts; ArmResourceFound True (reason Found).
 * - notFound (ARM 404): the last facts of the same resource id are kept (marked by the condition, never
 *   silently dropped); ArmResourceFound False (reason NotFound).
 * - failed (any other ARM failure): facts kept; ArmResourceFound Unknown (reason ReadFailed, ARM's status
 *   and code in the message).
 * - noArmId: facts and the condition go (nothing to read).
 * Facts of another resource id (the cluster's armResourceId changed) are never kept. A condition's
 * lastTransitionTime moves only when its status changes. Only conditions inventory owns are stored
 * (EncryptionCompliant is computed when read).
 * Fewer writes (each status write changes the cluster's ETag and reaches the change feed): a read that
 * finds the same facts as stored less than FACTS_REFRESH_MS after their `observedAt`, with ArmResourceFound
 * already True, returns `previous` unchanged (nothing to write). So `observedAt` is when ARM last reported
 * these facts as read by inventory, refreshed at least hourly while ARM keeps answering.
 * Never backwards: an outcome read before the stored facts' `observedAt` (a slower run, or a remediation's
 * refresh in between) returns `previous` unchanged.
 */
import type { ClusterCondition, ClusterInventory, ClusterStatus, InventoryError } from '../../../openapi/types.js';
import { ARM_FOUND_CONDITION } from '../../../core/encryption/cluster-encryption-state.js';

/** `at`: when ARM answered (found: the facts' observedAt). */
export type InventoryReadOutcome =
  | { kind: 'found'; inventory: ClusterInventory }
  | { kind: 'notFound'; armResourceId: string; at: Date }
  | { kind: 'failed'; armResourceId: string; error: InventoryError; at: Date }
  | { kind: 'noArmId' };

export const FACTS_REFRESH_MS = 3_600_000;

export function nextClusterStatus(previous: ClusterStatus | undefined, outcome: InventoryReadOutcome, now: Date): ClusterStatus {
  const at = now.toISOString();
  if (outcome.kind === 'noArmId') return {};
  const armId = outcome.kind === 'found' ? outcome.inventory.armResourceId : outcome.armResourceId;
  const kept = previous?.inventory && previous.inventory.armResourceId.toLowerCase() === armId.toLowerCase() ? previous.inventory : undefined;
  const earlier = kept ? previous?.conditions?.find((c) => c.type === ARM_FOUND_CONDITION) : undefined;
  const answeredAt = outcome.kind === 'found' ? Date.parse(outcome.inventory.observedAt) : outcome.at.getTime();
  if (kept && previous && answeredAt < Date.parse(kept.observedAt)) return previous;
  if (
    outcome.kind === 'found' &&
    kept &&
    previous &&
    earlier?.status === 'True' &&
    answeredAt - Date.parse(kept.observedAt) < FACTS_REFRESH_MS &&
    JSON.stringify({ ...kept, observedAt: '' }) === JSON.stringify({ ...outcome.inventory, observedAt: '' })
  ) {
    return previous;
  }
  let inventory: ClusterInventory | undefined;
  let condition: ClusterCondition;
  switch (outcome.kind) {
    case 'found':
      inventory = outcome.inventory;
      condition = { type: ARM_FOUND_CONDITION, status: 'True', reason: 'Found', message: 'read from Azure Resource Manager (observedAt says when)' };
      break;
    case 'notFound':
      inventory = kept;
      condition = { type: ARM_FOUND_CONDITION, status: 'False', reason: 'NotFound', message: `ARM answered 404 at ${outcome.at.toISOString()}: the managed cluster was deleted or moved` };
      break;
    case 'failed':
      inventory = kept;
      condition = {
        type: ARM_FOUND_CONDITION,
        status: 'Unknown',
        reason: 'ReadFailed',
        message: `ARM read failed at ${outcome.at.toISOString()}: ${outcome.error.code} (HTTP ${outcome.error.status}): ${outcome.error.message}`.slice(0, 4096),
      };
      break;
  }
  condition.lastTransitionTime = earlier && earlier.status === condition.status && earlier.lastTransitionTime ? earlier.lastTransitionTime : at;
  return { ...(inventory ? { inventory } : {}), conditions: [condition] };
}
