import type { EncryptionRemediationOperation, PolicyReplayOperation } from '../../openapi/types.js';
import { cacheVerifiedTokens } from './auth/cache-verified-tokens.js';
import { loadAuthConfig, type AuthEnv } from './auth/auth-config.js';
import { createAuthenticator, type Authenticator, type AuthenticatorDeps } from './auth/create-authenticator.js';
import { consoleConfig, type ConsoleConfig } from './handlers/console-config.js';
import type { BearerTokenVerifier } from './auth/verify-bearer-token.js';
import { ClusterService } from './domain/clusters.js';
import { createDesiredStateService, type DesiredStateService } from './domain/desired-state.js';
import { EncryptionSettingsService } from './domain/encryption-settings.js';
import { EncryptionComplianceService } from './domain/encryption-compliance.js';
import { EncryptionRemediations } from './domain/encryption-remediation.js';
import { createCurrentPolicies } from './domain/cluster-policies.js';
import { ExplainService } from './domain/explain.js';
import { RealizationService } from './domain/realization.js';
import { FlowService } from './domain/flows.js';
import { createFleetStore, KIND, type FleetStore } from './domain/fleet-store.js';
import { NetworkPolicyService } from './domain/network-policies.js';
import { NodeService } from './domain/nodes.js';
import { PolicyReplayOperations } from './domain/policy-replay-operations.js';
import { RevisionLog } from './domain/revision-log.js';
import { ArmAccess, type ArmAccessOptions } from './inventory/arm-access.js';
import { FleetInventory } from './inventory/fleet-inventory.js';
import { createFlowDecoder, defaultDecoderThreads, type FlowDecoder } from './ingest/flow-decoder.js';
import { DocumentCollection } from './store/document-collection.js';
import { FlowChunkStore, FlowCoverageStore } from './store/flow-store.js';
import { cosmosTuningFromEnv, openCosmos, type CosmosConnection } from './store/open-cosmos.js';

/** Everything a handler needs, built once per process. Dependencies come in here and nowhere else. */
export interface AppServices {
  verifyToken: BearerTokenVerifier;
  authenticator: Authenticator;
  /** How the console signs in (served as console/config.json). */
  console: ConsoleConfig;
  store: FleetStore;
  revisions: RevisionLog;
  desiredState: DesiredStateService;
  policies: NetworkPolicyService;
  encryption: EncryptionSettingsService;
  encryptionCompliance: EncryptionComplianceService;
  clusters: ClusterService;
  inventory: FleetInventory;
  remediations: EncryptionRemediations;
  nodes: NodeService;
  flows: FlowService;
  explain: ExplainService;
  realization: RealizationService;
  policyReplays: PolicyReplayOperations;
  flowDecoder: FlowDecoder;
  close(): Promise<void>;
}

export interface AppServiceOptions {
  env: AuthEnv;
  /** An open connection (tests share one); otherwise one is opened from COSMOS_ENDPOINT or embedded. */
  cosmos?: CosmosConnection;
  /**
   * Who runs the desired-state compiler on changes of `resources`: the Functions Cosmos DB trigger
   * (functions/src/index.ts) or, by default, the in-process driver (local host, tests).
   */
  changeFeed?: 'in-process' | 'functions-trigger';
  now?: () => Date;
  /** Azure Resource Manager access (tests: a local ARM's endpoint, credential and TLS trust); default from APP_ENV. */
  arm?: ArmAccessOptions;
  /** How Entra's keys are fetched (tests: a local authority's TLS trust); default jose's fetch. */
  authenticator?: AuthenticatorDeps;
}

/** Environment variables read here (besides the auth ones, see auth-config.ts). */
export const APP_ENV = {
  cosmosEndpoint: 'COSMOS_ENDPOINT',
  cosmosDatabase: 'COSMOS_DATABASE',
  /** ms a cluster's desired state may be served from memory (default 1000). */
  desiredStateCacheMillis: 'FLEETNET_DESIRED_STATE_CACHE_MS',
  /** ms a verified bearer token is trusted without re-verification (default 60000). */
  tokenCacheMillis: 'FLEETNET_TOKEN_CACHE_MS',
  /** Days flow history is kept (Cosmos ttl of flow documents; default 30). */
  flowRetentionDays: 'FLEETNET_FLOW_RETENTION_DAYS',
  /** Flow decoder threads: agent batches, Hubble imports, whole-window folds (default: one per core; 0 = on the event loop). */
  flowDecoderThreads: 'FLEETNET_FLOW_DECODER_THREADS',
  /** Subscription ids (comma-separated) whose managed clusters inventory lists; empty = only clusters' own armResourceIds. */
  armSubscriptions: 'FLEETNET_ARM_SUBSCRIPTIONS',
  /** Azure Resource Manager endpoint (default https://management.azure.com; sovereign clouds differ). */
  armEndpoint: 'FLEETNET_ARM_ENDPOINT',
  /** `true`: inventory registers managed clusters of the listed subscriptions that no cluster names (default off). */
  inventoryDiscover: 'FLEETNET_INVENTORY_DISCOVER',
  /** `enabled`: encryption remediation may be sent to opted-in clusters (fleet-wide switch; default disabled). */
  encryptionRemediation: 'FLEETNET_ENCRYPTION_REMEDIATION',
} as const;

