import { describe, expect, it } from 'vitest';
import type { ClusterInventory, ClusterStatus } from '../../../openapi/types.js';
import { FACTS_REFRESH_MS, nextClusterStatus } from './next-cluster-status.js';

const ID = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/a';
const T0 = new Date('2026-11-30T10:00:00Z');
const T1 = new Date('2026-11-30T10:15:00Z');
const LATER = new Date(T0.getTime() + FACTS_REFRESH_MS + 1);
const facts = (observedAt: Date, armResourceId = ID, etag = 'e1'): ClusterInventory => ({ observedAt: observedAt.toISOString(), armResourceId, etag });
const found = (at: Date, id = ID, etag = 'e1') => ({ kind: 'found' as const, inventory: facts(at, id, etag) });

describe('nextClusterStatus', () => {
  it('found → facts and ArmResourceFound True', () => {
    expect(nextClusterStatus(undefined, found(T0), T0)).toEqual({
      inventory: facts(T0),
      conditions: [{ type: 'ArmResourceFound', status: 'True', reason: 'Found', message: 'read from Azure Resource Manager (observedAt says when)', lastTransitionTime: T0.toISOString() }],
    });
  });

  it('the same facts again: nothing to write until they are due for refresh; new facts at once; the transition time stays', () => {
    const first = nextClusterStatus(undefined, found(T0), T0);
    expect(nextClusterStatus(first, found(T1), T1)).toBe(first);
    const changed = nextClusterStatus(first, found(T1, ID, 'e2'), T1);
    expect(changed.inventory).toEqual(facts(T1, ID, 'e2'));
    const refreshed = nextClusterStatus(first, found(LATER), LATER);
    expect(refreshed.inventory).toEqual(facts(LATER));
    expect(refreshed.conditions![0]!.lastTransitionTime).toBe(T0.toISOString());
  });

  it('never backwards: a read older than the stored facts changes nothing', () => {
    const current = nextClusterStatus(undefined, found(T1, ID, 'e2'), T1);
    expect(nextClusterStatus(current, found(T0, ID, 'e1'), T1)).toBe(current);
    expect(nextClusterStatus(current, { kind: 'notFound', armResourceId: ID, at: T0 }, T1)).toBe(current);
  });

  it('404 keeps the last facts of the same id, marked False/NotFound, with a new transition time', () => {
    const before = nextClusterStatus(undefined, found(T0), T0);
    const gone = nextClusterStatus(before, { kind: 'notFound', armResourceId: ID.toUpperCase(), at: T1 }, T1); // ids compare case-insensitively
    expect(gone.inventory).toEqual(facts(T0));
    expect(gone.conditions).toEqual([{ type: 'ArmResourceFound', status: 'False', reason: 'NotFound', message: expect.stringContaining('404'), lastTransitionTime: T1.toISOString() }]);
  });

  it('a failed read keeps the facts and says Unknown with ARM status and code', () => {
    const before = nextClusterStatus(undefined, found(T0), T0);
    const failed = nextClusterStatus(before, { kind: 'failed', armResourceId: ID, error: { status: 429, code: 'TooManyRequests', message: 'slow down' }, at: T1 }, T1);
    expect(failed.inventory).toEqual(facts(T0));
    expect(failed.conditions![0]).toMatchObject({ status: 'Unknown', reason: 'ReadFailed', message: expect.stringContaining('TooManyRequests (HTTP 429): slow down') });
  });

  it('facts of another resource id are never kept; no armResourceId clears everything', () => {
    const before: ClusterStatus = nextClusterStatus(undefined, found(T0, `${ID}-old`), T0);
    expect(nextClusterStatus(before, { kind: 'notFound', armResourceId: ID, at: T1 }, T1).inventory).toBeUndefined();
    expect(nextClusterStatus(before, { kind: 'noArmId' }, T1)).toEqual({});
  });
});
