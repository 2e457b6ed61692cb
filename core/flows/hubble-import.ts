/**
 * Hubble flow JSON lines (`hubble observe -o jsonpb`) → flow summaries, for backfilling history.
 *
 * Contracts:
 * - A line is `{"flow": {...}, "node_name": ..., "time": ...}` (GetFlowsResponse) or a bare Flow object.
 *   Empty lines are ignored. A line is skipped (with its 1-based number and reason) when it is not JSON, has
 *   no flow or time, its verdict is not FORWARDED/DROPPED/AUDIT, or its traffic direction is unknown.
 * - The node is the response's `node_name` (else the flow's), without a `cluster/` prefix.
 * - Events are grouped per node and window (`windowSeconds`, aligned to the epoch) and, inside a window,
 *   by everything a FlowSummary records except its counters: endpoints (identity, namespace, pod, labels,
 *   workloads, cluster), IPs, protocol, destination port (ICMP: type), direction, verdict, drop reason
 *   and DNS names. Source ports are dropped (ephemeral).
 * - Counters: packets = events; bytes = 0 (Hubble flows carry no byte counts); flows = events that are
 *   not replies and, for TCP, carry SYN without ACK. first_seen / last_seen = earliest / latest event.
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
import type { FieldError, FlowEndpoint, FlowSummary } from '../../openapi/types.js';
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
  /** Flow lines whose values break the contract (see the contracts above); when any, `batches` is empty. */
  errors: FieldError[];
  /** How many flow lines were invalid (`errors` holds at most MAX_ERRORS entries). */
  invalidLines: number;
  batches: ImportedBatch[];
}

const MAX_BATCH = 5000;
export const MAX_ERRORS = 100;
const VERDICTS = new Set(['FORWARDED', 'DROPPED', 'AUDIT']);
const DIRECTIONS = new Set(['INGRESS', 'EGRESS']);
const DROP_REASON = /^[A-Z0-9_]{1,64}$/;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : undefined);

export function importHubbleFlows(text: string, clusterId: string, windowSeconds: number): HubbleImport {
  const windowMs = windowSeconds * 1000;
  const skipped: HubbleImport['skipped'] = [];
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
  if (invalidLines > 0) return { lines, imported: 0, skipped, errors, invalidLines, batches };
  const ordered = [...windows.values()].sort((a, b) => a.start - b.start || (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  for (const w of ordered) {
    const summaries = [...w.summaries.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, s]) => s);
    const window = { start: new Date(w.start).toISOString(), end: new Date(w.start + windowMs).toISOString() };
    for (let offset = 0; offset < summaries.length; offset += MAX_BATCH) {
      const part = summaries.slice(offset, offset + MAX_BATCH);
      batches.push({ batchId: hashUuid([clusterId, w.node, window.start, window.end, JSON.stringify(part)].join('\n')), node: w.node, window, summaries: part });
    }
  }
  return { lines, imported, skipped, errors, invalidLines, batches };
}

/** Where a parsed event's fields came from in its line (JSON pointers), to point errors at what the client sent. */
interface SourceFields {
  flow: string;
  node: string;
  time: string;
  l4: string;
}
type ParsedEvent = { node: string; time: number; opens: boolean; summary: Omit<FlowSummary, 'packets' | 'bytes' | 'flows'>; at: SourceFields };

/** A FlowSummary pointer → the field of the Hubble line it was taken from (arrays that are filtered or sorted: the array). */
function pointerInLine(pointer: string, at: SourceFields): string {
  const [field, sub, ...rest] = splitPointer(pointer);
  switch (field) {
    case 'source':
    case 'destination':
      return sub === undefined ? appendPointer(at.flow, field) : appendPointer(at.flow, field, sub, ...(sub === 'labels' || sub === 'workloads' ? [] : rest));
    case 'IP':
      return sub === undefined ? appendPointer(at.flow, 'IP') : appendPointer(at.flow, 'IP', sub);
    case 'l4':
      return sub === 'destination_port' ? at.l4 : appendPointer(at.flow, 'l4');
    case 'first_seen':
    case 'last_seen':
      return at.time;
    case undefined:
      return at.flow;
    default:
      return appendPointer(at.flow, field);
  }
}

