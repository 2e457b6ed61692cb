/**
 * A local HTTP server that speaks the Kubernetes list/watch protocol for pods, namespaces, nodes and
 * EndpointSlices, as the API server does:
 *   GET /api/v1/pods[?fieldSelector=spec.nodeName=X]          → PodList {metadata.resourceVersion, items}
 *   GET /api/v1/namespaces, /api/v1/nodes                      → NamespaceList, NodeList
 *   GET /apis/discovery.k8s.io/v1[/namespaces/NS]/endpointslices[?labelSelector=k=v,…]
 *                                                              → EndpointSliceList (discovery.k8s.io/v1)
 *   GET …?watch=true&resourceVersion=N[&fieldSelector=…][&labelSelector=…] → 200, newline-delimited
 *       {"type":"ADDED|MODIFIED|DELETED","object":…} for every change after N, then live changes;
 *       N older than the retained history → {"type":"ERROR","object":{kind:Status,code:410,reason:Expired}}
 *       and the stream ends (what a real API server does after compaction); `staleAsHttp410` makes it
 *       answer HTTP 410 instead.
 * Label selectors: equality-based (`k=v`, `k==v`, `k!=v`) and existence (`k`, `!k`), comma = AND.
 * List items carry no kind/apiVersion; watch objects do (as the API server sends them).
 * Objects are stored as given (real Pod/Namespace/Node/EndpointSlice JSON); resourceVersion is
 * assigned per write.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

type Obj = {
  kind?: string;
  apiVersion?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string>; [k: string]: unknown };
  spec?: { nodeName?: string; [k: string]: unknown };
  [k: string]: unknown;
};
type Resource = 'pods' | 'namespaces' | 'nodes' | 'endpointslices';
interface Event {
  rv: number;
  resource: Resource;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: Obj;
}
interface Filter {
  resource: Resource;
  nodeName?: string;
  namespace?: string;
  labelSelector?: string;
}
interface WatchConn extends Filter {
  res: ServerResponse;
}

export interface FakeKubeApi {
  url: string;
  requests: string[];
  upsert(resource: Resource, object: Obj): void;
  remove(resource: Resource, namespace: string | undefined, name: string): void;
  /** forget history up to now: watches from an older resourceVersion get 410 */
  compact(): void;
  /** end every open watch stream (clients must reconnect) */
  closeWatches(): void;
  staleAsHttp410: boolean;
  openWatches(): number;
  close(): Promise<void>;
}

const KIND: Record<Resource, [string, string, string]> = {
  pods: ['Pod', 'PodList', 'v1'],
  namespaces: ['Namespace', 'NamespaceList', 'v1'],
  nodes: ['Node', 'NodeList', 'v1'],
  endpointslices: ['EndpointSlice', 'EndpointSliceList', 'discovery.k8s.io/v1'],
};
const keyOf = (o: Obj) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

