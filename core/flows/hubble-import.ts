/**
 * Hubble flow JSON lines (`hubble observe -o json|jsonpb`, the Hubble exporter's file) → flow summaries,
 * for backfilling history.
 *
 * Contracts:
 * - A line is `{"flow": {...}, "node_name": ..., "time": ...}` (GetFlowsResponse, also as the exporter writes
 *   it with a field mask: any flow field may be absent) or a bare Flow object. Field names are read as proto
 *   names (`traffic_direction`, what Cilium's JSON marshalling writes) or lowerCamelCase JSON names
 *   (`trafficDirection`); enums as names or numbers; `is_reply` as a bool or a `{"value": bool}` wrapper
 *   (absent: unknown, treated as not a reply; the deprecated `reply` counts only when `is_reply` is absent).
 * - Empty lines are ignored. A line is skipped (with its 1-based number and a reason from SKIP_REASONS,
 *   counted per reason in `skippedByReason`) when it is not JSON, has no flow (node_status, lost_events, …),
 *   no time or node name, or its verdict is not FORWARDED/DROPPED/AUDIT.
 * - Direction: `traffic_direction` when INGRESS or EGRESS; else (absent, TRAFFIC_DIRECTION_UNKNOWN) the
 *   direction of the policy attributions when only one direction has any (Hubble fills `ingress_*_by` only
 *   for ingress verdicts and `egress_*_by` only for egress ones); otherwise the flow is kept as
 *   TRAFFIC_DIRECTION_UNKNOWN, as Hubble keeps it (no policy then: attributions are per direction).
 * - Policy: FORWARDED → the first entry of `<direction>_allowed_by`, DROPPED and AUDIT → of
 *   `<direction>_denied_by`, mapped to `policy {name, revision}`: name as the fleet's policy import names the
 *   policy (`<namespace>.<name>` for namespaced kinds, `<name>` for cluster-wide ones; convert-cilium-policy),
 *   revision = Hubble's `revision` (the Cilium agent's policy revision, not a fleet generation). No policy
 *   when the entry has no name or a revision below 1 (FlowPolicyRef requires one).
 * - IP: addresses and `ipVersion` (IPv4 | IPv6, names or numbers) as given; without `ipVersion`, ICMPv4/ICMPv6
 *   imply it. No `IP` when the line has none.
 * - L7 records (`Type` L7 or an `l7` object) count as events of their L4 tuple like any flow but open no
 *   connection (flows += 0); the L7 details (HTTP, DNS, Kafka) have no FlowSummary field and are dropped.
 * - The node is the response's `node_name` (else the flow's), without a `cluster/` prefix.
 * - Events are grouped per node and window (`windowSeconds`, aligned to the epoch) and, inside a window,
 *   by everything a FlowSummary records except its counters: endpoints (identity, namespace, pod, labels,
 *   workloads, cluster), IPs and IP version, protocol, destination port (ICMP: type), direction, verdict,
 *   drop reason, DNS names and policy. Source ports are dropped (ephemeral).
 * - Counters: packets = events; bytes = 0 (Hubble flows carry no byte counts); flows = events that are
 *   neither replies nor L7 records and, for TCP, carry SYN without ACK. first_seen / last_seen = earliest / latest event.
 * - Batches hold at most 5000 summaries; a batch id is a hash of cluster, node, window and content, so
 *   importing the same lines again yields the same ids (and stores nothing new).
 * - A flow line that is read is held to the contract an agent batch is: its summary must validate against
 *   FlowSummary of openapi.yaml and its node name against ResourceName (the ingest path's nodeName).
 *   Values out of range (port 70000, identity 99999999999 or 1.5, a 5,000-character node or pod name)
 *   are not skipped but reported in `errors` — at most MAX_ERRORS, pointers `/<line index>/<field of the
 *   line>` with the 0-based line index (line number − 1) — and then `batches` is empty: the caller stores
 *   nothing (all or nothing, like a policy import). Messages never echo the offending value.
 */
import { createHash } from 'node:crypto';
import type { FieldError, FlowEndpoint, FlowPolicyRef, FlowSummary } from '../../openapi/types.js';
import { appendPointer, splitPointer } from '../json/json-pointer.js';
import { createSchemaValidator } from '../schema/compile-schema-validator.js';