export async function createAppServices(options: AppServiceOptions): Promise<AppServices> {
  const { env } = options;
  const now = options.now ?? (() => new Date());
  const authenticator = await createAuthenticator(loadAuthConfig(env), options.authenticator);
  const cosmos =
    options.cosmos ??
    (await openCosmos({ endpoint: env[APP_ENV.cosmosEndpoint], databaseId: env[APP_ENV.cosmosDatabase] ?? 'fleetnet', tuning: cosmosTuningFromEnv(env) }));
  let observeResources = (_document: Record<string, unknown>): void => undefined;
  const store = createFleetStore(cosmos.containers, (document) => observeResources(document));
  const revisions = new RevisionLog(store.revisions);
  const desiredState = createDesiredStateService({
    manifests: store.manifests,
    policies: store.policies,
    encryption: store.encryption,
    clusters: store.clusters,
    revisions,
    cacheMillis: numberFrom(env[APP_ENV.desiredStateCacheMillis], 1000),
    changeFeed: options.changeFeed ?? 'in-process',
    log: (message) => console.error(message),
  });
  observeResources = desiredState.observeWrite;
  const clusters = new ClusterService({ clusters: store.clusters, nodes: store.nodes, now });
  const chunks = new FlowChunkStore(cosmos.containers.flows);
  const coverage = new FlowCoverageStore(cosmos.containers.flowCoverage);
  const flowDecoder = createFlowDecoder({ threads: numberFrom(env[APP_ENV.flowDecoderThreads], defaultDecoderThreads()) });
  const flows = new FlowService({
    chunks,
    coverage,
    listClusterIds: async () => (await clusters.all()).map((cluster) => cluster.metadata.name),
    retentionSeconds: Math.max(1, Math.round(numberFrom(env[APP_ENV.flowRetentionDays], 30) * 86_400)),
    folds: flowDecoder,
    now,
  });
  const policyReplays = new PolicyReplayOperations({
    operations: new DocumentCollection<PolicyReplayOperation>(cosmos.containers.operations, 'id'),
    policy: async (name) => (await store.policies.read(KIND.policy, name))?.value,
    replay: {
      flows,
      clusters: async () => (await clusters.all()).map((cluster) => ({ id: cluster.metadata.name, labels: cluster.metadata.labels ?? {} })),
      currentPolicies: createCurrentPolicies(desiredState.reader),
    },
    now,
    log: (message) => console.error(message),
  });
  const arm = new ArmAccess(options.arm ?? armOptionsFromEnv(env));
  const inventory = new FleetInventory({
    arm,
    subscriptions: listFrom(env[APP_ENV.armSubscriptions]),
    discover: env[APP_ENV.inventoryDiscover] === 'true',
    clusters,
    now,
    log: (message) => console.error(message),
  });
  const remediations = new EncryptionRemediations({
    arm,
    enabled: env[APP_ENV.encryptionRemediation] === 'enabled',
    clusters,
    encryption: store.encryption,
    operations: new DocumentCollection<EncryptionRemediationOperation>(cosmos.containers.operations, 'id'),
    revisions,
    now,
    log: (message) => console.error(message),
  });
  return {
    verifyToken: cacheVerifiedTokens(authenticator.verify, { maxAgeMillis: numberFrom(env[APP_ENV.tokenCacheMillis], 60_000), maxEntries: 10_000 }),
    authenticator,
    console: consoleConfig(env),
    store,
    revisions,
    desiredState,
    policies: new NetworkPolicyService({ policies: store.policies, revisions, now }),
    encryption: new EncryptionSettingsService({ encryption: store.encryption, revisions, now }),
    encryptionCompliance: new EncryptionComplianceService({ encryption: store.encryption, clusters, nodes: store.nodes, now }),
    clusters,
    inventory,
    remediations,
    nodes: new NodeService({ nodes: store.nodes, now }),
    flows,
    explain: new ExplainService({ reader: desiredState.reader, nodes: store.nodes, chunks, coverage, now }),
    realization: new RealizationService({ manifests: store.manifests, nodes: store.nodes, now }),
    policyReplays,
    flowDecoder,
    close: async () => {
      await policyReplays.settled();
      await remediations.settled();
      await desiredState.close();
      await flowDecoder.close();
      if (!options.cosmos) await cosmos.close();
    },
  };
}

function numberFrom(value: string | undefined, fallback: number): number {
  const parsed = value === undefined ? NaN : Number(value);
  return Number.isFinite(parsed) && parsed >= 0 ? parsed : fallback;
}

function armOptionsFromEnv(env: AuthEnv): ArmAccessOptions {
  const endpoint = env[APP_ENV.armEndpoint];
  return endpoint ? { endpoint } : {};
}

/** A comma-separated setting → its non-empty, trimmed entries. */
function listFrom(value: string | undefined): string[] {
  return (value ?? '').split(',').map((entry) => entry.trim()).filter((entry) => entry.length > 0);
}
