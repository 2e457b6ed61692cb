/**
 * Fleet inventory: what Azure Resource Manager says about the fleet's AKS managed clusters, written into
 * `Cluster.status` (facts + ArmResourceFound). Read-only towards ARM: it never sends a write there.
 *
 * Contract of run():
 * - Lists the managed clusters of every configured subscription (all pages, ARM's `nextLink`; the SDK retries
 *   429 after `Retry-After`). A subscription whose listing fails is reported in `subscriptions[].error` with
 *   what it listed before the failure; the others go on.
 * - Every registered cluster with `spec.armResourceId` is matched against the listings (ids compare
 *   case-insensitively); a cluster no listing returned (other subscription, failed listing, or gone) is read
 *   by GET. 404 → `notFound` (its last facts kept, ArmResourceFound False); another failure → `failed`
 *   (facts kept, ArmResourceFound Unknown). Its status is then written (next-cluster-status.ts).
 * - Clusters without an armResourceId are listed in `withoutArmId` (their stale facts, if any, removed).
 * - Discovery (opt-in): a listed managed cluster no registered cluster names is registered (discovery.ts),
 *   then treated like the others in the same run — unless a cluster of the name it would get was deleted in
 *   fleetnet (its tombstone: a deletion is not undone by the next run) or registering it fails (e.g. the
 *   name was taken meanwhile); both are listed in `notDiscovered`, and the run goes on.
 * - One run at a time per instance: a call while a run is going joins it (same result). Runs on two
 *   instances may overlap: a status is never written backwards (next-cluster-status.ts).
 * A store failure while writing ends the run with that error (the API answers 503); statuses written before
 * it stay written (each write is whole).
 */
import type { ManagedCluster } from '@azure/arm-containerservice';
import type { Cluster, InventoryRunResult } from '../../../openapi/types.js';
import { forEachLimited } from '../../../core/async/for-each-limited.js';
import type { ClusterService } from '../domain/clusters.js';
import { ArmAccess, armErrorOf, parseManagedClusterId } from './arm-access.js';
import { discoveredCluster } from './discovery.js';
import { inventoryOf } from './managed-cluster-facts.js';
import { nextClusterStatus, type InventoryReadOutcome } from './next-cluster-status.js';

/** NCRONTAB of the Functions timer: every 15 minutes. */
export const INVENTORY_SCHEDULE = '0 */15 * * * *';
const READ_CONCURRENCY = 8;
const INVENTORY_ACTOR = 'fleetnet-inventory';

/** A managed cluster as a listing returned it, and when that page arrived. */
interface Listed {
  cluster: ManagedCluster;
  at: Date;
}

export interface FleetInventoryDeps {
  arm: ArmAccess;
  /** subscriptions whose managed clusters are listed */
  subscriptions: readonly string[];
  /** register managed clusters no cluster names */
  discover: boolean;
  clusters: ClusterService;
  now: () => Date;
  log: (message: string) => void;
}

export class FleetInventory {
  private current: Promise<InventoryRunResult> | undefined;

  constructor(private readonly deps: FleetInventoryDeps) {}

  run(): Promise<InventoryRunResult> {
    this.current ??= this.runOnce().finally(() => {
      this.current = undefined;
    });
    return this.current;
  }

