/**
 * Replay, pass 1 (pure, policy-free, runs where summaries are decoded): stored flow summaries → groups
 * of summaries a policy decides alike, plus the summaries replay cannot judge and why.
 *
 * A summary is judged at the hook that recorded it (`traffic_direction`): EGRESS at its source,
 * INGRESS at its destination. That hook's endpoint (the subject) must be a workload; the other side
 * (the peer) is a workload (its label set), a reserved entity, an address (with learned names), a CIDR
 * prefix (the summary's `cidr:` label when no single address is known) or the family's world. The
 * group key is (cluster, direction, subject labels, peer, protocol, policy port): everything core's
 * evaluateFlow reads, so every summary of a group gets one verdict under any policy set, and replay
 * evaluates each group once (pass 2, replay-changes.ts); within a group, sums and examples are kept per
 * recorded verdict.
 *
 * Not judged (counted by reason, with examples):
 * - `l7`: L7 summaries (the proxies' DNS/HTTP decisions are not replayed; the L3/L4 summary of the same
 *   traffic is);
 * - `direction-unknown`: imported Hubble flows without a direction;
 * - `subject-not-workload`: the recording hook's endpoint carries no workload labels (e.g. imported
 *   flows without labels);
 * - `peer-labels-missing`: a workload peer (identity ≥ 256 below the CIDR range) without labels;
 * - `protocol-other`: not TCP, UDP, SCTP, ICMPv4 or ICMPv6;
 * - `not-policy-drop`: drops no policy decided (conntrack full, unsupported L3, proxy missing, …):
 *   another policy would not change them.
 */
import type { FlowEndpoint, FlowRecord } from '../../../openapi/types.js';
import { canonicalLabelSet } from '../../labels/cilium-labels.js';
import { RESERVED_IDENTITIES } from '../resolve/reserved-identities.js';

export type RecordedVerdict = 'FORWARDED' | 'DROPPED' | 'AUDIT';

/** The peer as replay knows it. */
export type ReplayPeer =
  | { kind: 'workload'; labels: string[] }
  | { kind: 'entity'; entity: string }
  | { kind: 'address'; address: string; names?: string[] }
  | { kind: 'prefix'; cidr: string }
  | { kind: 'world'; family: 4 | 6 };

export interface ReplayGroupKey {
  cluster: string;
  direction: 'ingress' | 'egress';
  subjectLabels: string[];
  peer: ReplayPeer;
  protocol: number;
  port: number;
  /** the subject's and the peer's fields as encoded in the key (equal texts: equal sides) */
  subjectText: string;
  peerText: string;
}

export interface ReplaySums {
  summaries: number;
  packets: number;
  bytes: number;
  flows: number;
  /** window ends of the first and last summary (RFC 3339); empty while there is none */
  firstSeen: string;
  lastSeen: string;
}

/** Summaries of one recorded verdict in a group. */
export interface RecordedPart<E> {
  sums: ReplaySums;
  /** the first few summaries (by order of arrival) */
  examples: E[];
}

/** A group as pass 1 keeps it: strings and numbers only, so parts cross threads cheaply. `E` is what
 *  an example is: the record itself, or a reference the caller resolves later (a stored position). */
export interface ReplayGroup<E> {
  /** the group key, encoded (parseReplayKey) */
  key: string;
  /** the subject's and the peer's display names (namespace/workload, namespace/pod, address, entity) */
  subjectName: string;
  peerName: string;
  /** the group's summaries by the verdict they were recorded with */
  recorded: Partial<Record<RecordedVerdict, RecordedPart<E>>>;
}

export type UnjudgedReason = 'l7' | 'direction-unknown' | 'subject-not-workload' | 'peer-labels-missing' | 'protocol-other' | 'not-policy-drop';

export interface UnjudgedPart<E> {
  reason: UnjudgedReason;
  sums: ReplaySums;
  examples: E[];
}

/** What pass 1 produces; parts from several folds merge (mergeReplayParts). Plain data (structured-clone
 *  safe). A grouper's part is compact: its keys name the subject's label set and the encoded peer by
 *  index into `labelSets`; merged parts carry full keys (parseReplayKey) and no table. */
export interface ReplayPart<E> {
  groups: Array<ReplayGroup<E>>;
  unjudged: Array<UnjudgedPart<E>>;
  labelSets?: string[];
}