export interface ImportedBatch {
  batchId: string;
  node: string;
  window: { start: string; end: string };
  summaries: FlowSummary[];
}

export interface HubbleImport {
  lines: number;
  imported: number;
  skipped: Array<{ line: number; reason: string }>;
  /** Every skipped line counted under its reason (all of them, unlike a truncated `skipped` list downstream). */
  skippedByReason: Record<string, number>;
  /** Flow lines whose values break the contract (see the contracts above); when any, `batches` is empty. */
  errors: FieldError[];
  /** How many flow lines were invalid (`errors` holds at most MAX_ERRORS entries). */
  invalidLines: number;
  batches: ImportedBatch[];
}

const MAX_BATCH = 5000;
export const MAX_ERRORS = 100;
const IMPORTED_VERDICTS = new Set(['FORWARDED', 'DROPPED', 'AUDIT']);
/** flow.proto enums, by number (protojson also accepts numbers). */
const VERDICT_NAMES = ['VERDICT_UNKNOWN', 'FORWARDED', 'DROPPED', 'ERROR', 'AUDIT', 'REDIRECTED', 'TRACED', 'TRANSLATED'];
const DIRECTION_NAMES = ['TRAFFIC_DIRECTION_UNKNOWN', 'INGRESS', 'EGRESS'];
const IP_VERSION_NAMES = ['IP_NOT_USED', 'IPv4', 'IPv6'];
const FLOW_TYPE_NAMES = ['UNKNOWN_TYPE', 'L3_L4', 'L7', 'SOCK'];
/** GetFlowsResponse members that are not flows. */
const NOT_FLOWS = ['node_status', 'lost_events', 'agent_event', 'debug_event'];
const DROP_REASON = /^[A-Z0-9_]{1,64}$/;

/** Why a line is skipped: a closed set, so reasons can be counted. */
export const SKIP_REASONS = {
  notJson: 'not JSON',
  notObject: 'not a JSON object',
  noFlow: 'no flow',
  noTime: 'no valid time',
  noNode: 'no node_name',
} as const;
const notFlowReason = (member: string) => `not a flow: ${member}`;
const verdictReason = (verdict: string) => `verdict ${verdict} is not imported`;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : undefined);
/** `trafficDirection` for `traffic_direction` (protojson's JSON name). */
const camel = (name: string): string => name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
/** The key a field has in `obj`: its proto name, else its JSON name, else the proto name. */
const keyOf = (obj: Json, name: string): string => (name in obj ? name : camel(name) in obj ? camel(name) : name);
/** A field by proto name or lowerCamelCase JSON name. */
const get = (obj: Json, name: string): unknown => obj[keyOf(obj, name)];
/** An enum value by name or number; undefined when absent, `(other)` when not in `names`. */
function enumName(v: unknown, names: readonly string[]): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'number') return names[v] ?? '(other)';
  return typeof v === 'string' && names.includes(v) ? v : '(other)';
}
/** A google.protobuf.BoolValue as protojson writes it (a bool) or as a plain message (`{"value": bool}`). */
function boolValue(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (isObject(v)) return v.value === true;
  return undefined;
}

