/**
 * Guarded encryption remediation (Fleet.Admin): bring one cluster's AKS transit encryption to what the
 * fleet's encryption settings say, through Azure Resource Manager.
 *
 * Contract:
 * - plan() (the dry run; apply() runs it first): 404 for an unknown cluster; 409 RemediationNotEnabled
 *   unless the fleet switch is on (FLEETNET_ENCRYPTION_REMEDIATION=enabled) and the cluster opted in
 *   (`spec.encryptionRemediation.enabled`); 409 RemediationUnsupported without an armResourceId. Then the
 *   managed cluster is read from ARM NOW (never from the inventory's copy): 404 NotFound when ARM has none;
 *   compliance of the fresh facts (ACNS may be turned on only with `allowEnablingAdvancedNetworking`):
 *   Compliant → 409 NothingToRemediate; Unsupported/Unknown → 409 RemediationUnsupported with the reasons.
 *   Drifted → the managed cluster as read with only the drifted fields changed, serialized by the real SDK
 *   (managed-cluster-put.ts) into the exact PUT, `If-Match` = `armEtag` from the request or the eTag read.
 * - apply(): sends that PUT (same model, same If-Match) with the real client. ARM 412 → our 412
 *   ArmPreconditionFailed; 409 → 409 ArmConflict; 429/5xx/no answer → 503 + Retry-After; 404 → 404; other
 *   refusals (e.g. 403 for fleetnet's identity) → 502 ArmRequestFailed — in every such case nothing is
 *   recorded. Once ARM accepts: the operation is stored (Running, with ARM's Azure-AsyncOperation URL), a
 *   revision (ClusterEncryption/<cluster>, operation `remediate`) records who sent what, and ARM's operation
 *   is polled to its end in this process (long-running-operation.ts): Succeeded → the operation carries the
 *   new eTag and provisioningState, and the cluster's inventory facts are refreshed from ARM's final answer;
 *   Failed → problem ArmOperationFailed with ARM's words.
 * - Inventory never calls this: remediation happens only when an admin asks for it.
 */
import { randomUUID } from 'node:crypto';
import type { ManagedCluster } from '@azure/arm-containerservice';
import type { Cluster, EncryptionRemediationOperation, EncryptionRemediationPlan, EncryptionRemediationRequest, EncryptionSettings } from '../../../openapi/types.js';
import { computeEffectiveEncryption } from '../../../core/encryption/effective-encryption.js';
import { encryptionCompliance, encryptionFactsOf, type EncryptionCompliance } from '../../../core/encryption/encryption-compliance.js';
import { ApiError, notFound } from '../http/api-error.js';
import { ArmAccess, armErrorOf, parseManagedClusterId, type ManagedClusterRef } from '../inventory/arm-access.js';
import { captureManagedClusterPut } from '../inventory/managed-cluster-put.js';
import { inventoryOf } from '../inventory/managed-cluster-facts.js';
import { nextClusterStatus } from '../inventory/next-cluster-status.js';
import type { DocumentCollection } from '../store/document-collection.js';
import { OPERATION_TTL_SECONDS } from '../store/cosmos-layout.js';
import { toClusterRecord } from './cluster-directory.js';
import type { ClusterService } from './clusters.js';
import { FLEET_ENCRYPTION_NAME, KIND } from './fleet-store.js';
import { readOperation, RunningOperations, runOperation } from './long-running-operation.js';
import { revisionOf, type RevisionLog } from './revision-log.js';

export const REMEDIATION_REVISION_KIND = 'ClusterEncryption';
const TRANSIT_FIELD = 'networkProfile.advancedNetworking.security.transitEncryption.type';
const ACNS_FIELD = 'networkProfile.advancedNetworking.enabled';
/** Seconds a client is told to wait when ARM throttles or is unavailable and sent no Retry-After. */
const ARM_RETRY_AFTER_SECONDS = 10;

export interface EncryptionRemediationDeps {
  arm: ArmAccess;
  /** the fleet-wide switch (FLEETNET_ENCRYPTION_REMEDIATION=enabled) */
  enabled: boolean;
  clusters: ClusterService;
  encryption: DocumentCollection<EncryptionSettings>;
  operations: DocumentCollection<EncryptionRemediationOperation>;
  revisions: RevisionLog;
  now: () => Date;
  log: (message: string) => void;
  heartbeatMs?: number;
}

interface Prepared {
  cluster: Cluster;
  ref: ManagedClusterRef;
  model: ManagedCluster;
  plan: EncryptionRemediationPlan;
}

export class EncryptionRemediations {
  private readonly running = new RunningOperations();

  constructor(private readonly deps: EncryptionRemediationDeps) {}

  async plan(clusterId: string, request: EncryptionRemediationRequest): Promise<EncryptionRemediationPlan> {
    return (await this.prepare(clusterId, request)).plan;
  }