export async function startFakeKubeApi(): Promise<FakeKubeApi> {
  let rv = 1000;
  let compactedAt = 0;
  const store: Record<Resource, Map<string, Obj>> = { pods: new Map(), namespaces: new Map(), nodes: new Map(), endpointslices: new Map() };
  const history: Event[] = [];
  const watches = new Set<WatchConn>();
  const sockets = new Set<Socket>();
  const requests: string[] = [];
  const api = { staleAsHttp410: false } as FakeKubeApi;

  const selects = (selector: string | undefined, labels: Record<string, string> = {}): boolean =>
    (selector ?? '')
      .split(',')
      .map((t) => t.trim())
      .filter((t) => t !== '')
      .every((t) => {
        const ne = /^([^!=]+)!=(.*)$/.exec(t);
        if (ne) return labels[ne[1]!.trim()] !== ne[2]!.trim();
        const eq = /^([^!=]+)==?(.*)$/.exec(t);
        if (eq) return labels[eq[1]!.trim()] === eq[2]!.trim();
        return t.startsWith('!') ? !(t.slice(1) in labels) : t in labels;
      });
  const filterMatches = (c: Filter, o: Obj) =>
    (c.nodeName === undefined || o.spec?.nodeName === c.nodeName) &&
    (c.namespace === undefined || o.metadata.namespace === c.namespace) &&
    selects(c.labelSelector, o.metadata.labels);
  const matches = (c: Filter, e: Event) => e.resource === c.resource && filterMatches(c, e.object);
  const send = (res: ServerResponse, type: string, object: unknown) => res.write(`${JSON.stringify({ type, object })}\n`);
  const emit = (e: Event) => {
    history.push(e);
    for (const w of watches) if (matches(w, e)) send(w.res, e.type, e.object);
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    requests.push(`${req.method} ${req.url}`);
    const url = new URL(req.url ?? '/', 'http://x');
    const core = /^\/api\/v1\/(pods|namespaces|nodes)$/.exec(url.pathname);
    const discovery = /^\/apis\/discovery\.k8s\.io\/v1(?:\/namespaces\/([^/]+))?\/endpointslices$/.exec(url.pathname);
    if (!core && !discovery) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 404, reason: 'NotFound' }));
      return;
    }
    const resource = (core ? core[1] : 'endpointslices') as Resource;
    const fs = url.searchParams.get('fieldSelector');
    const nodeName = fs?.startsWith('spec.nodeName=') ? fs.slice('spec.nodeName='.length) : undefined;
    const namespace = discovery?.[1];
    const labelSelector = url.searchParams.get('labelSelector') ?? undefined;
    const filter: Filter = {
      resource,
      ...(nodeName === undefined ? {} : { nodeName }),
      ...(namespace === undefined ? {} : { namespace }),
      ...(labelSelector === undefined ? {} : { labelSelector }),
    };
    if (url.searchParams.get('watch') === 'true') {
      const from = Number(url.searchParams.get('resourceVersion') || '0');
      if (from < compactedAt) {
        const status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `too old resource version: ${from} (${compactedAt})`, reason: 'Expired', code: 410 };
        if (api.staleAsHttp410) {
          res.writeHead(410, { 'content-type': 'application/json' }).end(JSON.stringify(status));
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        send(res, 'ERROR', status);
        res.end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      res.flushHeaders();
      const conn: WatchConn = { ...filter, res };
      for (const e of history) if (e.rv > from && matches(conn, e)) send(res, e.type, e.object);
      watches.add(conn);
      res.on('close', () => watches.delete(conn));
      return;
    }
    const items = [...store[resource].values()].filter((o) => filterMatches(filter, o));
    const list = {
      kind: KIND[resource][1],
      apiVersion: KIND[resource][2],
      metadata: { resourceVersion: String(rv) },
      items: items.map(({ kind: _k, apiVersion: _a, ...rest }) => rest), // list items carry no kind/apiVersion
    };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(list));
  };

  const server = createServer(handle);
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;

  return Object.assign(api, {
    url: `http://127.0.0.1:${port}`,
    requests,
    upsert(resource: Resource, object: Obj) {
      const o = structuredClone(object);
      o.kind = KIND[resource][0];
      o.apiVersion = KIND[resource][2];
      o.metadata.resourceVersion = String(++rv);
      const existed = store[resource].has(keyOf(o));
      store[resource].set(keyOf(o), o);
      emit({ rv, resource, type: existed ? 'MODIFIED' : 'ADDED', object: o });
    },
    remove(resource: Resource, namespace: string | undefined, name: string) {
      const k = `${namespace ?? ''}/${name}`;
      const o = store[resource].get(k);
      if (!o) return;
      store[resource].delete(k);
      const gone = structuredClone(o);
      gone.metadata.resourceVersion = String(++rv);
      emit({ rv, resource, type: 'DELETED', object: gone });
    },
    compact() {
      compactedAt = rv + 1;
      history.length = 0;
    },
    closeWatches() {
      for (const w of watches) w.res.end();
      watches.clear();
    },
    openWatches: () => watches.size,
    async close() {
      for (const w of watches) w.res.destroy();
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  });
}

/** A Pod as the API server returns it (trimmed managedFields), scheduled and running. `ip` is
 *  status.podIP; `ips` (default [ip]) status.podIPs — a dual-stack pod lists both families. */