export function importHubbleFlows(text: string, clusterId: string, windowSeconds: number): HubbleImport {
  const windowMs = windowSeconds * 1000;
  const skipped: HubbleImport['skipped'] = [];
  const skippedByReason: Record<string, number> = {};
  const windows = new Map<string, { node: string; start: number; summaries: Map<string, FlowSummary> }>();
  const validateSummary = createSchemaValidator('FlowSummary');
  const validateNode = createSchemaValidator('ResourceName');
  const validNodes = new Set<string>();
  const validSummaries = new Set<string>();
  const errors: FieldError[] = [];
  let invalidLines = 0;
  let lines = 0;
  let imported = 0;
  text.split(/\r?\n/).forEach((raw, i) => {
    if (raw.trim() === '') return;
    lines++;
    const parsed = parseEvent(raw);
    if (typeof parsed === 'string') {
      skipped.push({ line: i + 1, reason: parsed });
      skippedByReason[parsed] = (skippedByReason[parsed] ?? 0) + 1;
      return;
    }
    const iso = new Date(parsed.time).toISOString();
    const key = JSON.stringify(parsed.summary);
    // Equal summaries (and nodes) validate alike: each distinct one is validated once.
    const nodeErrors = validNodes.has(parsed.node) ? [] : validateNode(parsed.node, parsed.at.node);
    const summaryErrors = validSummaries.has(key) ? [] : validateSummary({ ...parsed.summary, packets: 0, bytes: 0, flows: 0 }).map((e) => ({ ...e, pointer: pointerInLine(e.pointer, parsed.at) }));
    if (nodeErrors.length === 0) validNodes.add(parsed.node);
    if (summaryErrors.length === 0) validSummaries.add(key);
    const timeErrors = /^\d{4}-/.test(iso) ? [] : [{ pointer: parsed.at.time, message: 'must be a date-time from year 0000 to 9999', rule: 'format' }];
    const lineErrors = [...nodeErrors, ...summaryErrors, ...timeErrors].map((e) => ({ ...e, pointer: `/${i}${e.pointer}`, message: `line ${i + 1}: ${e.message}` }));
    if (lineErrors.length > 0) {
      invalidLines++;
      errors.push(...lineErrors.slice(0, MAX_ERRORS - errors.length));
      return;
    }
    if (invalidLines > 0) return;
    imported++;
    const start = Math.floor(parsed.time / windowMs) * windowMs;
    const windowKey = `${parsed.node}\u0000${start}`;
    let window = windows.get(windowKey);
    if (!window) {
      window = { node: parsed.node, start, summaries: new Map() };
      windows.set(windowKey, window);
    }
    const existing = window.summaries.get(key);
    if (existing) {
      existing.packets += 1;
      existing.flows += parsed.opens ? 1 : 0;
      if (iso < existing.first_seen!) existing.first_seen = iso;
      if (iso > existing.last_seen!) existing.last_seen = iso;
    } else {
      window.summaries.set(key, { ...parsed.summary, packets: 1, bytes: 0, flows: parsed.opens ? 1 : 0, first_seen: iso, last_seen: iso });
    }
  });
  const batches: ImportedBatch[] = [];
  if (invalidLines > 0) return { lines, imported: 0, skipped, skippedByReason, errors, invalidLines, batches };
  const ordered = [...windows.values()].sort((a, b) => a.start - b.start || (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  for (const w of ordered) {
    const summaries = [...w.summaries.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, s]) => s);
    const window = { start: new Date(w.start).toISOString(), end: new Date(w.start + windowMs).toISOString() };
    for (let offset = 0; offset < summaries.length; offset += MAX_BATCH) {
      const part = summaries.slice(offset, offset + MAX_BATCH);
      batches.push({ batchId: hashUuid([clusterId, w.node, window.start, window.end, JSON.stringify(part)].join('\n')), node: w.node, window, summaries: part });
    }
  }
  return { lines, imported, skipped, skippedByReason, errors, invalidLines, batches };
}

/** Where a parsed event's fields came from in its line (JSON pointers), to point errors at what the client sent. */
interface SourceFields {
  /** The flow object as sent (its keys name the fields in pointers). */
  object: Json;
  flow: string;
  node: string;
  time: string;
  l4: string;
  policy?: string;
}
type ParsedEvent = { node: string; time: number; opens: boolean; summary: Omit<FlowSummary, 'packets' | 'bytes' | 'flows'>; at: SourceFields };

/** A FlowSummary pointer → the field of the Hubble line it was taken from (arrays that are filtered or sorted: the array). */
function pointerInLine(pointer: string, at: SourceFields): string {
  const [field, sub, ...rest] = splitPointer(pointer);
  switch (field) {
    case 'source':
    case 'destination': {
      const key = keyOf(at.object, field);
      if (sub === undefined) return appendPointer(at.flow, key);
      const ep = at.object[key];
      const subKey = isObject(ep) ? keyOf(ep, sub) : sub;
      return appendPointer(at.flow, key, subKey, ...(sub === 'labels' || sub === 'workloads' ? [] : rest));
    }
    case 'IP':
      return sub === undefined ? appendPointer(at.flow, 'IP') : appendPointer(at.flow, 'IP', sub);
    case 'l4':
      return sub === 'destination_port' ? at.l4 : appendPointer(at.flow, 'l4');
    case 'policy':
      return at.policy ?? at.flow;
    case 'first_seen':
    case 'last_seen':
      return at.time;
    case undefined:
      return at.flow;
    default:
      return appendPointer(at.flow, keyOf(at.object, field));
  }
}