  private async runOnce(): Promise<InventoryRunResult> {
    const startedAt = this.deps.now();
    const listed = new Map<string, Listed>();
    const subscriptions = await Promise.all(this.deps.subscriptions.map((id) => this.listSubscription(id, listed)));
    let registered = await this.deps.clusters.all();
    const discovered: string[] = [];
    const notDiscovered: NonNullable<InventoryRunResult['clusters']['notDiscovered']> = [];
    if (this.deps.discover) {
      const named = new Set(registered.flatMap((c) => (c.spec.armResourceId ? [c.spec.armResourceId.toLowerCase()] : [])));
      const taken = new Set(registered.map((c) => c.metadata.name));
      for (const { cluster: managed } of listed.values()) {
        if (!managed.id || named.has(managed.id.toLowerCase())) continue;
        const cluster = discoveredCluster(managed, taken);
        const name = cluster.metadata.name;
        taken.add(name);
        try {
          if (await this.deps.clusters.wasDeleted(name)) {
            notDiscovered.push({ armResourceId: managed.id, clusterId: name, reason: `a cluster "${name}" was deleted in fleetnet: discovery does not register it again` });
            continue;
          }
          await this.deps.clusters.put(name, cluster, INVENTORY_ACTOR, { ifMatch: null, ifNoneMatch: '*' });
          discovered.push(name);
        } catch (error) {
          // e.g. an admin (or another run) registered the name meanwhile: reported, the run goes on
          notDiscovered.push({ armResourceId: managed.id, clusterId: name, reason: error instanceof Error ? error.message.slice(0, 512) : String(error) });
        }
      }
      if (discovered.length > 0) registered = await this.deps.clusters.all();
    }
    const result: InventoryRunResult['clusters'] = { registered: registered.length, updated: [], notFound: [], failed: [], withoutArmId: [], discovered, ...(this.deps.discover ? { notDiscovered } : {}) };
    await forEachLimited(registered, READ_CONCURRENCY, async (cluster) => {
      const outcome = await this.read(cluster, listed);
      const id = cluster.metadata.name;
      const written = await this.deps.clusters.updateStatus(id, (current) =>
        // the armResourceId may have changed since the read: write only what was read for the current one
        sameArmId(current, outcome) ? nextClusterStatus(current.status, outcome, this.deps.now()) : (current.status ?? {}),
      );
      if (!written) return; // deleted meanwhile
      if (outcome.kind === 'found') result.updated.push(id);
      else if (outcome.kind === 'notFound') result.notFound.push(id);
      else if (outcome.kind === 'failed') result.failed.push({ clusterId: id, error: outcome.error });
      else result.withoutArmId.push(id);
    });
    for (const list of [result.updated, result.notFound, result.withoutArmId]) list.sort();
    result.failed.sort((a, b) => a.clusterId.localeCompare(b.clusterId));
    const finishedAt = this.deps.now();
    const failedSubscriptions = subscriptions.filter((s) => s.error).length;
    this.deps.log(
      `inventory: ${subscriptions.length} subscription(s) (${failedSubscriptions} failed), ${result.updated.length} cluster(s) read, ${result.notFound.length} not found, ${result.failed.length} failed, ${discovered.length} discovered`,
    );
    return { startedAt: startedAt.toISOString(), finishedAt: finishedAt.toISOString(), subscriptions, clusters: result };
  }

  private async listSubscription(subscriptionId: string, into: Map<string, Listed>): Promise<InventoryRunResult['subscriptions'][number]> {
    let pages = 0;
    let managedClusters = 0;
    try {
      for await (const page of this.deps.arm.client(subscriptionId).managedClusters.list().byPage()) {
        pages++;
        const at = this.deps.now();
        for (const cluster of page) {
          managedClusters++;
          if (cluster.id) into.set(cluster.id.toLowerCase(), { cluster, at });
        }
      }
      return { subscriptionId, managedClusters, pages };
    } catch (error) {
      return { subscriptionId, managedClusters, pages, error: armErrorOf(error) };
    }
  }

  /** The cluster's managed cluster from the listings, else by GET; every outcome stamped with when ARM answered. */
  private async read(cluster: Cluster, listed: ReadonlyMap<string, Listed>): Promise<InventoryReadOutcome> {
    const armResourceId = cluster.spec.armResourceId;
    if (!armResourceId) return { kind: 'noArmId' };
    const fromList = listed.get(armResourceId.toLowerCase());
    if (fromList) return { kind: 'found', inventory: inventoryOf(fromList.cluster, fromList.at) };
    const ref = parseManagedClusterId(armResourceId);
    if (!ref) return { kind: 'failed', armResourceId, error: { status: 0, code: 'InvalidResourceId', message: 'not a managed cluster resource id' }, at: this.deps.now() };
    try {
      const managed = await this.deps.arm.client(ref.subscriptionId).managedClusters.get(ref.resourceGroup, ref.name);
      return { kind: 'found', inventory: inventoryOf(managed, this.deps.now()) };
    } catch (error) {
      const armError = armErrorOf(error);
      const at = this.deps.now();
      return armError.status === 404 ? { kind: 'notFound', armResourceId, at } : { kind: 'failed', armResourceId, error: armError, at };
    }
  }
}

function sameArmId(current: Cluster, outcome: InventoryReadOutcome): boolean {
  const now = current.spec.armResourceId?.toLowerCase();
  if (outcome.kind === 'noArmId') return now === undefined;
  const read = outcome.kind === 'found' ? outcome.inventory.armResourceId : outcome.armResourceId;
  return now === read.toLowerCase();
}
