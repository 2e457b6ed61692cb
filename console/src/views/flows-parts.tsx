/**
 * What the flow views share: the CLI's filter flags as form fields and URL parameters, compiled to a query
 * by the CLI's own compiler (cli/flow-flags.ts — one implementation of "these flags mean this filter"),
 * the coverage statement (cli/render.ts's wording), the explorer link for a service-graph edge and the
 * explain request for a flow record.
 *
 * URL parameters are the flag names without dashes' prefix (`from-pod`, `verdict`, `not-namespace`, `since`);
 * a flag given several values repeats the parameter (`verdict=DROPPED&verdict=AUDIT`). In a text field,
 * several values are separated by commas (commas inside parentheses, as in `app in (a,b)`, stay).
 */
import type { ComponentChildren } from 'preact';
import { navigate } from '../route.js';
import type { ExplainEndpoint, ExplainEntity, FlowCoverage, FlowExplainRequest, FlowQuery, FlowRecord, ServiceGraphNode } from '../../../openapi/types.js';
import { compileObserveFlags, type ObserveFlags } from '../../../cli/flow-flags.js';
import { describeCoverage } from '../../../cli/render.js';

type ListFlag = Exclude<{ [K in keyof ObserveFlags]-?: ObserveFlags[K] extends string[] | undefined ? K : never }[keyof ObserveFlags], undefined>;

export interface FilterField {
  /** URL parameter = the CLI flag without `--` */
  param: string;
  flag: ListFlag;
  label: string;
  hint?: string;
}

export interface FilterGroup {
  legend: string;
  fields: FilterField[];
}

const f = (param: string, flag: ListFlag, label: string, hint?: string): FilterField => ({ param, flag, label, ...(hint ? { hint } : {}) });

/** The `--from-*` and `--to-*` flags: the same fields for either side (flag suffix, label, hint). */
const ENDPOINT_FIELDS = [
  ['Namespace', 'Namespace'],
  ['Pod', 'Pod', '[ns/]pod prefix'],
  ['Workload', 'Workload', '[kind/]name'],
  ['Label', 'Label', 'k8s:app=web'],
  ['Ip', 'IP or CIDR'],
  ['Fqdn', 'FQDN', '*.example.com'],
  ['Port', 'Port'],
  ['Identity', 'Identity'],
] as const;

type EndpointField = readonly [suffix: (typeof ENDPOINT_FIELDS)[number][0], label: string, hint?: string];

const endpointFields = (side: 'from' | 'to'): FilterField[] =>
  ENDPOINT_FIELDS.map(([suffix, label, hint]: EndpointField) => f(`${side}-${suffix.toLowerCase()}`, `${side}${suffix}` as const, label, hint));

/** Every filter flag of `fleetnet flows` (cli/program.ts FILTER_FLAGS) but verdict (checkboxes), grouped as a form shows them. */
export const FILTER_GROUPS: FilterGroup[] = [
  { legend: 'Source (--from-*)', fields: endpointFields('from') },
  { legend: 'Destination (--to-*)', fields: endpointFields('to') },
  {
    legend: 'Either side',
    fields: [f('namespace', 'namespace', 'Namespace'), f('pod', 'pod', 'Pod'), f('label', 'label', 'Label'), f('ip', 'ip', 'IP or CIDR'), f('fqdn', 'fqdn', 'FQDN'), f('port', 'port', 'Port')],
  },
  {
    legend: 'Flow',
    fields: [
      f('cluster', 'cluster', 'Cluster'),
      f('node-name', 'nodeName', 'Node', 'name or cluster/node, * wildcards'),
      f('policy', 'policy', 'Policy', 'name or name@generation'),
      f('drop-reason', 'dropReason', 'Drop reason', 'POLICY_DENIED'),
      f('traffic-direction', 'trafficDirection', 'Direction', 'INGRESS, EGRESS'),
      f('protocol', 'protocol', 'Protocol', 'tcp, udp, icmp, dns, http'),
      f('ip-version', 'ipVersion', 'IP version', '4 or 6'),
    ],
  },
  {
    legend: 'Layer 7',
    fields: [f('dns-query', 'dnsQuery', 'DNS query', 'regex'), f('http-method', 'httpMethod', 'HTTP method'), f('http-status', 'httpStatus', 'HTTP status', '404, 5+'), f('http-path', 'httpPath', 'HTTP path', 'regex')],
  },
  {
    legend: 'Exclude (blacklist: --not-*)',
    fields: [f('not-verdict', 'notVerdict', 'Verdict'), f('not-namespace', 'notNamespace', 'Namespace'), f('not-cluster', 'notCluster', 'Cluster')],
  },
];

