/**
 * Guarded encryption remediation (Fleet.Admin): bring one cluster's AKS transit encryption to what the
 * fleet's encryption settings say, through Azure Resource Manager.
 *
 * Contract:
 * - plan() (the dry run; apply() runs it first): 404 for an unknown cluster; 409 RemediationNotEnabled
 *   unless the fleet switch is on (FLEETNET_ENCRYPTION_REMEDIATION=enabled) and the cluster opted in
 *   (`spec.encryptionRemediation.enabled`); 409 RemediationUnsupported without an armResourceId. Then the
 *   managed cluster is read from ARM NOW (never from the inventory's copy): 404 NotFound when ARM has none;
 *   412 ArmPreconditionFailed when the request's `armEtag` is not its eTag any more; 409 ArmConflict unless
 *   its provisioningState is Succeeded; 409 RemediationUnsupported when no EncryptionSettings exist.
 *   Compliance of the fresh facts (ACNS may be turned on only with `allowEnablingAdvancedNetworking`):
 *   Compliant → 409 NothingToRemediate; Unsupported/Unknown → 409 RemediationUnsupported with the reasons.
 *   Drifted → the managed cluster as read with only the drifted fields changed, serialized by the real SDK
 *   (managed-cluster-put.ts) into the exact PUT, `If-Match` = `armEtag` or the eTag read.
 * - apply(): 400 without `armEtag` (the eTag the dry run showed: only a reviewed change is sent, and it is
 *   the same change because the cluster is unchanged). The attempt is stored (operation Running, arm
 *   Sending) before the PUT goes out. ARM's refusal → the operation Failed (arm Refused) and the answer:
 *   412 ArmPreconditionFailed; 409 ArmConflict; 400/422 → 422 ArmRequestFailed with ARM's words;
 *   429/5xx/no answer → 503 + Retry-After; refusals of fleetnet's identity or token → 502 ArmRequestFailed.
 *   No revision is recorded for a refused change. Once ARM accepts: a revision (ClusterEncryption/<cluster>,
 *   `remediate`) records who sent what, the answer is the operation with ARM's Azure-AsyncOperation URL, and
 *   ARM's operation is polled to its end in this process (long-running-operation.ts): Succeeded → ARM's
 *   final provisioningState and eTag, and the cluster's facts refreshed from ARM's answer; ARM's
 *   Failed/Canceled → Failed ArmOperationFailed with ARM's words; polls that keep failing → Failed
 *   OperationInterrupted (outcome unknown here; the next inventory run reads the cluster).
 * - Inventory never calls this: remediation happens only when an admin asks for it.
 */
import { randomUUID } from 'node:crypto';
import type { ContainerServiceClient, ManagedCluster } from '@azure/arm-containerservice';
import type { Cluster, EncryptionRemediationOperation, EncryptionRemediationPlan, EncryptionRemediationRequest, EncryptionSettings, Problem } from '../../../openapi/types.js';
import { computeEffectiveEncryption } from '../../../core/encryption/effective-encryption.js';
import { encryptionCompliance, encryptionFactsOf, type EncryptionCompliance } from '../../../core/encryption/encryption-compliance.js';
import { ApiError, notFound, validationFailed } from '../http/api-error.js';
import { problemOf } from '../http/render-problem.js';
import { ArmAccess, armErrorOf, parseManagedClusterId, type ManagedClusterRef } from '../inventory/arm-access.js';
import { captureManagedClusterPut } from '../inventory/managed-cluster-put.js';
import { inventoryOf } from '../inventory/managed-cluster-facts.js';
import { nextClusterStatus } from '../inventory/next-cluster-status.js';
import type { DocumentCollection, Versioned } from '../store/document-collection.js';
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
/** Polls of ARM's operation that may fail (network, throttling) before fleetnet gives up following it. */
const POLL_ATTEMPTS = 5;
const REVISION_ATTEMPTS = 3;