function parseEvent(raw: string): ParsedEvent | string {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return SKIP_REASONS.notJson;
  }
  if (!isObject(value)) return SKIP_REASONS.notObject;
  const flow = isObject(value.flow) ? value.flow : get(value, 'verdict') !== undefined ? value : undefined;
  if (!flow) {
    const member = NOT_FLOWS.find((m) => get(value as Json, m) !== undefined);
    return member ? notFlowReason(member) : SKIP_REASONS.noFlow;
  }
  const flowAt = flow === value ? '' : '/flow';
  const timeText = str(flow.time) ?? str(value.time);
  const time = timeText ? Date.parse(timeText) : NaN;
  if (Number.isNaN(time)) return SKIP_REASONS.noTime;
  const verdict = enumName(get(flow, 'verdict'), VERDICT_NAMES);
  if (!verdict || !IMPORTED_VERDICTS.has(verdict)) return verdictReason(verdict ?? '(none)');
  const nodeText = str(get(value, 'node_name')) ?? str(get(flow, 'node_name'));
  if (!nodeText) return SKIP_REASONS.noNode;
  const attribution = readAttribution(flow, verdict, enumName(get(flow, 'traffic_direction'), DIRECTION_NAMES));
  const direction = attribution.direction ?? 'TRAFFIC_DIRECTION_UNKNOWN';
  const node = nodeText.slice(nodeText.lastIndexOf('/') + 1);
  const isReply = boolValue(get(flow, 'is_reply')) ?? get(flow, 'reply') === true;
  const l7 = enumName(get(flow, 'Type'), FLOW_TYPE_NAMES) === 'L7' || isObject(flow.l7);
  const { l4, opens, portAt } = parseL4(flow.l4, isReply || l7);
  const at: SourceFields = {
    object: flow,
    flow: flowAt,
    node: str(get(value, 'node_name')) ? `/${keyOf(value, 'node_name')}` : `${flowAt}/${keyOf(flow, 'node_name')}`,
    time: str(flow.time) ? `${flowAt}/time` : '/time',
    l4: portAt ? `${flowAt}/l4/${portAt}` : `${flowAt}/l4`,
    ...(attribution.at ? { policy: `${flowAt}/${attribution.at}` } : {}),
  };
  const ip = isObject(flow.IP) ? flow.IP : {};
  const ipVersion = enumName(get(ip, 'ipVersion'), IP_VERSION_NAMES);
  const impliedVersion = l4.protocol === 'ICMPv6' ? 'IPv6' : l4.protocol === 'ICMPv4' ? 'IPv4' : undefined;
  const version: 'IPv4' | 'IPv6' | undefined = ipVersion === 'IPv4' || ipVersion === 'IPv6' ? ipVersion : impliedVersion;
  const IP = {
    ...(str(ip.source) ? { source: str(ip.source) } : {}),
    ...(str(ip.destination) ? { destination: str(ip.destination) } : {}),
    ...(version ? { ipVersion: version } : {}),
  };
  const dropReason = str(get(flow, 'drop_reason_desc'));
  const sourceNames = names(get(flow, 'source_names'));
  const destinationNames = names(get(flow, 'destination_names'));
  const summary: ParsedEvent['summary'] = {
    source: endpoint(flow.source),
    destination: endpoint(flow.destination),
    ...(Object.keys(IP).length > 0 ? { IP } : {}),
    l4,
    traffic_direction: direction,
    verdict: verdict as FlowSummary['verdict'],
    ...(verdict !== 'FORWARDED' && dropReason && DROP_REASON.test(dropReason) ? { drop_reason_desc: dropReason } : {}),
    ...(sourceNames ? { source_names: sourceNames } : {}),
    ...(destinationNames ? { destination_names: destinationNames } : {}),
    ...(attribution.policy ? { policy: attribution.policy } : {}),
  };
  return { node, time, opens, summary, at };
}

type Direction = FlowSummary['traffic_direction'];

/**
 * The flow's direction (its own, else the one its policy attributions imply) and the policy that decided
 * the verdict: FORWARDED → `<direction>_allowed_by`, DROPPED/AUDIT → `<direction>_denied_by`, first entry.
 * `at`: the attribution entry's path relative to the flow.
 */
