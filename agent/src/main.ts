/**
 * `npm run agent -- …`: the fleetnet node agent.
 *
 *   npm run agent -- --api http://localhost:7071/api --cluster prod-east --node node-1 \
 *     --token-file /var/run/fleetnet/token | --workload-identity [--scope api://<app>/.default] \
 *     --pin-dir /sys/fs/bpf/fleetnet/node-1 --state-dir /var/lib/fleetnet \
 *     --endpoints-file endpoints.yaml | --kubeconfig ~/.kube/config | --in-cluster \
 *     [--netns /run/netns/<node-ns>] [--poll-interval 5s] [--flow-interval 10s] \
 *     [--allow-localhost always|policy] [--host-routing stack|bpf] [--ct-timeout-syn 60] [--ct-timeout-established 21600] \
 *     [--ct-timeout-closing 10] [--ct-timeout-other 60] \
 *     [--no-dns-proxy] [--dns-proxy-address <ip>]… [--dns-proxy-port 0] [--fqdn-min-ttl 60] \
 *     [--no-http-proxy] [--http-proxy-port 0] [--encryption-evidence-interval 60s]
 *
 * Logs are JSON lines on stderr; tokens are never logged. SIGTERM/SIGINT stop the loops and exit,
 * leaving maps, programs and links pinned: enforcement continues until the next agent takes over.
 */