type ManagedClusterPoller = ReturnType<ContainerServiceClient['managedClusters']['createOrUpdate']>;

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
    if (!request.armEtag) {
      throw validationFailed(
        [{ pointer: '/armEtag', message: "name the ARM eTag the dry run showed (plan.change.ifMatch): fleetnet sends only a change someone reviewed", rule: 'required' }],
        'Run the dry run first; nothing was sent.',
      );
    }
    const prepared = await this.prepare(clusterId, request);
    const { ref, model, plan } = prepared;
    // The attempt is stored before anything is sent (who asked for what, when): a store that fails here
    // fails the request with nothing sent.
    const at = this.deps.now().toISOString();
    const initial: EncryptionRemediationOperation = { id: randomUUID(), status: 'Running', createdAt: at, lastUpdatedAt: at, clusterId, actor, plan, arm: { status: 'Sending' } };
    const stored = await this.deps.operations.create(initial.id, initial.id, initial, { ttl: OPERATION_TTL_SECONDS });
    const poller = this.deps.arm.client(ref.subscriptionId).managedClusters.createOrUpdate(ref.resourceGroup, ref.name, model, {
      ifMatch: plan.change.ifMatch,
      ...(this.deps.arm.pollIntervalMs !== undefined ? { updateIntervalInMs: this.deps.arm.pollIntervalMs } : {}),
    });
    try {
      await poller.submitted();
    } catch (error) {
      const refusal = armRefusal(error, plan.armResourceId);
      await this.recordRefusal(stored, refusal);
      throw refusal;
    }
    const asyncOperation = (poller.operationState as { config?: { operationLocation?: string } } | undefined)?.config?.operationLocation;
    const arm = { ...(asyncOperation ? { asyncOperation } : {}), status: 'InProgress' };
    await this.recordRevision(prepared, initial.id, actor, at);
    this.running.track(
      runOperation({
        operations: this.deps.operations,
        initial: stored,
        instance: `/api/encryptionremediations/${initial.id}`,
        now: this.deps.now,
        log: this.deps.log,
        ...(this.deps.heartbeatMs !== undefined ? { heartbeatMs: this.deps.heartbeatMs } : {}),
        work: async (update) => {
          await update((op) => ({ ...op, arm }));
          return this.follow(clusterId, poller);
        },
      }),
      this.deps.log,
      `encryption remediation ${initial.id}`,
    );
    return { ...initial, arm };
  }

  /**
   * Polls ARM's operation to its end. ARM's Failed/Canceled → Failed ArmOperationFailed with ARM's words; a
   * poll that keeps failing (network, throttling, token) is not ARM's verdict: after POLL_ATTEMPTS it is
   * Failed OperationInterrupted, saying the outcome is unknown here and where ARM's operation is.
   */
  private async follow(clusterId: string, poller: ManagedClusterPoller): Promise<(op: EncryptionRemediationOperation) => EncryptionRemediationOperation> {
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await poller.pollUntilDone();
        await this.refreshFacts(clusterId, result);
        return (op) => ({
          ...op,
          status: 'Succeeded',
          arm: { ...op.arm, status: 'Succeeded', ...(result.provisioningState ? { provisioningState: result.provisioningState } : {}), ...(result.eTag ? { etag: result.eTag } : {}) },
        });
      } catch (error) {
        const state = poller.operationState?.status;
        if (state === 'failed' || state === 'canceled') {
          const message = error instanceof Error ? error.message : String(error);
          return (op) => ({ ...op, status: 'Failed', arm: { ...op.arm, status: state === 'failed' ? 'Failed' : 'Canceled' }, error: problem(502, 'ArmOperationFailed', message) });
        }
        if (attempt >= POLL_ATTEMPTS) {
          const { code } = armErrorOf(error);
          return (op) => ({
            ...op,
            status: 'Failed',
            error: problem(500, 'OperationInterrupted', `fleetnet could not follow ARM's operation (${code}); its outcome is unknown here. ARM's operation: ${op.arm?.asyncOperation ?? 'unknown'}; the next inventory run reads the managed cluster as it is.`),
          });
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(30_000, 1000 * 2 ** attempt)));
      }
    }
  }

  /** A refused attempt stays on record as Failed (never as done); a store failure here is only logged. */
  private async recordRefusal(stored: Versioned<EncryptionRemediationOperation>, refusal: ApiError): Promise<void> {
    const failed: EncryptionRemediationOperation = { ...stored.value, status: 'Failed', lastUpdatedAt: this.deps.now().toISOString(), arm: { status: 'Refused' }, error: problem(refusal.status, refusal.code, refusal.message) };
    await this.deps.operations.replace(failed.id, failed.id, failed, stored.version, { ttl: OPERATION_TTL_SECONDS }).catch((error: unknown) => this.deps.log(`encryption remediation ${failed.id}: refusal not recorded: ${String(error)}`));
  }

  /**
   * Who sent what, once ARM accepted it: the next ClusterEncryption generation (retried on a lost race and
   * on store failures). An accepted change is never turned into an error by its history: a last failure is
   * logged; the operation still holds actor and plan.
   */
  private async recordRevision(prepared: Prepared, operationId: string, actor: string, at: string): Promise<void> {
    const { cluster, plan } = prepared;
    const clusterId = cluster.metadata.name;
    for (let attempt = 1; attempt <= REVISION_ATTEMPTS; attempt++) {
      try {
        const generation = (await this.deps.revisions.highestGeneration(REMEDIATION_REVISION_KIND, clusterId)) + 1;
        const revision = revisionOf(REMEDIATION_REVISION_KIND, clusterId, generation, 'remediate', actor, at, {
          spec: { operationId, armResourceId: plan.armResourceId, ifMatch: plan.change.ifMatch, apiVersion: plan.change.apiVersion, differences: plan.compliance.differences },
          labels: cluster.metadata.labels,
        });
        await this.deps.revisions.record(revision);
        if ((await this.deps.revisions.get(REMEDIATION_REVISION_KIND, clusterId, generation))?.spec?.operationId === operationId) return;
      } catch (error) {
        if (attempt === REVISION_ATTEMPTS) this.deps.log(`encryption remediation ${operationId}: revision not recorded: ${String(error)}`);
      }
    }
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
    if (request.armEtag !== undefined && managed.eTag !== undefined && request.armEtag !== managed.eTag) {
      throw new ApiError(412, 'ArmPreconditionFailed', `The managed cluster changed since the dry run (its ARM eTag is no longer "${request.armEtag}"). Run the dry run again; nothing was sent.`);
    }
    if (managed.provisioningState !== undefined && managed.provisioningState !== 'Succeeded') {
      throw new ApiError(409, 'ArmConflict', `The managed cluster is ${managed.provisioningState}: AKS takes a change once the cluster is Succeeded. Nothing was sent.`);
    }
    const settings = (await this.deps.encryption.read(KIND.encryption, FLEET_ENCRYPTION_NAME))?.value;
    if (!settings) throw conflict('RemediationUnsupported', 'No EncryptionSettings exist: fleetnet has no desired encryption to bring the cluster to. Nothing was sent.');
    const desired = computeEffectiveEncryption(settings.spec, toClusterRecord(cluster), settings.metadata.generation ?? null).settings;
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

/** An ARM refusal of a read or the PUT → the API's answer (module contract). Nothing was recorded as done. */
function armRefusal(error: unknown, armResourceId: string): ApiError {
  const arm = armErrorOf(error);
  if (arm.status === 404) return notFound(`Managed cluster ${armResourceId} in Azure Resource Manager`);
  if (arm.status === 412) return new ApiError(412, 'ArmPreconditionFailed', `ARM refused the change: the managed cluster's eTag is no longer the one sent as If-Match (it changed since it was read). Run the dry run again. Nothing was recorded as done.`);
  if (arm.status === 409) return new ApiError(409, 'ArmConflict', `ARM refused the change: ${arm.code}: ${arm.message}. Nothing was recorded as done.`);
  if (arm.status === 400 || arm.status === 422) return new ApiError(422, 'ArmRequestFailed', `ARM refused the change as invalid for this cluster: ${arm.code}: ${arm.message}. Nothing was recorded as done.`);
  const credential = arm.status === 0 && /credential|authentication/i.test((error as { name?: string })?.name ?? '');
  if (!credential && (arm.status === 429 || arm.status >= 500 || arm.status === 0)) {
    const retryAfter = String(ARM_RETRY_AFTER_SECONDS);
    return new ApiError(503, 'ServiceUnavailable', `Azure Resource Manager is throttling or unavailable (${arm.code}). Retry after ${retryAfter} s. Nothing was recorded as done.`, [], {}, { 'Retry-After': retryAfter });
  }
  const why = credential ? 'fleetnet could not get a token for ARM (its managed identity)' : `ARM refused fleetnet's identity: ${arm.code} (HTTP ${arm.status}): ${arm.message}`;
  return new ApiError(502, 'ArmRequestFailed', `${why}. Check the Function app identity's roles (docs/encryption.md). Nothing was recorded as done.`);
}

/** A stored outcome's problem, as the error boundary would write it (ARM's words cut at 2 KiB). */
function problem(status: number, code: Problem['code'], detail: string): Problem {
  return problemOf(new ApiError(status, code, detail.slice(0, 2048))).problem;
}