  async apply(clusterId: string, request: EncryptionRemediationRequest, actor: string): Promise<EncryptionRemediationOperation> {
    const prepared = await this.prepare(clusterId, request);
    const { ref, model, plan } = prepared;
    const poller = this.deps.arm.client(ref.subscriptionId).managedClusters.createOrUpdate(ref.resourceGroup, ref.name, model, {
      ifMatch: plan.change.ifMatch,
      ...(this.deps.arm.pollIntervalMs !== undefined ? { updateIntervalInMs: this.deps.arm.pollIntervalMs } : {}),
    });
    try {
      await poller.submitted();
    } catch (error) {
      throw armRefusal(error, plan.armResourceId);
    }
    const asyncOperation = (poller.operationState as { config?: { operationLocation?: string } } | undefined)?.config?.operationLocation;
    const at = this.deps.now().toISOString();
    const operation: EncryptionRemediationOperation = {
      id: randomUUID(),
      status: 'Running',
      createdAt: at,
      lastUpdatedAt: at,
      clusterId,
      actor,
      plan,
      arm: { ...(asyncOperation ? { asyncOperation } : {}), status: 'InProgress' },
    };
    const stored = await this.deps.operations.create(operation.id, operation.id, operation, { ttl: OPERATION_TTL_SECONDS });
    const generation = (await this.deps.revisions.highestGeneration(REMEDIATION_REVISION_KIND, clusterId)) + 1;
    await this.deps.revisions.record(
      revisionOf(REMEDIATION_REVISION_KIND, clusterId, generation, 'remediate', actor, at, {
        spec: { operationId: operation.id, armResourceId: plan.armResourceId, ifMatch: plan.change.ifMatch, apiVersion: plan.change.apiVersion, differences: plan.compliance.differences },
        labels: prepared.cluster.metadata.labels,
      }),
    );
    this.running.track(
      runOperation({
        operations: this.deps.operations,
        initial: stored,
        instance: `/api/encryptionremediations/${operation.id}`,
        now: this.deps.now,
        log: this.deps.log,
        ...(this.deps.heartbeatMs !== undefined ? { heartbeatMs: this.deps.heartbeatMs } : {}),
        work: async () => {
          let result: ManagedCluster;
          try {
            result = await poller.pollUntilDone();
          } catch (error) {
            const message = error instanceof Error ? error.message : String(error);
            return (op): EncryptionRemediationOperation => ({
              ...op,
              status: 'Failed',
              arm: { ...op.arm, status: 'Failed' },
              error: { type: 'https://fleetnet.dev/problems/ArmOperationFailed', title: 'Bad Gateway', status: 502, code: 'ArmOperationFailed', detail: message.slice(0, 2048) },
            });
          }
          await this.refreshFacts(clusterId, result);
          return (op): EncryptionRemediationOperation => ({
            ...op,
            status: 'Succeeded',
            arm: { ...op.arm, status: 'Succeeded', ...(result.provisioningState ? { provisioningState: result.provisioningState } : {}), ...(result.eTag ? { etag: result.eTag } : {}) },
          });
        },
      }),
      this.deps.log,
      `encryption remediation ${operation.id}`,
    );
    return stored.value;
  }

  get(id: string): Promise<EncryptionRemediationOperation> {
    return readOperation(this.deps.operations, id, { label: 'Encryption remediation', noun: 'remediation', advice: "ARM's operation may still finish: the next inventory run reads the outcome." }, this.deps.now());
  }

  /** Resolves when every remediation this process started has written its outcome (tests, shutdown). */
  settled(): Promise<void> {
    return this.running.settled();
  }

  private async prepare(clusterId: string, request: EncryptionRemediationRequest): Promise<Prepared> {
    const cluster = (await this.deps.clusters.get(clusterId)).value;
    if (!this.deps.enabled) throw conflict('RemediationNotEnabled', 'Encryption remediation is off for this fleet (app setting FLEETNET_ENCRYPTION_REMEDIATION is not "enabled"); nothing was sent.');
    if (cluster.spec.encryptionRemediation?.enabled !== true) {
      throw conflict('RemediationNotEnabled', `Cluster "${clusterId}" has not opted in to encryption remediation (spec.encryptionRemediation.enabled); nothing was sent.`);
    }
    const armResourceId = cluster.spec.armResourceId;
    const ref = armResourceId ? parseManagedClusterId(armResourceId) : undefined;
    if (!armResourceId || !ref) throw conflict('RemediationUnsupported', `Cluster "${clusterId}" has no spec.armResourceId: there is no managed cluster to change.`);
    let managed: ManagedCluster;
    try {
      managed = await this.deps.arm.client(ref.subscriptionId).managedClusters.get(ref.resourceGroup, ref.name);
    } catch (error) {
      throw armRefusal(error, armResourceId);
    }
    const settings = (await this.deps.encryption.read(KIND.encryption, FLEET_ENCRYPTION_NAME))?.value;
    const desired = computeEffectiveEncryption(settings?.spec, toClusterRecord(cluster), settings?.metadata.generation ?? null).settings;
    const compliance = encryptionCompliance(desired, encryptionFactsOf(inventoryOf(managed, this.deps.now())), {
      acnsMayBeEnabled: cluster.spec.encryptionRemediation.allowEnablingAdvancedNetworking === true,
    });
    if (compliance.state === 'Compliant') throw conflict('NothingToRemediate', `Cluster "${clusterId}" is Compliant as ARM reports it now; nothing was sent.`);
    if (compliance.state !== 'Drifted') throw conflict('RemediationUnsupported', `Cluster "${clusterId}" is ${compliance.state}: ${compliance.reasons.join('; ')}. Nothing was sent.`);
    const model = remediated(managed, compliance);
    const ifMatch = request.armEtag ?? managed.eTag;
    if (!ifMatch) throw conflict('RemediationUnsupported', `ARM sent no eTag for ${armResourceId}: fleetnet sends no change it cannot make conditional.`);
    const change = await captureManagedClusterPut(ref, model, ifMatch);
    return { cluster, ref, model, plan: { clusterId, armResourceId, compliance, change, consequences: consequencesOf(compliance) } };
  }

