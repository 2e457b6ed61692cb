/**
 * Endpoints from the Kubernetes API (@kubernetes/client-node ListWatch: list, then watch from the
 * list's resourceVersion; a watch that ends is resumed from the last resourceVersion seen; 410 Gone —
 * as an HTTP status or an ERROR event — clears it so the next round relists; any other error
 * restarts the ListWatch after a full-jitter backoff):
 *   - local pods: /api/v1/pods?fieldSelector=spec.nodeName=<node> → LocalEndpoint (ifindex resolved
 *     from the pod's primary IP by the injected resolver; a pod whose veth is not routable yet is
 *     retried)
 *   - peers: every pod of the cluster (/api/v1/pods) → PeerEndpoint (addresses of both families)
 *   - namespaces: /api/v1/namespaces → namespace labels
 *   - nodes: /api/v1/nodes → ClusterNode (addresses → `host` for this node, `remote-node` for others)
 *   - kube-apiserver: /apis/discovery.k8s.io/v1/namespaces/default/endpointslices with
 *     labelSelector=kubernetes.io/service-name=kubernetes → addresses of ready endpoints
 * `onChange` is called (debounced) with each new complete snapshot (all five have listed).
 */
import {
  CoreV1Api,
  DiscoveryV1Api,
  KubeConfig,
  ListWatch,
  Watch,
  type KubernetesObject,
  type V1EndpointSlice,
  type V1Namespace,
  type V1Node,
  type V1Pod,
} from '@kubernetes/client-node';
import { backoffDelay } from '../sync/backoff.js';
import type { Logger } from '../sync/sync-loop.js';
import { isEndpointPod, kubeApiserverAddresses, namespaceLabelsOf, nodeToClusterNode, podToPeer } from './pod-endpoints.js';
import type { EndpointSnapshot, EndpointSource, IfindexResolver, LocalEndpoint } from './types.js';

/** The label EndpointSlices carry for their Service (`kubernetes` in `default` is the apiserver). */
export const KUBE_APISERVER_SERVICE_LABEL = 'kubernetes.io/service-name';

export interface KubeSourceOptions {
  kubeConfig: KubeConfig;
  nodeName: string;
  resolveIfindex: IfindexResolver;
  onChange?: (snapshot: EndpointSnapshot) => void;
  /** ms (default 200) */
  debounceMs?: number;
  /** retry of unresolved local pods, ms (default 2000) */
  resolveRetryMs?: number;
  log?: Logger;
}

/** Loads in-cluster config when running in a pod, else the kubeconfig file (or KUBECONFIG). */
export function loadKubeConfig(kubeconfigPath?: string): KubeConfig {
  const kc = new KubeConfig();
  if (kubeconfigPath) kc.loadFromFile(kubeconfigPath);
  else if (process.env['KUBERNETES_SERVICE_HOST']) kc.loadFromCluster();
  else kc.loadFromDefault();
  return kc;
}

interface Watched<T extends KubernetesObject> {
  name: string;
  lw: ListWatch<T>;
  synced: boolean;
  failures: number;
}

export class KubeEndpointSource implements EndpointSource {
  private readonly watches: Watched<KubernetesObject>[] = [];
  private readonly ifindexCache = new Map<string, number>(); // `${uid}/${ip}` → ifindex
  private current: EndpointSnapshot = { endpoints: [], peers: [], namespaceLabels: {}, nodes: [], kubeApiserver: [] };
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly restartTimers = new Set<NodeJS.Timeout>();
  private rebuilding: Promise<void> = Promise.resolve();
  private ready!: () => void;
  private readonly readyPromise = new Promise<void>((r) => (this.ready = r));
  private readonly log: Logger;

  constructor(private readonly options: KubeSourceOptions) {
    this.log = options.log ?? (() => undefined);
  }

  snapshot(): EndpointSnapshot {
    return this.current;
  }