export const MAX_EXAMPLES = 3;
const PROTOCOLS: Readonly<Record<string, number>> = { TCP: 6, UDP: 17, SCTP: 132, ICMPv4: 1, ICMPv6: 58 };
const POLICY_DROPS = new Set(['POLICY_DENIED', 'POLICY_DENY']);
const RESERVED_NAMES = new Map(RESERVED_IDENTITIES.map(([name, id]) => [id, name]));
const WORKLOAD_FIRST = 256;
const CIDR_FIRST = 2 ** 24;

/** `cidr:<key>=` label → the prefix text (IPv6 dashes back to colons). */
function cidrOfLabels(labels: readonly string[] | undefined): string | undefined {
  const label = labels?.find((l) => l.startsWith('cidr:'));
  if (!label) return undefined;
  const key = label.slice(5, label.endsWith('=') ? -1 : undefined);
  return key.includes('-') ? key.replace(/-/g, ':') : key;
}

function familyOf(record: FlowRecord, address: string | undefined): 4 | 6 {
  if (record.flow.IP?.ipVersion) return record.flow.IP.ipVersion === 'IPv6' ? 6 : 4;
  return address?.includes(':') ? 6 : 4;
}

const isWorkload = (e: FlowEndpoint): boolean => e.identity >= WORKLOAD_FIRST && e.identity < CIDR_FIRST;

/** The peer side of a summary whose peer is not a workload. */
function otherPeerOf(record: FlowRecord, e: FlowEndpoint, address: string | undefined, names: readonly string[] | undefined): ReplayPeer {
  const reserved = RESERVED_NAMES.get(e.identity);
  if (reserved && reserved !== 'world' && reserved !== 'world-ipv4' && reserved !== 'world-ipv6') return { kind: 'entity', entity: reserved };
  if (address) return { kind: 'address', address, ...(names && names.length > 0 ? { names: [...names].sort() } : {}) };
  const cidr = cidrOfLabels(e.labels);
  if (cidr && e.identity >= CIDR_FIRST) return { kind: 'prefix', cidr };
  return { kind: 'world', family: familyOf(record, address) };
}

// Key encoding: fields joined by FS; a label set's labels by LS (labels never contain control characters).
const FS = '\u0000';
const LS = '\u0001';

function encodePeer(p: ReplayPeer): string {
  switch (p.kind) {
    case 'workload':
      return `w${p.labels.join(LS)}`;
    case 'entity':
      return `e${p.entity}`;
    case 'address':
      return `a${p.address}${p.names && p.names.length > 0 ? LS + p.names.join(LS) : ''}`;
    case 'prefix':
      return `p${p.cidr}`;
    case 'world':
      return `x${p.family}`;
  }
}

function decodePeer(text: string): ReplayPeer {
  const body = text.slice(1);
  switch (text[0]) {
    case 'w':
      return { kind: 'workload', labels: body.split(LS) };
    case 'e':
      return { kind: 'entity', entity: body };
    case 'a': {
      const [address, ...names] = body.split(LS);
      return names.length > 0 ? { kind: 'address', address: address as string, names } : { kind: 'address', address: address as string };
    }
    case 'p':
      return { kind: 'prefix', cidr: body };
    default:
      return { kind: 'world', family: body === '6' ? 6 : 4 };
  }
}

/** The key of a group (ReplayGroup.key) as fields. */
export function parseReplayKey(key: string): ReplayGroupKey {
  const [cluster, direction, subject, peer, protocol, port] = key.split(FS) as [string, string, string, string, string, string];
  return { cluster, direction: direction === 'E' ? 'egress' : 'ingress', subjectLabels: subject.split(LS), peer: decodePeer(peer), protocol: Number(protocol), port: Number(port), subjectText: subject, peerText: peer };
}

/** The cluster of a group key (its first field). */
export const clusterOfReplayKey = (key: string): string => key.slice(0, key.indexOf(FS));

/** A short name for an endpoint: namespace/pod, else namespace/workload, else identity labels. */
export function endpointName(e: FlowEndpoint, address?: string): string {
  if (e.namespace && e.workloads?.[0]) return `${e.namespace}/${e.workloads[0].name}`;
  if (e.namespace && e.pod_name) return `${e.namespace}/${e.pod_name}`;
  const reserved = RESERVED_NAMES.get(e.identity);
  if (address) return address;
  if (reserved) return reserved;
  return cidrOfLabels(e.labels) ?? `identity ${e.identity}`;
}

