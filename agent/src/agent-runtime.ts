/**
 * The agent's userspace wiring: identity source → compile → apply → status (SyncLoop), the flow
 * loop, and the node's encryption evidence (read at start, then every `encryptionEvidence.intervalMs`;
 * carried on every status, a change reported at once). Enforcement lives in pinned kernel state: nothing here flushes it — API errors only delay
 * updates, and stop() ends the loops and closes fds while maps, programs and links stay pinned.
 */
import type { ResolvedDesiredState } from '../../core/bundle/desired-state-format.js';
import type { FlowSummaryBatch, NodeEncryptionEvidence, NodeSpec } from '../../openapi/types.js';
import type { CompiledState, CompileInput } from './compile/index.js';
import type { AggregateContext, IdentityInfo } from './flows/aggregate-flows.js';
import { EncryptionEvidenceMonitor } from './encryption-evidence/evidence-monitor.js';
import { FlowLoop } from './flows/flow-loop.js';
import { FlowSpool, type SpoolLimits } from './flows/flow-spool.js';
import type { EndpointSource } from './identity/types.js';
import type { FlowRecordSource, KernelCounters } from './kernel/codecs.js';
import { ApiError, type ApiClient } from './sync/api-client.js';
import type { ProgramOutcome } from './sync/node-status.js';
import { SyncLoop, type Logger } from './sync/sync-loop.js';
import type { DnsService } from './dns-service/dns-service.js';
import type { HttpService } from './http-service/http-service.js';
import { join } from 'node:path';

/** The part of Datapath the runtime uses (the real class satisfies it). */
export interface RuntimeDatapath {
  /** one read-and-reset in the agent's form (Datapath.readAndResetFlowRecords) */
  readAndResetFlowRecords(): FlowRecordSource;
  /** cumulative kernel loss counters (Datapath.readCounters): the flow loop reports their deltas */
  readCounters(): KernelCounters;
  close(): void;
}

export interface AgentRuntimeOptions<D extends RuntimeDatapath> {
  client: ApiClient;
  datapath: D;
  source: EndpointSource;
  compile: (input: CompileInput) => CompiledState;
  apply: (datapath: D, compiled: CompiledState) => unknown;
  clusterId: string;
  nodeSpec: NodeSpec;
  stateDir: string;
  pollIntervalMs: number;
  flowIntervalMs: number;
  spoolLimits?: SpoolLimits;
  /** the DNS proxy and FQDN learning (absent: DNS rules and toFQDNs are reported Degraded, fail closed) */
  dns?: DnsService;
  /** the HTTP proxy for HTTP rules of both directions (absent: HTTP rules are reported Degraded, fail closed) */
  http?: HttpService;
  /** the node's encryption evidence (encryption-evidence/): read at start, then every intervalMs
   *  (absent: Node.status.encryption is not reported) */
  encryptionEvidence?: { read: () => Promise<NodeEncryptionEvidence>; intervalMs: number };
  log?: Logger;
}

/** How often the agent reads its encryption evidence unless told otherwise. */
export const DEFAULT_ENCRYPTION_EVIDENCE_INTERVAL_MS = 60_000;

/** Answers that a retry of the same batch can never turn into a 2xx. 401/403/404 are not here: they
 *  are configuration (token, cluster binding) that an operator fixes, after which the batch goes through. */
const POISON_STATUSES = new Set([400, 413, 415, 422]);

export const DEFAULT_SPOOL_LIMITS: SpoolLimits = { maxBytes: 256 * 1024 * 1024, maxFiles: 10_000 };

/** The compiler's attribution tables as the flow aggregator's lookups. */
export function flowContextOf(compiled: CompiledState | undefined, clusterName: string): Omit<AggregateContext, 'monotonicToWallMs'> {
  const rules = new Map((compiled?.rules ?? []).map((r) => [r.ruleId, { policy: r.policy, generation: r.generation }]));
  const identities = new Map<number, IdentityInfo>(
    (compiled?.identities ?? []).map((i) => [
      i.id,
      {
        labels: i.labels.map((l) => l.replace(/=$/, '')), // `reserved:world=` → `reserved:world`
        ...(i.namespace ? { namespace: i.namespace } : {}),
        ...(i.podNames ? { pods: i.podNames } : {}),
        ...(i.workloads ? { workloads: i.workloads } : {}),
        ...(i.ips ? { ips: i.ips } : {}),
        ...(i.fqdnNames ? { names: i.fqdnNames } : {}),
      },
    ]),
  );
  return { clusterName, rule: (id) => rules.get(id), identity: (id) => identities.get(id) };
}

export class AgentRuntime<D extends RuntimeDatapath> {
  readonly sync: SyncLoop;
  readonly spool: FlowSpool;
  readonly flows: FlowLoop;
  readonly evidence: EncryptionEvidenceMonitor | undefined;
  compiled: CompiledState | undefined;
  private readonly controller = new AbortController();
  private loops: Promise<unknown> | undefined;
  private readonly log: Logger;

