/**
 * Explain: why a cluster's current desired state forwards or drops one flow. The decision is core's
 * (core/policy/explain/explain-flow.ts); this module gathers its inputs — the policies of the cluster's
 * manifest, a pod's labels from flow history, the cluster's Degraded nodes — and maps the answer to the
 * wire (FlowExplanation).
 *
 * Contract:
 * - Input checks the schema cannot state come first, before any read: an ICMP/ICMPv6 type above 255
 *   (`/port`), an `ip` that is not an address (`/<side>/ip`), two `ip` sides of different families
 *   (`/destination/ip`), ICMP with an IPv6 or ICMPv6 with an IPv4 `ip` (`/protocol`): 400 ValidationFailed.
 * - Unknown cluster: 404 NotFound; a cluster the compiler has not placed yet: 404 DesiredStatePending +
 *   Retry-After (as the agents' poll).
 * - Policy bodies come from the reader's immutable per-(name, generation, hash) cache; a member view's
 *   policies (their CIDR selectors parsed: explain-scope.ts) are kept per view ETag, so a repeated explain
 *   of an unchanged cluster reads nothing but the (cached) manifest, the nodes and, for a `pod` side,
 *   flow history. core evaluates only the policies the two sides need (narrowPolicies: same answer).
 * - A `pod` side: the most recent summary of the last 24 h (newest hour first, newest chunk first) in
 *   which the pod (namespace and pod_name) is the source or the destination gives its labels; none →
 *   422 PodNotFound pointing at `/<side>/pod`.
 * - degradedNodes: nodes whose Degraded condition is True and whose message contains `policy <name> `
 *   for a policy selecting either side (agent/src/sync/node-status.ts describeDegraded).
 */
import { isIP } from 'node:net';
import type { ExplainedSide, ExplainEndpoint, ExplainHook, FlowEndpoint, FlowExplainRequest, FlowExplanation, Node, PolicyReference } from '../../../openapi/types.js';
import { hourBucket, hourBuckets } from '../../../core/flows/flow-time.js';
import { buildPodLabelSet, CLUSTER_LABEL, POD_NAMESPACE_LABEL } from '../../../core/labels/cilium-labels.js';
import type { FlowSide, ResolvedSide } from '../../../core/policy/explain/cluster-evaluator.js';
import { explainFlow, type Explanation } from '../../../core/policy/explain/explain-flow.js';
import { unaddressedEntities, WRITE_TIME_ENVIRONMENT } from '../../../core/policy/unenforced-parts.js';
import { ApiError, notFound, unprocessable, validationFailed } from '../http/api-error.js';
import type { DocumentCollection } from '../store/document-collection.js';
import type { FlowChunkStore, FlowCoverageStore } from '../store/flow-store.js';
import type { DesiredStateReader } from './desired-state/desired-state-reader.js';
import { readPolicyBodies, ViewCache } from './cluster-policies.js';
import { narrowPolicies, prepareExplainScope, type ExplainScope } from '../../../core/policy/explain/explain-scope.js';

export interface ExplainServiceDeps {
  reader: Pick<DesiredStateReader, 'lookup' | 'bundledPolicy'>;
  nodes: Pick<DocumentCollection<Node>, 'all'>;
  chunks: Pick<FlowChunkStore, 'latest'>;
  coverage: Pick<FlowCoverageStore, 'hours'>;
  now: () => Date;
}

type Protocol = NonNullable<FlowExplainRequest['protocol']>;
type SideName = 'source' | 'destination';
/** A side as asked, resolved for core, with where its labels came from. */
type Side = { flow: FlowSide; from: ExplainedSide['resolvedFrom']; pod?: string; observedAt?: string };

const PROTOCOL_NUMBERS: Record<Protocol, number> = { TCP: 6, UDP: 17, SCTP: 132, ICMP: 1, ICMPv6: 58 };
const PROTOCOL_NAMES = new Map<number, string>(Object.entries(PROTOCOL_NUMBERS).map(([name, n]) => [n, name]));
/** How far back a pod's labels are looked for. */
const POD_HISTORY_MS = 24 * 3_600_000;
const CHUNKS_PER_READ = 8;
const PENDING_RETRY_SECONDS = 1;

export class ExplainService {
  private readonly views = new ViewCache<ExplainScope>();

  constructor(private readonly deps: ExplainServiceDeps) {}

