/**
 * An API error in the CLI's words (pure): the fields of a flow query or a list query become the flags
 * that set them (`/whitelist/0/source_ip/0` → `--from-ip / --ip`), other JSON pointers become field
 * paths (`spec.ingress[0].toPorts`), and the schema validator's phrasings are made plain. Same lines
 * are said once (an "either side" flag makes two filters).
 */
import type { ApiError } from './api-client.js';
import { describePointer } from './apply-policies.js';

/** FlowFilter field → the flags that fill it in a whitelist filter (blacklist: the `--not-*` flag). */
const FILTER_FLAGS: Record<string, { white: string; black?: string }> = {
  source_pod: { white: '--from-pod / --from-namespace / --pod / --namespace', black: '--not-namespace' },
  destination_pod: { white: '--to-pod / --to-namespace / --pod / --namespace', black: '--not-namespace' },
  source_label: { white: '--from-label / --label' },
  destination_label: { white: '--to-label / --label' },
  source_ip: { white: '--from-ip / --ip' },
  destination_ip: { white: '--to-ip / --ip' },
  source_fqdn: { white: '--from-fqdn / --fqdn' },
  destination_fqdn: { white: '--to-fqdn / --fqdn' },
  source_port: { white: '--from-port / --port' },
  destination_port: { white: '--to-port / --port' },
  source_identity: { white: '--from-identity' },
  destination_identity: { white: '--to-identity' },
  source_workload: { white: '--from-workload' },
  destination_workload: { white: '--to-workload' },
  verdict: { white: '--verdict', black: '--not-verdict' },
  drop_reason_desc: { white: '--drop-reason' },
  traffic_direction: { white: '--traffic-direction' },
  protocol: { white: '--protocol' },
  node_name: { white: '--node-name' },
  cluster: { white: '--cluster', black: '--not-cluster' },
  policy: { white: '--policy' },
  ip_version: { white: '-4 / -6 / --ip-version' },
  dns_query: { white: '--dns-query' },
  http_method: { white: '--http-method' },
  http_status_code: { white: '--http-status' },
  http_path: { white: '--http-path' },
};

const TOP_LEVEL: Record<string, string> = {
  '/since': '--since',
  '/until': '--until',
  '/groupBy': '--by',
  '/orderBy': '--order',
  '/top': '--top',
  '/maxPageSize': '--last',
  '/query/labelSelector': '--selector',
  '/query/windowSeconds': '--window',
  '/source': '--from',
  '/destination': '--to',
  '/port': '--port',
  '/protocol': '--protocol',
};

/** The flag (or field path) a pointer of a CLI request names. */
export function describeRequestPointer(pointer: string): string {
  const filter = /^\/(whitelist|blacklist)\/\d+\/([a-z_]+)(?:\/.*)?$/.exec(pointer);
  const flags = filter ? FILTER_FLAGS[filter[2]!] : undefined;
  if (filter && flags) return filter[1] === 'blacklist' ? (flags.black ?? flags.white) : flags.white;
  const top = Object.keys(TOP_LEVEL).find((p) => pointer === p || pointer.startsWith(`${p}/`));
  return top ? TOP_LEVEL[top]! : describePointer(pointer);
}

/** The schema validator's phrasings, plainly. */
export function plainMessage(message: string): string {
  return message
    .replace(/^must be one of \[(.*)\]$/, (_all, list: string) => `must be one of ${list.replace(/"/g, '').split(',').join(', ')}`)
    .replace(/^must NOT have fewer than 1 characters$/, 'must not be empty')
    .replace(/^must NOT have (fewer|more) than (\d+) (characters|items)$/, (_all, side: string, n: string, what: string) => `must have at ${side === 'fewer' ? 'least' : 'most'} ${n} ${what}`)
    .replace(/^must be integer$/, 'must be a whole number');
}

const HINTS: Record<number, string> = {
  401: 'no valid token: pass --token or set FLEETNET_TOKEN',
  403: 'the token\'s app role does not allow this: reads need Fleet.Reader, writes Fleet.Admin',
};

export function describeApiError(error: ApiError): string {
  const problem = error.problem;
  const head = `the API answered ${error.status}${problem?.code ? ` ${problem.code}` : ''}: ${problem?.detail ?? 'request failed'}`;
  const lines = [...new Set((problem?.errors ?? []).map((e) => `  ${describeRequestPointer(e.pointer)}: ${plainMessage(e.message)}`))];
  const hint = HINTS[error.status];
  return [head, ...lines, ...(hint ? [`  (${hint})`] : [])].join('\n');
}