  async start(): Promise<void> {
    const kc = this.options.kubeConfig;
    const core = kc.makeApiClient(CoreV1Api);
    const discovery = kc.makeApiClient(DiscoveryV1Api);
    const watch = new Watch(kc);
    const fieldSelector = `spec.nodeName=${this.options.nodeName}`;
    this.add<V1Pod>('local-pods', new ListWatch<V1Pod>('/api/v1/pods', watch, () => core.listPodForAllNamespaces({ fieldSelector }), false, undefined, fieldSelector));
    this.add<V1Pod>('pods', new ListWatch<V1Pod>('/api/v1/pods', watch, () => core.listPodForAllNamespaces(), false));
    this.add<V1Namespace>('namespaces', new ListWatch<V1Namespace>('/api/v1/namespaces', watch, () => core.listNamespace(), false));
    this.add<V1Node>('nodes', new ListWatch<V1Node>('/api/v1/nodes', watch, () => core.listNode(), false));
    const labelSelector = `${KUBE_APISERVER_SERVICE_LABEL}=kubernetes`;
    this.add<V1EndpointSlice>(
      'kube-apiserver',
      new ListWatch<V1EndpointSlice>(
        '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices',
        watch,
        () => discovery.listNamespacedEndpointSlice({ namespace: 'default', labelSelector }),
        false,
        labelSelector,
      ),
    );
    for (const w of this.watches) void this.startWatch(w);
    await this.readyPromise;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.retryTimer);
    for (const t of this.restartTimers) clearTimeout(t);
    for (const w of this.watches) await w.lw.stop();
  }

  /** Rebuilds the snapshot now (tests; also used by the debounce). */
  async rebuild(): Promise<EndpointSnapshot> {
    const run = async () => {
      const [localW, podsW, nsW, nodesW, apiW] = this.watches as [Watched<V1Pod>, Watched<V1Pod>, Watched<V1Namespace>, Watched<V1Node>, Watched<V1EndpointSlice>];
      const endpoints: LocalEndpoint[] = [];
      let unresolved = 0;
      for (const pod of localW.lw.list()) {
        if (!isEndpointPod(pod) || pod.spec?.nodeName !== this.options.nodeName) continue;
        const peer = podToPeer(pod)!;
        const key = `${pod.metadata?.uid ?? peer.podName}/${peer.ip}`;
        let ifindex = this.ifindexCache.get(key);
        if (ifindex === undefined) {
          ifindex = await this.options.resolveIfindex(peer.ip);
          if (ifindex === undefined) {
            unresolved += 1;
            continue;
          }
          this.ifindexCache.set(key, ifindex);
        }
        const { nodeName: _n, ...rest } = peer;
        endpoints.push({ ifindex, ...rest });
      }
      const peers = podsW.lw.list().map(podToPeer).filter((p) => p !== undefined);
      endpoints.sort((a, b) => a.ifindex - b.ifindex);
      peers.sort((a, b) => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0));
      const nodes = nodesW.lw.list().map((n) => nodeToClusterNode(n, this.options.nodeName)).filter((n) => n !== undefined);
      nodes.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      this.current = { endpoints, peers, namespaceLabels: namespaceLabelsOf(nsW.lw.list()), nodes, kubeApiserver: kubeApiserverAddresses(apiW.lw.list()) };
      if (unresolved > 0 && !this.stopped) {
        clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => this.schedule(), this.options.resolveRetryMs ?? 2000);
      }
    };
    this.rebuilding = this.rebuilding.then(run, run);
    await this.rebuilding;
    return this.current;
  }

  private add<T extends KubernetesObject>(name: string, lw: ListWatch<T>): void {
    const w: Watched<T> = { name, lw, synced: false, failures: 0 };
    lw.on('add', () => this.changed(w));
    lw.on('update', () => this.changed(w));
    lw.on('delete', () => this.changed(w));
    lw.on('error', (err: unknown) => {
      if (this.stopped) return;
      const delay = backoffDelay(w.failures++, { baseMs: 500, maxMs: 30_000 });
      this.log('warn', `kubernetes ${name} list/watch failed; restarting`, { error: (err as Error)?.message ?? String(err), retryInMs: delay });
      const t = setTimeout(() => {
        this.restartTimers.delete(t);
        if (!this.stopped) void this.startWatch(w);
      }, delay);
      this.restartTimers.add(t);
    });
    this.watches.push(w as unknown as Watched<KubernetesObject>);
  }

  private async startWatch(w: Watched<KubernetesObject>): Promise<void> {
    try {
      await w.lw.start();
      w.failures = 0;
    } catch {
      /* reported through the error callback */
    }
    if (!w.synced && w.lw.latestResourceVersion() !== '') {
      w.synced = true;
      this.changed(w);
    }
  }

  private changed(w: Watched<KubernetesObject>): void {
    if (!w.synced) return; // the initial list is reported once, when complete
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped || !this.watches.every((x) => x.synced)) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      void this.rebuild().then(
        (s) => {
          this.ready();
          this.options.onChange?.(s);
        },
        (e: unknown) => this.log('error', 'endpoint snapshot failed', { error: (e as Error).message }),
      );
    }, this.options.debounceMs ?? 200);
  }
}
