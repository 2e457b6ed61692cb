/**
 * Endpoints from a file, for nodes without Kubernetes (tests, the demo). JSON or YAML (by content):
 *   endpoints: [{ podName, namespace, labels, ip, serviceAccount?, workload?, ifindex? }]   # this node's pods
 *   peers:     [{ podName, namespace, labels, ip, serviceAccount?, nodeName?, workload? }] # other pods (optional)
 *   namespaceLabels: { <namespace>: { key: value } }                                     # optional
 *   nodes:     [{ name, ips: [a.b.c.d], local? }]   # optional: node addresses → host / remote-node
 * A local endpoint without `ifindex` is resolved from its IP by the injected resolver. Local
 * endpoints are peers too (added to `peers` when missing). The file is re-read when it changes
 * (polled, `pollMs`), and `onChange` gets the new snapshot.
 */
import { watchFile, unwatchFile } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import type { Logger } from '../sync/sync-loop.js';
import type { ClusterNode, EndpointSnapshot, EndpointSource, IfindexResolver, LocalEndpoint, PeerEndpoint } from './types.js';

export interface StaticEndpointsFile {
  endpoints?: (Omit<LocalEndpoint, 'ifindex'> & { ifindex?: number })[];
  peers?: PeerEndpoint[];
  namespaceLabels?: Record<string, Record<string, string>>;
  nodes?: ClusterNode[];
}

export async function readEndpointsFile(path: string, resolve?: IfindexResolver): Promise<EndpointSnapshot> {
  const text = await readFile(path, 'utf8');
  const doc = (parseYaml(text) ?? {}) as StaticEndpointsFile; // YAML is a superset of JSON
  const endpoints: LocalEndpoint[] = [];
  for (const e of doc.endpoints ?? []) {
    if (!e.podName || !e.namespace || !e.ip) throw new Error(`${path}: every endpoint needs podName, namespace and ip`);
    const ifindex = e.ifindex ?? (resolve ? await resolve(e.ip) : undefined);
    if (ifindex === undefined) throw new Error(`${path}: no ifindex for ${e.namespace}/${e.podName} (${e.ip})`);
    endpoints.push({ ...e, labels: { ...(e.labels ?? {}) }, ifindex });
  }
  const peers: PeerEndpoint[] = (doc.peers ?? []).map((p) => ({ ...p, labels: { ...(p.labels ?? {}) } }));
  for (const e of endpoints) {
    if (!peers.some((p) => p.ip === e.ip)) {
      const { ifindex: _i, ...peer } = e;
      peers.push(peer);
    }
  }
  endpoints.sort((a, b) => a.ifindex - b.ifindex);
  peers.sort((a, b) => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0));
  return { endpoints, peers, namespaceLabels: doc.namespaceLabels ?? {}, nodes: (doc.nodes ?? []).map((n) => ({ ...n, ips: [...(n.ips ?? [])] })) };
}

export class StaticEndpointSource implements EndpointSource {
  private current: EndpointSnapshot = { endpoints: [], peers: [], namespaceLabels: {}, nodes: [] };
  private listener: (() => void) | undefined;

  constructor(
    private readonly options: { path: string; resolveIfindex?: IfindexResolver; onChange?: (s: EndpointSnapshot) => void; pollMs?: number; log?: Logger },
  ) {}

  snapshot(): EndpointSnapshot {
    return this.current;
  }

  async start(): Promise<void> {
    this.current = await readEndpointsFile(this.options.path, this.options.resolveIfindex);
    this.listener = () => {
      readEndpointsFile(this.options.path, this.options.resolveIfindex).then(
        (s) => {
          this.current = s;
          this.options.onChange?.(s);
        },
        (e: unknown) => this.options.log?.('warn', 'endpoints file unreadable; keeping the previous endpoints', { error: (e as Error).message }),
      );
    };
    watchFile(this.options.path, { interval: this.options.pollMs ?? 1000 }, this.listener);
  }

  async stop(): Promise<void> {
    if (this.listener) unwatchFile(this.options.path, this.listener);
  }
}