/** No summaries yet: the times are empty until the first one is added. */
const emptySums = (): ReplaySums => ({ summaries: 0, packets: 0, bytes: 0, flows: 0, firstSeen: '', lastSeen: '' });

function addRecord(sums: ReplaySums, r: FlowRecord): void {
  if (sums.summaries === 0) sums.firstSeen = sums.lastSeen = r.time;
  sums.summaries++;
  sums.packets += r.flow.packets;
  sums.bytes += r.flow.bytes;
  sums.flows += r.flow.flows;
  if (r.time < sums.firstSeen) sums.firstSeen = r.time;
  if (r.time > sums.lastSeen) sums.lastSeen = r.time;
}

function addSums(sums: ReplaySums, more: ReplaySums): void {
  if (more.summaries === 0) return;
  if (sums.summaries === 0) {
    sums.firstSeen = more.firstSeen;
    sums.lastSeen = more.lastSeen;
  }
  sums.summaries += more.summaries;
  sums.packets += more.packets;
  sums.bytes += more.bytes;
  sums.flows += more.flows;
  if (more.firstSeen < sums.firstSeen) sums.firstSeen = more.firstSeen;
  if (more.lastSeen > sums.lastSeen) sums.lastSeen = more.lastSeen;
}

/** Groups summaries as they are scanned. Per summary it does little: label sets are interned (by the
 *  endpoint's identity, checked label by label), groups are found through numeric keys, and an example
 *  is made only while a group still wants one. */
export class ReplayGrouper<E> {
  /** cluster → (subject, peer, direction) → (protocol, port) → group */
  private readonly groups = new Map<string, Map<number, Map<number, ReplayGroup<E>>>>();
  private readonly all: Array<ReplayGroup<E>> = [];
  private readonly unjudged = new Map<UnjudgedReason, UnjudgedPart<E>>();
  /** interned texts: canonical label sets (subjects) and encoded peers; ReplayPart.labelSets */
  private readonly texts: string[] = [];
  private readonly textIds = new Map<string, number>();
  /** identity → label arrays seen with it and their subject and peer text ids */
  private readonly byIdentity = new Map<number, Array<{ labels: readonly string[]; subject: number; peer: number }>>();

  /** @param examplesPerGroup examples kept per group and recorded verdict (parts that will be merged
   *  with many others can keep fewer) */
  constructor(private readonly examplesPerGroup = MAX_EXAMPLES) {}

  /** `example` is called only when the summary becomes one of its group's examples. */
  add(record: FlowRecord, example: () => E): void {
    const reason = this.group(record, example);
    if (reason === undefined) return;
    let part = this.unjudged.get(reason);
    if (!part) this.unjudged.set(reason, (part = { reason, sums: emptySums(), examples: [] }));
    addRecord(part.sums, record);
    if (part.examples.length < MAX_EXAMPLES) part.examples.push(example());
  }

  /** Adds the record to its group; returns the reason when it cannot be judged. */
  private group(record: FlowRecord, example: () => E): UnjudgedReason | undefined {
    const f = record.flow;
    if (f.l7) return 'l7';
    if (f.traffic_direction !== 'INGRESS' && f.traffic_direction !== 'EGRESS') return 'direction-unknown';
    const protocol = PROTOCOLS[f.l4.protocol];
    if (protocol === undefined) return 'protocol-other';
    if (f.verdict === 'DROPPED' && f.drop_reason_desc !== undefined && !POLICY_DROPS.has(f.drop_reason_desc)) return 'not-policy-drop';
    const egress = f.traffic_direction === 'EGRESS';
    const subject = egress ? f.source : f.destination;
    const other = egress ? f.destination : f.source;
    if (!isWorkload(subject) || !subject.labels || subject.labels.length === 0) return 'subject-not-workload';
    const peerAddress = egress ? f.IP?.destination : f.IP?.source;
    let peer: number;
    if (isWorkload(other)) {
      if (!other.labels || other.labels.length === 0) return 'peer-labels-missing';
      peer = this.labelIds(other.identity, other.labels).peer;
    } else {
      peer = this.intern(encodePeer(otherPeerOf(record, other, peerAddress, egress ? f.destination_names : f.source_names)));
    }
    const subjectId = this.labelIds(subject.identity, subject.labels).subject;
    const port = f.l4.destination_port ?? 0;
    let byPair = this.groups.get(record.cluster);
    if (!byPair) this.groups.set(record.cluster, (byPair = new Map()));
    const pair = subjectId * 2 ** 22 + peer * 2 + (egress ? 1 : 0);
    let byPort = byPair.get(pair);
    if (!byPort) byPair.set(pair, (byPort = new Map()));
    let g = byPort.get(protocol * 65536 + port);
    if (!g) {
      g = { key: `${record.cluster}${FS}${egress ? 'E' : 'I'}${FS}${subjectId}${FS}${peer}${FS}${protocol}${FS}${port}`, subjectName: endpointName(subject), peerName: endpointName(other, peerAddress), recorded: {} };
      byPort.set(protocol * 65536 + port, g);
      this.all.push(g);
    }
    let r = g.recorded[f.verdict];
    if (!r) g.recorded[f.verdict] = r = { sums: emptySums(), examples: [] };
    addRecord(r.sums, record);
    if (r.examples.length < this.examplesPerGroup) r.examples.push(example());
    return undefined;
  }