export function realPod(p: { name: string; namespace: string; node: string; ip: string; ips?: string[]; labels?: Record<string, string>; serviceAccount?: string; deployment?: string; hostNetwork?: boolean; phase?: string; uid?: string }): Obj {
  const hash = '7d9f8b6c5d';
  const labels = { ...(p.labels ?? {}), ...(p.deployment ? { 'pod-template-hash': hash } : {}) };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: p.name,
      namespace: p.namespace,
      uid: p.uid ?? `uid-${p.namespace}-${p.name}`,
      creationTimestamp: '2026-01-01T00:00:00Z',
      labels,
      ...(p.deployment
        ? { generateName: `${p.deployment}-${hash}-`, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${p.deployment}-${hash}`, uid: `rs-${p.deployment}`, controller: true, blockOwnerDeletion: true }] }
        : {}),
    },
    spec: {
      volumes: [{ name: 'kube-api-access-abcde', projected: { sources: [{ serviceAccountToken: { expirationSeconds: 3607, path: 'token' } }], defaultMode: 420 } }],
      containers: [{ name: 'app', image: 'nginx:1.27', ports: [{ containerPort: 8080, protocol: 'TCP' }], resources: {}, terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File', imagePullPolicy: 'IfNotPresent' }],
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      serviceAccountName: p.serviceAccount ?? 'default',
      serviceAccount: p.serviceAccount ?? 'default',
      nodeName: p.node,
      ...(p.hostNetwork ? { hostNetwork: true } : {}),
      securityContext: {},
      schedulerName: 'default-scheduler',
      tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }],
      priority: 0,
      enableServiceLinks: true,
      preemptionPolicy: 'PreemptLowerPriority',
    },
    status: {
      phase: p.phase ?? 'Running',
      conditions: [{ type: 'Ready', status: 'True', lastProbeTime: null, lastTransitionTime: '2026-01-01T00:00:05Z' }],
      hostIP: '10.224.0.4',
      hostIPs: [{ ip: '10.224.0.4' }],
      podIP: p.ip,
      podIPs: (p.ips ?? [p.ip]).map((ip) => ({ ip })),
      startTime: '2026-01-01T00:00:00Z',
      containerStatuses: [{ name: 'app', state: { running: { startedAt: '2026-01-01T00:00:04Z' } }, lastState: {}, ready: true, restartCount: 0, image: 'docker.io/library/nginx:1.27', imageID: 'docker.io/library/nginx@sha256:0000', containerID: 'containerd://abc', started: true }],
      qosClass: 'BestEffort',
    },
  };
}

/** A Node as the API server returns it (trimmed); several InternalIPs for a dual-stack node, and
 *  optional ExternalIPs. */
export function realNode(name: string, internalIp: string | string[], externalIps: string[] = []): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, uid: `node-${name}`, creationTimestamp: '2026-01-01T00:00:00Z', labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'topology.kubernetes.io/zone': 'eastus-1' } },
    spec: { podCIDR: '10.244.0.0/24', podCIDRs: ['10.244.0.0/24'], providerID: `azure:///subscriptions/x/resourceGroups/mc/providers/Microsoft.Compute/virtualMachineScaleSets/aks/virtualMachines/${name}` },
    status: {
      addresses: [
        ...(Array.isArray(internalIp) ? internalIp : [internalIp]).map((address) => ({ type: 'InternalIP', address })),
        ...externalIps.map((address) => ({ type: 'ExternalIP', address })),
        { type: 'Hostname', address: name },
      ],
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: '2026-01-01T00:00:00Z', lastTransitionTime: '2026-01-01T00:00:00Z' }],
      nodeInfo: { kernelVersion: '6.18.0', kubeletVersion: 'v1.33.2', osImage: 'Ubuntu 24.04 LTS', containerRuntimeVersion: 'containerd://2.0.5', architecture: 'amd64', operatingSystem: 'linux', bootID: 'b', machineID: 'm', systemUUID: 's' },
    },
  };
}

export function realNamespace(name: string, labels: Record<string, string> = {}): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, uid: `ns-${name}`, creationTimestamp: '2026-01-01T00:00:00Z', labels: { 'kubernetes.io/metadata.name': name, ...labels } },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  };
}

/** The `default/kubernetes` EndpointSlice as the API server writes it for its own Service (one per
 *  address family); `ready: false` marks an endpoint not ready. Other names/labels for other slices. */
export function realEndpointSlice(p: {
  name?: string;
  namespace?: string;
  service?: string;
  addressType: 'IPv4' | 'IPv6' | 'FQDN';
  endpoints: Array<{ addresses: string[]; ready?: boolean }>;
}): Obj {
  const service = p.service ?? 'kubernetes';
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: p.name ?? service,
      namespace: p.namespace ?? 'default',
      uid: `eps-${p.name ?? service}`,
      generation: 1,
      creationTimestamp: '2026-01-01T00:00:00Z',
      labels: { 'kubernetes.io/service-name': service },
    },
    addressType: p.addressType,
    endpoints: p.endpoints.map((e) => ({ addresses: e.addresses, conditions: { ready: e.ready ?? true } })),
    ports: [{ name: 'https', protocol: 'TCP', port: 6443 }],
  };
}