  async explain(clusterId: string, request: FlowExplainRequest): Promise<FlowExplanation> {
    const protocol: Protocol = request.protocol ?? 'TCP';
    checkInput(request, protocol);
    const state = await this.deps.reader.lookup(clusterId, null);
    if (state.found === 'none') throw notFound(`Cluster "${clusterId}"`);
    if (state.found === 'pending') {
      throw new ApiError(404, 'DesiredStatePending', `The desired state of cluster "${clusterId}" is being compiled; retry in ${PENDING_RETRY_SECONDS} s.`, [], {}, { 'Retry-After': String(PENDING_RETRY_SECONDS) });
    }
    const view = state.view();
    const [scope, source, destination] = await Promise.all([
      this.scopeOf(state.etag, view.policies),
      this.side(clusterId, request.source, 'source'),
      this.side(clusterId, request.destination, 'destination'),
    ]);
    const policies = narrowPolicies(scope, [source.flow, destination.flow]);
    const explanation = explainFlow({ policies, source: source.flow, destination: destination.flow, protocol: PROTOCOL_NUMBERS[protocol], port: request.port, localhostPolicy: request.localhostPolicy === true });
    const selecting = new Set([...explanation.selecting.source, ...explanation.selecting.destination].map((p) => p.policy));
    return {
      clusterId,
      revision: view.revision,
      verdict: explanation.verdict,
      protocol,
      port: request.port,
      source: renderSide(explanation.source, source),
      destination: renderSide(explanation.destination, destination),
      hooks: explanation.hooks.map(renderHook),
      selecting: explanation.selecting,
      unenforced: explanation.unenforced,
      degradedNodes: selecting.size === 0 ? [] : await this.degradedNodes(clusterId, selecting),
      assumptions: assumptions(request, source, destination),
    };
  }

  /** A member view's policies, prepared for narrowing (cached per view ETag; bodies per hash in the reader). */
  private scopeOf(etag: string, references: readonly PolicyReference[]): Promise<ExplainScope> {
    return this.views.get(etag, async () => prepareExplainScope(await readPolicyBodies(this.deps.reader, references)));
  }

  private async side(clusterId: string, endpoint: ExplainEndpoint, name: SideName): Promise<Side> {
    if (endpoint.workload) {
      const w = endpoint.workload;
      return { flow: { workload: buildPodLabelSet({ labels: w.labels ?? {}, namespace: w.namespace, serviceAccount: w.serviceAccount, namespaceLabels: w.namespaceLabels, clusterId }) }, from: 'request' };
    }
    if (endpoint.ip !== undefined) return { flow: { address: endpoint.ip }, from: 'address' };
    if (endpoint.entity !== undefined) return { flow: { entity: endpoint.entity }, from: 'entity' };
    const pod = endpoint.pod!;
    const seen = await this.latestPodLabels(clusterId, pod);
    if (!seen) {
      throw unprocessable('PodNotFound', `Pod "${pod}" does not appear in the flow history of cluster "${clusterId}" of the last 24 hours, so its labels are unknown; name the ${name} by its labels instead ({"workload": {"namespace": …, "labels": {…}}}).`, [
        { pointer: `/${name}/pod`, message: 'no flow summary of the last 24 hours names this pod; give `workload` (namespace and labels) instead', rule: 'podHistory' },
      ]);
    }
    return { flow: { workload: seen.labels }, from: 'pod-history', pod, observedAt: seen.time };
  }

  /** The labels of the pod's endpoint in the newest summary of the last 24 h naming it, with that summary's time. */
  private async latestPodLabels(clusterId: string, pod: string): Promise<{ labels: string[]; time: string } | undefined> {
    const [namespace, podName] = pod.split('/') as [string, string];
    const now = this.deps.now();
    const window = { since: new Date(now.getTime() - POD_HISTORY_MS).toISOString(), until: now.toISOString() };
    const hours = hourBuckets(window);
    const withData = new Set((await this.deps.coverage.hours(clusterId, hours[0]!, hours.at(-1)!)).map((c) => c.hour));
    for (const hour of [...withData].filter((h) => h >= hourBucket(window.since)).sort().reverse()) {
      let before: string | undefined;
      for (;;) {
        const chunks = await this.deps.chunks.latest(`${clusterId}|${hour}`, window.since, window.until, CHUNKS_PER_READ, before);
        for (const chunk of chunks) {
          for (let i = chunk.summaries.length - 1; i >= 0; i--) {
            const s = chunk.summaries[i]!;
            const hit = [s.source, s.destination].find((e) => e.namespace === namespace && e.pod_name === podName);
            if (hit) return { labels: podLabelsOf(hit, namespace, clusterId), time: chunk.time };
          }
        }
        if (chunks.length < CHUNKS_PER_READ) break;
        before = chunks.at(-1)!.sk;
      }
    }
    return undefined;
  }

  private async degradedNodes(clusterId: string, policies: ReadonlySet<string>): Promise<FlowExplanation['degradedNodes']> {
    const nodes = await this.deps.nodes.all(clusterId);
    return nodes
      .flatMap(({ value }) => {
        const degraded = value.status?.conditions?.find((c) => c.type === 'Degraded' && c.status === 'True');
        const message = degraded?.message ?? '';
        return [...policies].some((p) => message.includes(`policy ${p} `)) ? [{ node: value.metadata.name, message }] : [];
      })
      .sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  }
}