  private intern(text: string): number {
    let id = this.textIds.get(text);
    if (id === undefined) {
      id = this.texts.length;
      this.textIds.set(text, id);
      this.texts.push(text);
    }
    return id;
  }

  /** The interned ids of a workload's label set as a subject (the canonical set) and as a peer (`w` + it). */
  private labelIds(identity: number, labels: readonly string[]): { subject: number; peer: number } {
    const seen = this.byIdentity.get(identity);
    if (seen) {
      for (const s of seen) {
        if (s.labels.length !== labels.length) continue;
        let same = true;
        for (let i = 0; i < labels.length && same; i++) same = s.labels[i] === labels[i];
        if (same) return s;
      }
    }
    const canonical = canonicalLabelSet(labels).join(LS);
    const entry = { labels: [...labels], subject: this.intern(canonical), peer: this.intern(`w${canonical}`) };
    if (seen) seen.push(entry);
    else this.byIdentity.set(identity, [entry]);
    return entry;
  }

  part(): ReplayPart<E> {
    return { groups: this.all, unjudged: [...this.unjudged.values()], labelSets: this.texts };
  }
}

/** A compact key (ReplayPart.labelSets) with its subject and peer written out. */
function expandKey(key: string, texts: readonly string[]): string {
  const fields = key.split(FS);
  fields[2] = texts[Number(fields[2])] ?? '';
  fields[3] = texts[Number(fields[3])] ?? '';
  return fields.join(FS);
}

/** Merges pass-1 parts (from several folds) into one, with full keys. */
export function mergeReplayParts<E>(parts: Iterable<ReplayPart<E>>): ReplayPart<E> {
  const groups = new Map<string, ReplayGroup<E>>();
  const unjudged = new Map<UnjudgedReason, UnjudgedPart<E>>();
  for (const part of parts) {
    for (const compact of part.groups) {
      const g = part.labelSets ? { ...compact, key: expandKey(compact.key, part.labelSets) } : compact;
      const hit = groups.get(g.key);
      if (!hit) {
        groups.set(g.key, { ...g, recorded: Object.fromEntries(Object.entries(g.recorded).map(([v, r]) => [v, { sums: { ...r.sums }, examples: [...r.examples] }])) });
        continue;
      }
      for (const [verdict, r] of Object.entries(g.recorded) as Array<[RecordedVerdict, RecordedPart<E>]>) {
        const mine = hit.recorded[verdict];
        if (!mine) {
          hit.recorded[verdict] = { sums: { ...r.sums }, examples: [...r.examples] };
          continue;
        }
        addSums(mine.sums, r.sums);
        for (const e of r.examples) if (mine.examples.length < MAX_EXAMPLES) mine.examples.push(e);
      }
    }
    for (const u of part.unjudged) {
      const hit = unjudged.get(u.reason);
      if (!hit) unjudged.set(u.reason, { ...u, sums: { ...u.sums }, examples: [...u.examples] });
      else {
        addSums(hit.sums, u.sums);
        for (const e of u.examples) if (hit.examples.length < MAX_EXAMPLES) hit.examples.push(e);
      }
    }
  }
  return { groups: [...groups.values()], unjudged: [...unjudged.values()] };
}

export { addSums as addReplaySums, emptySums as emptyReplaySums };