function readAttribution(flow: Json, verdict: string, given: string | undefined): { direction?: Direction; policy?: FlowPolicyRef; at?: string } {
  const lists = (dir: 'ingress' | 'egress') => ({
    allowed: get(flow, `${dir}_allowed_by`),
    denied: get(flow, `${dir}_denied_by`),
  });
  const hasAny = (dir: 'ingress' | 'egress') => Object.values(lists(dir)).some((l) => Array.isArray(l) && l.length > 0);
  let direction: 'INGRESS' | 'EGRESS' | undefined = given === 'INGRESS' || given === 'EGRESS' ? given : undefined;
  if (!direction) {
    const ingress = hasAny('ingress');
    const egress = hasAny('egress');
    if (ingress !== egress) direction = ingress ? 'INGRESS' : 'EGRESS';
  }
  if (!direction) return {};
  const dir = direction === 'INGRESS' ? 'ingress' : 'egress';
  const name = `${dir}_${verdict === 'FORWARDED' ? 'allowed' : 'denied'}_by`;
  const list = get(flow, name);
  const entry = Array.isArray(list) ? list[0] : undefined;
  if (!isObject(entry)) return { direction };
  const policyName = str(entry.name);
  const revision = num(entry.revision);
  if (!policyName || revision === undefined || revision < 1) return { direction };
  const namespace = str(entry.namespace);
  return { direction, policy: { name: namespace ? `${namespace}.${policyName}` : policyName, revision }, at: `${keyOf(flow, name)}/0` };
}

/** `portAt`: where the destination port (ICMP: type) was read, relative to `l4` (e.g. `TCP/destination_port`). */
function parseL4(value: unknown, noOpen: boolean): { l4: FlowSummary['l4']; opens: boolean; portAt?: string } {
  const l4 = isObject(value) ? value : {};
  for (const protocol of ['TCP', 'UDP', 'SCTP'] as const) {
    const body = l4[protocol];
    if (!isObject(body)) continue;
    const portKey = keyOf(body, 'destination_port');
    const port = num(body[portKey]);
    const flags = isObject(body.flags) ? body.flags : {};
    const opens = !noOpen && (protocol !== 'TCP' || (flags.SYN === true && flags.ACK !== true));
    return { l4: { protocol, ...(port !== undefined ? { destination_port: port } : {}) }, opens, portAt: `${protocol}/${portKey}` };
  }
  for (const protocol of ['ICMPv4', 'ICMPv6'] as const) {
    const body = l4[protocol];
    if (!isObject(body)) continue;
    const type = num(body.type);
    return { l4: { protocol, ...(type !== undefined ? { destination_port: type } : {}) }, opens: !noOpen, portAt: `${protocol}/type` };
  }
  return { l4: { protocol: 'OTHER' }, opens: !noOpen };
}

function endpoint(value: unknown): FlowEndpoint {
  const ep = isObject(value) ? value : {};
  const labels = Array.isArray(ep.labels) ? ep.labels.filter((l): l is string => typeof l === 'string').slice(0, 64) : [];
  const workloads = Array.isArray(ep.workloads)
    ? ep.workloads.filter(isObject).flatMap((w) => (str(w.name) && str(w.kind) ? [{ name: str(w.name)!, kind: str(w.kind)! }] : [])).slice(0, 4)
    : [];
  const cluster = str(get(ep, 'cluster_name'));
  const pod = str(get(ep, 'pod_name'));
  return {
    identity: num(ep.identity) ?? 0,
    ...(cluster ? { cluster_name: cluster } : {}),
    ...(str(ep.namespace) ? { namespace: str(ep.namespace) } : {}),
    ...(pod ? { pod_name: pod } : {}),
    ...(labels.length > 0 ? { labels: [...labels].sort() } : {}),
    ...(workloads.length > 0 ? { workloads } : {}),
  };
}

function names(value: unknown): string[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const list = value.filter((n): n is string => typeof n === 'string' && n !== '').slice(0, 16);
  return list.length > 0 ? [...list].sort() : undefined;
}

/** A UUID-shaped (8-4-4-4-12 hex) digest of `text`. */
export function hashUuid(text: string): string {
  const hex = createHash('sha256').update(text).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