function checkInput(request: FlowExplainRequest, protocol: Protocol): void {
  const errors = [];
  if ((protocol === 'ICMP' || protocol === 'ICMPv6') && request.port > 255) errors.push({ pointer: '/port', message: `is the ${protocol} message type for protocol ${protocol}: at most 255`, rule: 'maximum' });
  const families: number[] = [];
  for (const name of ['source', 'destination'] as const) {
    const ip = request[name].ip;
    if (ip === undefined) continue;
    if (isIP(ip) === 0) errors.push({ pointer: `/${name}/ip`, message: 'must be an IPv4 or IPv6 address', rule: 'format' });
    else families.push(isIP(ip));
  }
  if (families.length === 2 && families[0] !== families[1]) errors.push({ pointer: '/destination/ip', message: 'must be of the same IP family as the source', rule: 'ipFamily' });
  const icmpFamily = protocol === 'ICMP' ? 4 : protocol === 'ICMPv6' ? 6 : undefined;
  if (icmpFamily !== undefined && families.some((f) => f !== icmpFamily)) errors.push({ pointer: '/protocol', message: `${protocol} is IPv${icmpFamily} only; an ip side is IPv${icmpFamily === 4 ? 6 : 4}`, rule: 'ipFamily' });
  if (errors.length > 0) throw validationFailed(errors);
}

/** A pod's label set as flow history carries it; the namespace and this cluster's label are added when missing. */
function podLabelsOf(endpoint: FlowEndpoint, namespace: string, clusterId: string): string[] {
  const labels = (endpoint.labels ?? []).filter((l) => l.startsWith('k8s:'));
  if (!labels.some((l) => l.startsWith(`k8s:${POD_NAMESPACE_LABEL}=`))) labels.push(`k8s:${POD_NAMESPACE_LABEL}=${namespace}`);
  if (!labels.some((l) => l.startsWith(`k8s:${CLUSTER_LABEL}=`))) labels.push(`k8s:${CLUSTER_LABEL}=${clusterId}`);
  return labels;
}

function renderSide(resolved: ResolvedSide, side: Side): ExplainedSide {
  return {
    identity: resolved.identity,
    kind: resolved.kind,
    labels: resolved.labels,
    ...(resolved.cidr !== undefined ? { cidr: resolved.cidr } : {}),
    resolvedFrom: side.from,
    ...(side.pod !== undefined ? { pod: side.pod } : {}),
    ...(side.observedAt !== undefined ? { observedAt: side.observedAt } : {}),
  };
}

function renderHook(hook: Explanation['hooks'][number]): ExplainHook {
  const out: ExplainHook = { direction: hook.direction, verdict: hook.verdict, decidedBy: hook.by === 'row' ? 'rule' : hook.by };
  if (hook.rule) {
    const { policy, generation, pointer, verdict, mode } = hook.rule;
    out.rule = { policy, generation, pointer, verdict: verdict === 'deny' ? 'deny' : 'allow', mode };
  }
  if (hook.ports) out.ports = { protocol: hook.ports.protocol === 0 ? 'ANY' : (PROTOCOL_NAMES.get(hook.ports.protocol) ?? String(hook.ports.protocol)), first: hook.ports.first, last: hook.ports.last };
  if (hook.proxy) out.proxy = hook.proxy;
  return out;
}

function assumptions(request: FlowExplainRequest, source: Side, destination: Side): string[] {
  const env = WRITE_TIME_ENVIRONMENT;
  const out = [
    `Every node of the cluster is assumed to run the agent's DNS proxy (${env.dnsProxy ? 'yes' : 'no'}) and HTTP proxy (${env.httpProxy ? 'yes' : 'no'}) and ${env.kubeApiserverAddressed ? 'to know' : 'not to know'} the API server's addresses; a node that differs fails the affected rules closed and reports them in its Degraded condition.`,
  ];
  for (const [name, side, endpoint] of [['source', source, request.source], ['destination', destination, request.destination]] as const) {
    if (side.from === 'address') out.push(`The ${name} ${endpoint.ip} is resolved as an address outside the cluster (the longest CIDR prefix of the policies containing it, else world): the API has no pod or node inventory, so name a pod by \`pod\` or \`workload\` instead.`);
    if (side.from === 'entity' && unaddressedEntities(env).has(endpoint.entity!)) out.push(`No address of the ${name} entity ${endpoint.entity} is known to the agents in this environment, so no packet carries its identity: rules naming it fail closed (see unenforced), and a real flow to or from it is decided by its address.`);
    if (side.from === 'pod-history') out.push(`The labels of the ${name} pod ${side.pod} are those of its most recent flow summary, at ${side.observedAt}; labels changed since then are not seen.`);
  }
  if (request.localhostPolicy !== true) out.push('The node reaches its own pods regardless of policy (allow-localhost=always, Cilium\'s default).');
  return out;
}