import { isIP } from 'node:net';
import { release } from 'node:os';
import { pathToFileURL } from 'node:url';
import { existsSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { AgentRuntime, DEFAULT_ENCRYPTION_EVIDENCE_INTERVAL_MS } from './agent-runtime.js';
import { readEncryptionEvidence } from './encryption-evidence/read-encryption-evidence.js';
import { applyCompiledState, type ApplyReport } from './apply/index.js';
import { compileBundle, type CompiledState } from './compile/index.js';
import { routeIfindexResolver } from './identity/ifindex-resolver.js';
import { KubeEndpointSource, loadKubeConfig } from './identity/kube-source.js';
import { StaticEndpointSource } from './identity/static-source.js';
import type { EndpointSource } from './identity/types.js';
import { Datapath, type ConntrackTimeouts, type DatapathOptions } from './kernel/datapath.js';
import { loadNativeBinding } from './kernel/native-binding.js';
import { DnsService, upstreamSockets } from './dns-service/dns-service.js';
import { liveConnectionDestinations } from './dns-service/live-connections.js';
import { DEFAULT_FQDN_LIMITS } from './fqdn/fqdn-cache.js';
import { installProxyRoute } from './kernel/proxy-route.js';
import { proxySockets } from './proxy-sockets.js';
import { HttpService } from './http-service/http-service.js';
import { createApiClient } from './sync/api-client.js';
import type { Logger } from './sync/sync-loop.js';
import { fileTokenProvider, workloadIdentityTokenProvider, type TokenProvider } from './sync/token-provider.js';

export const AGENT_VERSION = '0.1.0';

/** "5s", "500ms", "2m", "1h" or a bare number of seconds → ms. */
export function parseDuration(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError('expected a duration like 500ms, 5s, 2m.');
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  const ms = unit === 'ms' ? n : unit === 's' ? n * 1000 : unit === 'm' ? n * 60_000 : n * 3_600_000;
  if (ms <= 0) throw new InvalidArgumentError('must be positive.');
  return ms;
}

/** Largest conntrack timeout the kernel config holds: u32 milliseconds (≈ 49.7 days). */
const MAX_CT_TIMEOUT_MS = 0xffffffff;

/** A conntrack timeout in seconds ("10", "0.5", "21600") → integer ms in [1, 2^32 − 1]. */
export function parseTimeoutSeconds(value: string): number {
  const text = value.trim();
  const ms = /^\d+(\.\d+)?$/.test(text) ? Math.round(Number(text) * 1000) : NaN;
  if (!Number.isFinite(ms) || ms < 1 || ms > MAX_CT_TIMEOUT_MS) {
    throw new InvalidArgumentError(`expected a number of seconds from 0.001 to ${MAX_CT_TIMEOUT_MS / 1000} (fractions allowed, no unit), e.g. 10 or 0.5.`);
  }
  return ms;
}

export const jsonLogger: Logger = (level, message, fields) => {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg: message, ...fields })}\n`);
};

interface AgentCliOptions {
  api: string;
  cluster: string;
  node: string;
  tokenFile?: string;
  workloadIdentity?: boolean;
  scope?: string;
  pinDir: string;
  stateDir: string;
  endpointsFile?: string;
  kubeconfig?: string;
  inCluster?: boolean;
  netns?: string;
  pollInterval: number;
  flowInterval: number;
  spoolMaxBytes: number;
  attachMode: 'auto' | 'tcx' | 'tc';
  allowLocalhost: 'always' | 'policy';
  hostRouting: 'stack' | 'bpf';
  /** ms (parsed from seconds) */
  ctTimeoutSyn?: number;
  ctTimeoutEstablished?: number;
  ctTimeoutClosing?: number;
  ctTimeoutOther?: number;
  /** false with --no-dns-proxy */
  dnsProxy: boolean;
  dnsProxyAddress?: string[];
  dnsProxyPort: number;
  /** seconds */
  fqdnMinTtl: number;
  /** false with --no-http-proxy */
  httpProxy: boolean;
  httpProxyPort: number;
  /** ms between two reads of the node's encryption evidence */
  encryptionEvidenceInterval: number;
}

/** The DNS proxy's node addresses: the ones given (one per family), else the first IPv4 and IPv6
 *  address of the local node in the endpoint source. */
export function dnsProxyAddresses(given: readonly string[] | undefined, nodes: readonly { ips: string[]; local?: boolean }[]): { ipv4?: string; ipv6?: string } {
  const candidates = given && given.length > 0 ? given : (nodes.find((n) => n.local)?.ips ?? []);
  const ipv4 = candidates.find((a) => isIP(a) === 4);
  const ipv6 = candidates.find((a) => isIP(a) === 6);
  return { ...(ipv4 ? { ipv4 } : {}), ...(ipv6 ? { ipv6 } : {}) };
}

/** An IP address given on the command line (one of --dns-proxy-address). */
function parseAddress(value: string, previous: string[] | undefined): string[] {
  if (isIP(value) === 0) throw new InvalidArgumentError('expected an IPv4 or IPv6 address.');
  return [...(previous ?? []), value];
}

/** A port: 0..65535 (0 = any free port). */
function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port from 0 to 65535 (0: any free port).');
  return n;
}

/** The Datapath's options from the CLI's: only the conntrack timeouts given are passed (the others
 *  keep the kernel's defaults, Cilium's). */
export function datapathOptionsOf(o: Pick<AgentCliOptions, 'pinDir' | 'attachMode' | 'netns' | 'allowLocalhost' | 'hostRouting' | 'ctTimeoutSyn' | 'ctTimeoutEstablished' | 'ctTimeoutClosing' | 'ctTimeoutOther'>): DatapathOptions {
  const timeouts: ConntrackTimeouts = {
    ...(o.ctTimeoutSyn !== undefined ? { synMs: o.ctTimeoutSyn } : {}),
    ...(o.ctTimeoutEstablished !== undefined ? { establishedMs: o.ctTimeoutEstablished } : {}),
    ...(o.ctTimeoutClosing !== undefined ? { closingMs: o.ctTimeoutClosing } : {}),
    ...(o.ctTimeoutOther !== undefined ? { otherMs: o.ctTimeoutOther } : {}),
  };
  return {
    pinDir: o.pinDir,
    attachMode: o.attachMode,
    allowLocalhost: o.allowLocalhost,
    hostRouting: o.hostRouting,
    ...(o.netns ? { netnsPath: o.netns } : {}),
    ...(Object.keys(timeouts).length > 0 ? { conntrackTimeouts: timeouts } : {}),
  };
}

/** applyCompiledState with `reattach` on the first successful apply after load(): pinned links of a
 *  previous agent are switched to this process's freshly loaded programs. */
export function applyWithReattachOnce(): (dp: Datapath, compiled: CompiledState) => ApplyReport {
  let first = true;
  return (dp, compiled) => {
    const report = applyCompiledState(dp, compiled, { reattach: first });
    first = false;
    return report;
  };
}

export async function runAgent(o: AgentCliOptions, log: Logger = jsonLogger): Promise<AgentRuntime<Datapath>> {
  const token: TokenProvider = o.tokenFile
    ? fileTokenProvider(o.tokenFile)
    : workloadIdentityTokenProvider({ scope: o.scope ?? process.env['FLEETNET_API_SCOPE'] ?? 'api://fleetnet/.default' });
  const client = createApiClient({ baseUrl: o.api, clusterId: o.cluster, nodeName: o.node, token });

  const dpOptions = datapathOptionsOf(o);
  const datapath = new Datapath(dpOptions);
  const load = datapath.load();
  log('info', 'datapath loaded', {
    pinDir: o.pinDir,
    loadMs: Math.round(load.loadMs),
    reusedMaps: load.reusedMaps.length,
    allowLocalhost: o.allowLocalhost,
    hostRouting: o.hostRouting,
    ...(dpOptions.conntrackTimeouts ? { conntrackTimeoutsMs: dpOptions.conntrackTimeouts } : {}),
  });

  let runtime: AgentRuntime<Datapath> | undefined;
  const onChange = () => runtime?.endpointsChanged();
  const resolveIfindex = routeIfindexResolver(o.netns ? { netnsPath: o.netns } : {});
  const source: EndpointSource = o.endpointsFile
    ? new StaticEndpointSource({ path: o.endpointsFile, resolveIfindex, onChange, log })
    : new KubeEndpointSource({ kubeConfig: loadKubeConfig(o.inCluster ? undefined : o.kubeconfig), nodeName: o.node, resolveIfindex, onChange, log });

  // installed once, by whichever proxy service starts first (both need it)
  let routeInstalled: Promise<void> | undefined;
  const proxyRoute = (): Promise<void> => (routeInstalled ??= installProxyRoute(o.netns));
  const dns = o.dnsProxy ? dnsServiceOf(o, datapath, source, () => runtime?.sync.reprogram() ?? Promise.resolve(), proxyRoute, log) : undefined;
  const http = o.httpProxy
    ? new HttpService({
        datapath,
        sockets: proxySockets(loadNativeBinding(), o.netns),
        proxyRoute,
        onDegradedChange: () => runtime?.sync.statusChanged(),
        addresses: () => dnsProxyAddresses(o.dnsProxyAddress, source.snapshot().nodes),
        port: o.httpProxyPort,
        log,
      })
    : undefined;
  runtime = new AgentRuntime({
    client,
    datapath,
    source,
    ...(dns ? { dns } : {}),
    ...(http ? { http } : {}),
    compile: compileBundle,
    apply: applyWithReattachOnce(),
    clusterId: o.cluster,
    nodeSpec: {
      agentVersion: AGENT_VERSION,
      kernelVersion: release(),
      capabilities: { tcx: o.attachMode !== 'tc', btf: existsSync('/sys/kernel/btf/vmlinux'), lpmTrie: true },
    },
    stateDir: o.stateDir,
    pollIntervalMs: o.pollInterval,
    flowIntervalMs: o.flowInterval,
    spoolLimits: { maxBytes: o.spoolMaxBytes, maxFiles: 10_000 },
    encryptionEvidence: {
      read: () => readEncryptionEvidence({ ...(o.netns ? { netnsPath: o.netns } : {}), log }),
      intervalMs: o.encryptionEvidenceInterval ?? DEFAULT_ENCRYPTION_EVIDENCE_INTERVAL_MS,
    },
    log,
  });
  await runtime.start();
  log('info', 'agent running', { api: o.api, cluster: o.cluster, node: o.node, pollIntervalMs: o.pollInterval, flowIntervalMs: o.flowInterval });
  return runtime;
}

/** The DNS proxy and FQDN learning of the agent (issue 11), its sockets in the pods' namespace. */
function dnsServiceOf(o: AgentCliOptions, datapath: Datapath, source: EndpointSource, program: () => Promise<void>, proxyRoute: () => Promise<void>, log: Logger): DnsService {
  const binding = loadNativeBinding();
  const sockets = proxySockets(binding, o.netns);
  return new DnsService({
    datapath,
    sockets,
    upstream: upstreamSockets(binding, sockets, o.netns, { registry: datapath, log }),
    proxyRoute,
    addresses: () => dnsProxyAddresses(o.dnsProxyAddress, source.snapshot().nodes),
    port: o.dnsProxyPort,
    stateDir: o.stateDir,
    limits: { ...DEFAULT_FQDN_LIMITS, minTtlSeconds: o.fqdnMinTtl },
    program,
    liveDestinations: () => liveConnectionDestinations(datapath.listConntrack(), datapath.config(), Number(process.hrtime.bigint())),
    log,
  });
}

export function agentCommand(): Command {
  return new Command()
    .name('fleetnet-agent')
    .description('fleetnet node agent: polls desired state, enforces it with eBPF, pushes flow summaries.')
    .requiredOption('--api <url>', 'fleetnet API base URL, e.g. http://localhost:7071/api')
    .requiredOption('--cluster <id>', 'cluster id')
    .requiredOption('--node <name>', 'this node\'s name', process.env['NODE_NAME'])
    .option('--token-file <path>', 'bearer token file (re-read when it changes)')
    .option('--workload-identity', 'Entra ID token via @azure/identity (AKS workload identity)')
    .option('--scope <scope>', 'token scope for --workload-identity (default $FLEETNET_API_SCOPE)')
    .option('--pin-dir <dir>', 'bpffs directory owned by this agent', '/sys/fs/bpf/fleetnet/agent')
    .option('--state-dir <dir>', 'last-known-good bundle and flow spool', '/var/lib/fleetnet')
    .option('--endpoints-file <path>', 'static endpoints (JSON/YAML) instead of Kubernetes')
    .option('--kubeconfig <path>', 'kubeconfig (default: in-cluster, else $KUBECONFIG / ~/.kube/config)')
    .option('--in-cluster', 'use the pod\'s service account (default when KUBERNETES_SERVICE_HOST is set)')
    .option('--netns <path>', 'network namespace of the host-side veths (default: the agent\'s)')
    .option('--poll-interval <duration>', 'desired-state poll interval', parseDuration, 5000)
    .option('--flow-interval <duration>', 'flow read/push interval', parseDuration, 10_000)
    .option('--spool-max-bytes <bytes>', 'flow spool bound', (v) => Number(v), 256 * 1024 * 1024)
    .addOption(new Option('--attach-mode <mode>', 'TCX, clsact, or TCX with clsact fallback').choices(['auto', 'tcx', 'tc']).default('auto'))
    .addOption(
      new Option('--allow-localhost <mode>', "the node's own addresses reach local pods' ingress: always (Cilium's default; denies still apply) or only as policy allows (fromEntities: host)")
        .choices(['always', 'policy'])
        .default('always'),
    )
    .addOption(
      new Option('--host-routing <mode>', "pod → pod on this node: through the node's stack (both hooks decide), or bpf — decided at the source's hook and delivered with bpf_redirect_peer: TCP/UDP flows the node does not NAT skip the node's netfilter (docs/datapath.md)")
        .choices(['stack', 'bpf'])
        .default('stack'),
    )
    .option('--ct-timeout-syn <seconds>', 'conntrack: idle timeout of a TCP connection before it is established (default 60)', parseTimeoutSeconds)
    .option('--ct-timeout-established <seconds>', 'conntrack: idle timeout of an established TCP connection (default 21600)', parseTimeoutSeconds)
    .option('--ct-timeout-closing <seconds>', 'conntrack: idle timeout of a TCP connection after FIN or RST (default 10)', parseTimeoutSeconds)
    .option('--ct-timeout-other <seconds>', 'conntrack: idle timeout of non-TCP flows (default 60)', parseTimeoutSeconds)
    .option('--no-dns-proxy', "do not run the DNS proxy: DNS rules and toFQDNs are then reported Degraded and fail closed")
    .option('--dns-proxy-address <ip>', "node address the DNS proxy listens on, one per family (repeatable; default: the node's addresses from the endpoint source)", parseAddress)
    .option('--dns-proxy-port <port>', 'port of the DNS proxy on those addresses (0: any free port)', parsePort, 0)
    .option('--fqdn-min-ttl <seconds>', 'an address learned from a DNS answer is kept at least this long, whatever its TTL', (v) => parseTimeoutSeconds(v) / 1000, 60)
    .option('--no-http-proxy', 'do not run the HTTP proxy: egress HTTP rules are then reported Degraded and fail closed')
    .option('--http-proxy-port <port>', "port of the HTTP proxy on the DNS proxy's node addresses (0: any free port)", parsePort, 0)
    .option('--encryption-evidence-interval <duration>', "how often the node's WireGuard links and peers are read for Node.status.encryption (ip, wg)", parseDuration, DEFAULT_ENCRYPTION_EVIDENCE_INTERVAL_MS);
}

async function main(): Promise<void> {
  const program = agentCommand();
  program.parse();
  const o = program.opts<AgentCliOptions>();
  if (!o.tokenFile && !o.workloadIdentity) program.error('error: one of --token-file or --workload-identity is required.');
  if (o.tokenFile && o.workloadIdentity) program.error('error: --token-file and --workload-identity are exclusive.');
  const runtime = await runAgent(o);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    jsonLogger('info', 'stopping; kernel state stays pinned and enforced', { signal });
    void runtime.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    jsonLogger('error', 'agent failed to start', { error: (e as Error).message });
    process.exit(1);
  });
}
