/**
 * Endpoints from a file, for nodes without Kubernetes (tests, the demo). JSON or YAML (by content):
 *   endpoints: [{ podName, namespace, labels, ip?, ips?, serviceAccount?, workload?, ifindex? }]  # this node's pods
 *   peers:     [{ podName, namespace, labels, ip?, ips?, serviceAccount?, nodeName?, workload? }] # other pods (optional)
 *   namespaceLabels: { <namespace>: { key: value } }                                            # optional
 *   nodes:     [{ name, ips: [10.0.0.4, fd00::4], local? }]  # optional: node addresses → host / remote-node
 *   kubeApiserver: [10.0.0.1, fd00::1]                        # optional: addresses of the kube-apiserver
 * Addresses are IPv4 or IPv6. A pod needs `ip` (its primary address) or `ips` (every address, both
 * families) or both; without `ip` the primary is the first IPv4 address of `ips`, else the first.
 * A local endpoint without `ifindex` is resolved from its primary IP by the injected resolver. Local
 * endpoints are peers too (added to `peers` when missing). The file is re-read when it changes
 * (polled, `pollMs`), and `onChange` gets the new snapshot; an invalid file keeps the previous one.
 */
import { watchFile, unwatchFile } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import type { Logger } from '../sync/sync-loop.js';
import { addressFamily } from './pod-endpoints.js';
import type { ClusterNode, EndpointSnapshot, EndpointSource, IfindexResolver, LocalEndpoint, PeerEndpoint } from './types.js';

type FilePod<T extends { ip: string }> = Omit<T, 'ip'> & { ip?: string };

export interface StaticEndpointsFile {
  endpoints?: (FilePod<Omit<LocalEndpoint, 'ifindex'>> & { ifindex?: number })[];
  peers?: FilePod<PeerEndpoint>[];
  namespaceLabels?: Record<string, Record<string, string>>;
  nodes?: ClusterNode[];
  kubeApiserver?: string[];
}

const EMPTY: EndpointSnapshot = { endpoints: [], peers: [], namespaceLabels: {}, nodes: [], kubeApiserver: [] };

function checkAddresses(path: string, what: string, addresses: readonly unknown[]): string[] {
  for (const a of addresses) {
    if (typeof a !== 'string' || addressFamily(a) === undefined) throw new Error(`${path}: ${what}: ${JSON.stringify(a)} is not an IPv4 or IPv6 address`);
  }
  return addresses as string[];
}

/** A pod entry with its primary `ip` filled in (and `ips` checked). */
function podOf<T extends { ip?: string; ips?: string[]; podName?: string; namespace?: string; labels?: Record<string, string> }>(path: string, kind: string, p: T): T & { ip: string } {
  if (!p.podName || !p.namespace) throw new Error(`${path}: every ${kind} needs podName and namespace`);
  const what = `${kind} ${p.namespace}/${p.podName}`;
  if (p.ips !== undefined && !Array.isArray(p.ips)) throw new Error(`${path}: ${what}: ips must be a list of addresses`);
  const ips = checkAddresses(path, what, p.ips ?? []);
  if (p.ip !== undefined) checkAddresses(path, what, [p.ip]);
  const ip = p.ip ?? ips.find((a) => addressFamily(a) === 4) ?? ips[0];
  if (ip === undefined) throw new Error(`${path}: ${what} needs ip or ips`);
  return { ...p, ip, labels: { ...(p.labels ?? {}) } };
}

export async function readEndpointsFile(path: string, resolve?: IfindexResolver): Promise<EndpointSnapshot> {
  const text = await readFile(path, 'utf8');
  const doc = (parseYaml(text) ?? {}) as StaticEndpointsFile; // YAML is a superset of JSON
  const endpoints: LocalEndpoint[] = [];
  for (const raw of doc.endpoints ?? []) {
    const e = podOf(path, 'endpoint', raw);
    const ifindex = e.ifindex ?? (resolve ? await resolve(e.ip) : undefined);
    if (ifindex === undefined) throw new Error(`${path}: no ifindex for ${e.namespace}/${e.podName} (${e.ip})`);
    endpoints.push({ ...e, ifindex });
  }
  const peers: PeerEndpoint[] = (doc.peers ?? []).map((p) => podOf(path, 'peer', p));
  for (const e of endpoints) {
    if (!peers.some((p) => p.ip === e.ip)) {
      const { ifindex: _i, ...peer } = e;
      peers.push(peer);
    }
  }
  endpoints.sort((a, b) => a.ifindex - b.ifindex);
  peers.sort((a, b) => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0));
  const nodes = (doc.nodes ?? []).map((n) => ({ ...n, ips: checkAddresses(path, `node ${n.name}`, [...(n.ips ?? [])]) }));
  const kubeApiserver = checkAddresses(path, 'kubeApiserver', [...(doc.kubeApiserver ?? [])]);
  return { endpoints, peers, namespaceLabels: doc.namespaceLabels ?? {}, nodes, kubeApiserver };
}

export class StaticEndpointSource implements EndpointSource {
  private current: EndpointSnapshot = EMPTY;
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