  constructor(private readonly options: AgentRuntimeOptions<D>) {
    this.log = options.log ?? (() => undefined);
    const ev = options.encryptionEvidence;
    this.evidence = ev
      ? new EncryptionEvidenceMonitor({
          read: ev.read,
          intervalMs: ev.intervalMs,
          onChange: (e) => {
            this.log('info', 'encryption evidence', { wireguardInterfaces: e.wireguardInterfaces.length, source: e.source, ...(e.error ? { error: e.error } : {}) });
            this.sync?.statusChanged();
          },
        })
      : undefined;
    this.sync = new SyncLoop({
      client: options.client,
      stateDir: options.stateDir,
      nodeSpec: options.nodeSpec,
      pollIntervalMs: options.pollIntervalMs,
      program: (bundle) => this.program(bundle),
      ...(options.http ? { extraDegraded: () => options.http!.degraded() } : {}),
      ...(this.evidence ? { encryptionEvidence: () => this.evidence!.latest() } : {}),
      log: this.log,
    });
    this.spool = new FlowSpool(join(options.stateDir, 'flow-spool'), options.spoolLimits ?? DEFAULT_SPOOL_LIMITS);
    this.flows = new FlowLoop({
      readFlows: () => options.datapath.readAndResetFlowRecords(),
      ...(options.dns ? { readDnsRecords: () => options.dns!.drainQueryRecords() } : {}),
      ...(options.http ? { readHttpRecords: () => options.http!.drainRequestRecords() } : {}),
      readLost: () => options.datapath.readCounters(),
      context: () => flowContextOf(this.compiled, options.clusterId),
      spool: this.spool,
      send: async (batch: FlowSummaryBatch) => {
        await options.client.postFlows(batch);
      },
      isPoison: (e) => e instanceof ApiError && POISON_STATUSES.has(e.status),
      intervalMs: options.flowIntervalMs,
      log: this.log,
    });
  }

  /** compile + apply the resolved bundle against the current endpoints → status outcome (never throws). */
  async program(bundle: ResolvedDesiredState): Promise<ProgramOutcome> {
    const t0 = performance.now();
    const snap = this.options.source.snapshot();
    let compiled: CompiledState;
    try {
      compiled = this.options.compile({
        bundle,
        endpoints: snap.endpoints,
        peers: snap.peers,
        namespaceLabels: snap.namespaceLabels,
        nodes: snap.nodes,
        kubeApiserver: snap.kubeApiserver,
        ...(this.options.dns ? this.options.dns.compileInput() : {}),
        ...(this.options.http ? this.options.http.compileInput() : {}),
      });
    } catch (e) {
      return { revision: bundle.revision, programmed: false, reason: 'CompileFailed', message: (e as Error).message, degraded: [] };
    }
    const t1 = performance.now();
    try {
      await this.options.apply(this.options.datapath, compiled);
    } catch (e) {
      return { revision: bundle.revision, programmed: false, reason: 'ApplyFailed', message: (e as Error).message, degraded: compiled.degraded };
    }
    this.compiled = compiled;
    this.options.dns?.compiled(compiled, snap.endpoints);
    this.options.http?.compiled(compiled, snap.endpoints);
    const t2 = performance.now();
    this.log('info', 'programmed', {
      revision: bundle.revision,
      endpoints: compiled.endpoints.length,
      policyEntries: compiled.policy.length,
      ipcache: compiled.ipcache.length,
      degraded: compiled.degraded.length,
      compileMs: Math.round((t1 - t0) * 10) / 10,
      applyMs: Math.round((t2 - t1) * 10) / 10,
    });
    return { revision: bundle.revision, programmed: true, degraded: compiled.degraded };
  }

  /** Starts the source, enforces the last-known-good bundle, then runs the sync and flow loops. */
  async start(): Promise<void> {
    await this.spool.open();
    await this.options.source.start();
    // before the first programming: it compiles with the proxy and the names learned before a restart
    await this.options.dns?.start();
    await this.options.http?.start();
    // before the first status: every status carries the evidence
    await this.evidence?.start();
    await this.sync.loadLastKnownGood();
    const signal = this.controller.signal;
    this.loops = Promise.all([this.sync.run(signal), this.flows.run(signal)]);
  }

  /** Endpoints changed (identity source event). */
  endpointsChanged(): void {
    void this.sync.reprogram();
  }

  /** Stops the loops and the source, closes fds. Pinned kernel state — enforcement — stays. */
  async stop(): Promise<void> {
    this.controller.abort();
    await this.loops;
    await this.evidence?.stop();
    await this.options.dns?.stop();
    await this.options.http?.stop();
    await this.options.source.stop();
    this.options.datapath.close();
  }
}
