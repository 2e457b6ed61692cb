import { describe, expect, it } from 'vitest';
import type { ClusterInventory, ClusterStatus } from '../../../openapi/types.js';
import { nextClusterStatus } from './next-cluster-status.js';

const ID = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/a';
const T0 = new Date('2026-11-30T10:00:00Z');
const T1 = new Date('2026-11-30T10:15:00Z');
const facts = (observedAt: Date, armResourceId = ID): ClusterInventory => ({ observedAt: observedAt.toISOString(), armResourceId, etag: 'e1' });
const found = (at: Date, id = ID) => ({ kind: 'found' as const, inventory: facts(at, id) });

describe('nextClusterStatus', () => {
  it('found → facts and ArmResourceFound True; the transition time stays while the status does', () => {
    const first = nextClusterStatus(undefined, found(T0), T0);
    expect(first).toEqual({ inventory: facts(T0), conditions: [{ type: 'ArmResourceFound', status: 'True', reason: 'Found', message: `read from Azure Resource Manager at ${T0.toISOString()}`, lastTransitionTime: T0.toISOString() }] });
    const second = nextClusterStatus(first, found(T1), T1);
    expect(second.inventory).toEqual(facts(T1));
    expect(second.conditions![0]!.lastTransitionTime).toBe(T0.toISOString());
  });

  it('404 keeps the last facts of the same id, marked False/NotFound, with a new transition time', () => {
    const before = nextClusterStatus(undefined, found(T0), T0);
    const gone = nextClusterStatus(before, { kind: 'notFound', armResourceId: ID.toUpperCase() }, T1); // ids compare case-insensitively
    expect(gone.inventory).toEqual(facts(T0));
    expect(gone.conditions).toEqual([{ type: 'ArmResourceFound', status: 'False', reason: 'NotFound', message: expect.stringContaining('404'), lastTransitionTime: T1.toISOString() }]);
  });

  it('a failed read keeps the facts and says Unknown with ARM status and code; secrets never come from here', () => {
    const before = nextClusterStatus(undefined, found(T0), T0);
    const failed = nextClusterStatus(before, { kind: 'failed', armResourceId: ID, error: { status: 429, code: 'TooManyRequests', message: 'slow down' } }, T1);
    expect(failed.inventory).toEqual(facts(T0));
    expect(failed.conditions![0]).toMatchObject({ status: 'Unknown', reason: 'ReadFailed', message: expect.stringContaining('TooManyRequests (HTTP 429): slow down') });
  });

  it('facts of another resource id are never kept; no armResourceId clears everything', () => {
    const before: ClusterStatus = nextClusterStatus(undefined, found(T0, `${ID}-old`), T0);
    expect(nextClusterStatus(before, { kind: 'notFound', armResourceId: ID }, T1).inventory).toBeUndefined();
    expect(nextClusterStatus(before, { kind: 'noArmId' }, T1)).toEqual({});
  });
});