function parseEvent(raw: string): ParsedEvent | string {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return 'not JSON';
  }
  if (!isObject(value)) return 'not a JSON object';
  const flow = isObject(value.flow) ? value.flow : str(value.verdict) ? value : undefined;
  if (!flow) return 'no flow';
  const flowAt = flow === value ? '' : '/flow';
  const timeText = str(flow.time) ?? str(value.time);
  const time = timeText ? Date.parse(timeText) : NaN;
  if (Number.isNaN(time)) return 'no valid time';
  const verdict = str(flow.verdict);
  if (!verdict || !VERDICTS.has(verdict)) return `verdict ${verdict ?? '(none)'} is not imported`;
  const direction = str(flow.traffic_direction);
  if (!direction || !DIRECTIONS.has(direction)) return `traffic direction ${direction ?? '(none)'} is not imported`;
  const nodeText = str(value.node_name) ?? str(flow.node_name);
  if (!nodeText) return 'no node_name';
  const node = nodeText.slice(nodeText.lastIndexOf('/') + 1);
  const { l4, opens, portAt } = parseL4(flow.l4, flow.is_reply === true);
  const at: SourceFields = {
    flow: flowAt,
    node: str(value.node_name) ? '/node_name' : `${flowAt}/node_name`,
    time: str(flow.time) ? `${flowAt}/time` : '/time',
    l4: portAt ? `${flowAt}/l4/${portAt}` : `${flowAt}/l4`,
  };
  const ip = isObject(flow.IP) ? flow.IP : {};
  const IP = { ...(str(ip.source) ? { source: str(ip.source) } : {}), ...(str(ip.destination) ? { destination: str(ip.destination) } : {}) };
  const dropReason = str(flow.drop_reason_desc);
  const sourceNames = names(flow.source_names);
  const destinationNames = names(flow.destination_names);
  const summary: ParsedEvent['summary'] = {
    source: endpoint(flow.source),
    destination: endpoint(flow.destination),
    ...(Object.keys(IP).length > 0 ? { IP } : {}),
    l4,
    traffic_direction: direction as FlowSummary['traffic_direction'],
    verdict: verdict as FlowSummary['verdict'],
    ...(verdict !== 'FORWARDED' && dropReason && DROP_REASON.test(dropReason) ? { drop_reason_desc: dropReason } : {}),
    ...(sourceNames ? { source_names: sourceNames } : {}),
    ...(destinationNames ? { destination_names: destinationNames } : {}),
  };
  return { node, time, opens, summary, at };
}

/** `portAt`: where the destination port (ICMP: type) was read, relative to `l4` (e.g. `TCP/destination_port`). */
function parseL4(value: unknown, isReply: boolean): { l4: FlowSummary['l4']; opens: boolean; portAt?: string } {
  const l4 = isObject(value) ? value : {};
  for (const protocol of ['TCP', 'UDP', 'SCTP'] as const) {
    const body = l4[protocol];
    if (!isObject(body)) continue;
    const port = num(body.destination_port);
    const flags = isObject(body.flags) ? body.flags : {};
    const opens = !isReply && (protocol !== 'TCP' || (flags.SYN === true && flags.ACK !== true));
    return { l4: { protocol, ...(port !== undefined ? { destination_port: port } : {}) }, opens, portAt: `${protocol}/destination_port` };
  }
  for (const protocol of ['ICMPv4', 'ICMPv6'] as const) {
    const body = l4[protocol];
    if (!isObject(body)) continue;
    const type = num(body.type);
    return { l4: { protocol, ...(type !== undefined ? { destination_port: type } : {}) }, opens: !isReply, portAt: `${protocol}/type` };
  }
  return { l4: { protocol: 'OTHER' }, opens: !isReply };
}

function endpoint(value: unknown): FlowEndpoint {
  const ep = isObject(value) ? value : {};
  const labels = Array.isArray(ep.labels) ? ep.labels.filter((l): l is string => typeof l === 'string').slice(0, 64) : [];
  const workloads = Array.isArray(ep.workloads)
    ? ep.workloads.filter(isObject).flatMap((w) => (str(w.name) && str(w.kind) ? [{ name: str(w.name)!, kind: str(w.kind)! }] : [])).slice(0, 4)
    : [];
  return {
    identity: num(ep.identity) ?? 0,
    ...(str(ep.cluster_name) ? { cluster_name: str(ep.cluster_name) } : {}),
    ...(str(ep.namespace) ? { namespace: str(ep.namespace) } : {}),
    ...(str(ep.pod_name) ? { pod_name: str(ep.pod_name) } : {}),
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