export const ALL_FIELDS: FilterField[] = [...FILTER_GROUPS.flatMap((g) => g.fields), f('verdict', 'verdict', 'Verdict')];
export const VERDICTS = ['FORWARDED', 'DROPPED', 'AUDIT'] as const;

export type WindowQuery = Pick<FlowQuery, 'whitelist' | 'blacklist' | 'since' | 'until'>;

/** The URL's filter → the API's query (whitelist, blacklist, since, until), or the flag error the CLI would give. */
export function queryFromParams(params: URLSearchParams, defaults: ObserveFlags = {}): { query: WindowQuery } | { error: string } {
  const flags: ObserveFlags = { ...defaults };
  for (const field of ALL_FIELDS) {
    const values = params.getAll(field.param).filter((v) => v.trim() !== '');
    if (values.length > 0) flags[field.flag] = values;
  }
  const since = params.get('since');
  const until = params.get('until');
  if (since) flags.since = since;
  if (until) flags.until = until;
  try {
    return { query: compileObserveFlags(flags) };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

/** `a, b (c,d), e` → [`a`, `b (c,d)`, `e`] */
export function splitValues(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth = Math.max(0, depth - 1);
    if (ch === ',' && depth === 0) {
      out.push(current);
      current = '';
    } else current += ch;
  }
  out.push(current);
  return out.map((v) => v.trim()).filter((v) => v !== '');
}

/** The filter parameters of `params` only (no paging, no view state). */
export function filterParams(params: URLSearchParams): URLSearchParams {
  const out = new URLSearchParams();
  for (const key of ['since', 'until', ...ALL_FIELDS.map((x) => x.param)]) for (const v of params.getAll(key)) out.append(key, v);
  return out;
}

/** A form field's value for the URL's values of one parameter. */
export const joinValues = (params: URLSearchParams, param: string): string => params.getAll(param).join(', ');

/** The form's fields → URL parameters (empty fields left out). */
export function paramsFromForm(form: HTMLFormElement, keep: URLSearchParams = new URLSearchParams()): URLSearchParams {
  const data = new FormData(form);
  const out = new URLSearchParams(keep);
  for (const [key, value] of data.entries()) {
    if (typeof value !== 'string') continue;
    const values = key === 'verdict' || key === 'since' || key === 'until' ? [value.trim()].filter(Boolean) : splitValues(value);
    for (const v of values) out.append(key, v);
  }
  return out;
}

export function TimeFields({ params }: { params: URLSearchParams }) {
  return (
    <>
      <label>
        Since
        <input name="since" defaultValue={params.get('since') ?? ''} placeholder="1h (default), 7d, RFC 3339" size={14} />
      </label>
      <label>
        Until
        <input name="until" defaultValue={params.get('until') ?? ''} placeholder="now (default)" size={14} />
      </label>
    </>
  );
}

export function VerdictBoxes({ params }: { params: URLSearchParams }) {
  const chosen = new Set(params.getAll('verdict'));
  return (
    <fieldset class="verdicts">
      <legend>Verdict</legend>
      {VERDICTS.map((v) => (
        <label key={v} class={`v-${v}`}>
          <input type="checkbox" name="verdict" value={v} defaultChecked={chosen.has(v)} /> {v}
        </label>
      ))}
    </fieldset>
  );
}

/** The coverage statement, always shown with an answer: what it rests on and whether it is complete. */
export function Coverage({ coverage }: { coverage: FlowCoverage | undefined }) {
  if (!coverage) return null;
  return (
    <p class={`coverage ${coverage.complete ? 'muted' : 'warn'}`} role="status" aria-label="Coverage">
      {coverage.complete ? 'Complete' : 'Incomplete'} — {describeCoverage(coverage).replace(/^coverage: /, '')}
    </p>
  );
}

/** Explorer parameters selecting one side of a service-graph edge (the node's id rules, core/flows/service-graph.ts). */
function sideParams(node: Pick<ServiceGraphNode, 'namespace' | 'workload' | 'kind'>, side: 'from' | 'to', out: URLSearchParams): void {
  const w = node.workload;
  if (!node.namespace) {
    if (w.startsWith('fqdn:')) out.append(`${side}-fqdn`, w.slice('fqdn:'.length));
    else if (w.startsWith('reserved:')) out.append(`${side}-identity`, w.slice('reserved:'.length));
    return;
  }
  if (w.startsWith('identity:')) {
    out.append(`${side}-namespace`, node.namespace);
    out.append(`${side}-identity`, w.slice('identity:'.length));
  } else if (node.kind) {
    out.append(`${side}-namespace`, node.namespace);
    out.append(`${side}-workload`, `${node.kind}/${w}`);
  } else {
    out.append(`${side}-pod`, `${node.namespace}/${w}`);
  }
}

/** The explorer's parameters for the flows of one edge (source → destination) in a window. */
export function edgeParams(source: ServiceGraphNode, destination: ServiceGraphNode, window: URLSearchParams): URLSearchParams {
  const out = new URLSearchParams();
  for (const key of ['since', 'until']) if (window.get(key)) out.set(key, window.get(key)!);
  if (source.cluster === destination.cluster) out.append('cluster', source.cluster);
  sideParams(source, 'from', out);
  sideParams(destination, 'to', out);
  return out;
}

const ENTITIES: readonly ExplainEntity[] = ['host', 'world', 'unmanaged', 'health', 'init', 'remote-node', 'kube-apiserver', 'ingress', 'world-ipv4', 'world-ipv6'];
const POD = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

function explainSide(ep: FlowRecord['flow']['source'], ip: string | undefined): ExplainEndpoint | undefined {
  if (ep.namespace && ep.pod_name && POD.test(`${ep.namespace}/${ep.pod_name}`)) return { pod: `${ep.namespace}/${ep.pod_name}` };
  const reserved = ep.labels?.find((l) => l.startsWith('reserved:'))?.slice('reserved:'.length).split('=')[0];
  if (reserved && (ENTITIES as readonly string[]).includes(reserved)) return { entity: reserved as ExplainEntity };
  if (ip) return { ip };
  return undefined;
}

/** POST /clusters/{id}/explain's body for a stored flow, or why it cannot be explained. */
export function explainRequestOf(record: FlowRecord): { body: FlowExplainRequest } | { why: string } {
  const flow = record.flow;
  const protocol = ({ TCP: 'TCP', UDP: 'UDP', SCTP: 'SCTP', ICMPv4: 'ICMP', ICMPv6: 'ICMPv6' } as const)[flow.l4.protocol as 'TCP'];
  if (!protocol) return { why: `protocol ${flow.l4.protocol} cannot be explained` };
  if (flow.l4.destination_port === undefined) return { why: 'the flow has no destination port' };
  const source = explainSide(flow.source, flow.IP?.source);
  const destination = explainSide(flow.destination, flow.IP?.destination);
  if (!source || !destination) return { why: `the ${!source ? 'source' : 'destination'} is neither a pod, an entity nor an address` };
  return { body: { source, destination, protocol, port: flow.l4.destination_port, localhostPolicy: false } };
}

/** The filter form of a flow view: submitting it puts its fields in `view`'s URL (plus `keep`). */
export function ViewFilterForm({ view, label, keep, children }: { view: string; label: string; keep?: URLSearchParams; children: ComponentChildren }) {
  return (
    <form
      class="panel filters"
      aria-label={label}
      onSubmit={(event) => {
        event.preventDefault();
        navigate(view, paramsFromForm(event.currentTarget, keep));
      }}
    >
      {children}
    </form>
  );
}

/** The end of the drops and map filters' row: namespaces, verdicts, and the submit button. */
export function NamespaceVerdictsSubmit({ params }: { params: URLSearchParams }) {
  return (
    <>
      <label>
        Namespace
        <input name="namespace" defaultValue={params.getAll('namespace').join(', ')} size={14} />
      </label>
      <VerdictBoxes params={params} />
      <button class="primary" type="submit">
        Show
      </button>
    </>
  );
}