  /** The cluster's inventory facts from ARM's final answer, so compliance shows the change without waiting for the timer. */
  private async refreshFacts(clusterId: string, result: ManagedCluster): Promise<void> {
    try {
      if (!result.id) return;
      const inventory = inventoryOf(result, this.deps.now());
      await this.deps.clusters.updateStatus(clusterId, (current) =>
        current.spec.armResourceId?.toLowerCase() === inventory.armResourceId.toLowerCase() ? nextClusterStatus(current.status, { kind: 'found', inventory }, this.deps.now()) : (current.status ?? {}),
      );
    } catch (error) {
      this.deps.log(`encryption remediation of ${clusterId}: facts not refreshed (the next inventory run will): ${String(error)}`);
    }
  }
}

/** The managed cluster as read, with only the drifted fields changed. */
function remediated(managed: ManagedCluster, compliance: EncryptionCompliance): ManagedCluster {
  const model = structuredClone(managed);
  const network = (model.networkProfile ??= {});
  const advanced = (network.advancedNetworking ??= {});
  for (const difference of compliance.differences) {
    if (difference.field === ACNS_FIELD) advanced.enabled = difference.desired === true;
    else if (difference.field === TRANSIT_FIELD) (advanced.security ??= {}).transitEncryption = { type: String(difference.desired) };
    else throw new Error(`no remediation for ARM field ${difference.field}`);
  }
  return model;
}

/** What AKS documents the change does (docs/encryption.md cites the sources). */
function consequencesOf(compliance: EncryptionCompliance): string[] {
  const out: string[] = [];
  const fields = new Map(compliance.differences.map((d) => [d.field, d.desired]));
  if (fields.get(ACNS_FIELD) === true) {
    out.push('Advanced Container Networking Services is turned on: a billed AKS add-on; its observability and security features are enabled unless explicitly disabled.');
  }
  const transit = fields.get(TRANSIT_FIELD);
  if (transit === 'WireGuard') {
    out.push('WireGuard transit encryption is turned on: Cilium creates a cilium_wg0 interface on every node and manages and rotates the keys.');
    out.push('Only pod-to-pod traffic between nodes is encrypted; traffic between pods on one node and traffic the nodes themselves send stays unencrypted.');
  } else if (transit === 'None') {
    out.push('WireGuard transit encryption is turned off: pod-to-pod traffic between nodes is no longer encrypted.');
  }
  out.push('The managed cluster is updated in place (provisioningState Updating until ARM reports the operation done); networking on the nodes is reconfigured by AKS.');
  return out;
}

function conflict(code: 'RemediationNotEnabled' | 'NothingToRemediate' | 'RemediationUnsupported', message: string): ApiError {
  return new ApiError(409, code, message);
}

/** An ARM refusal of a read or the PUT → the API's answer (module contract). Nothing was recorded. */
function armRefusal(error: unknown, armResourceId: string): ApiError {
  const arm = armErrorOf(error);
  if (arm.status === 404) return notFound(`Managed cluster ${armResourceId} in Azure Resource Manager`);
  if (arm.status === 412) return new ApiError(412, 'ArmPreconditionFailed', `ARM refused the change: the managed cluster's eTag is no longer the one sent as If-Match (it changed since it was read). Run the dry run again. Nothing was recorded.`);
  if (arm.status === 409) return new ApiError(409, 'ArmConflict', `ARM refused the change: ${arm.code}: ${arm.message}. Nothing was recorded.`);
  if (arm.status === 429 || arm.status >= 500 || arm.status === 0) {
    const retryAfter = String(ARM_RETRY_AFTER_SECONDS);
    return new ApiError(503, 'ServiceUnavailable', `Azure Resource Manager is throttling or unavailable (${arm.code}). Retry after ${retryAfter} s. Nothing was recorded.`, [], {}, { 'Retry-After': retryAfter });
  }
  return new ApiError(502, 'ArmRequestFailed', `Azure Resource Manager refused fleetnet's request: ${arm.code} (HTTP ${arm.status}). Check the Function app identity's roles (docs/encryption.md). Nothing was recorded.`);
}
