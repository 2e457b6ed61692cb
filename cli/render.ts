/** Plain-text rendering for people: aligned tables, short endpoint names, human numbers. */
import type { FlowEndpoint, FlowRecord, FlowCoverage } from '../openapi/types.js';
import { paint, verdictColour, visibleLength } from './colour.js';

/** Columns aligned on the text as shown: cells may carry colour escapes (colour.ts). */
export function renderTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => visibleLength(r[i] ?? ''))));
  const pad = (c: string, width: number) => c + ' '.repeat(Math.max(0, width - visibleLength(c)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : pad(c, widths[i]!))).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

export function describeEndpoint(ep: FlowEndpoint, ip?: string): string {
  if (ep.namespace) return `${ep.namespace}/${ep.pod_name ?? ep.workloads?.[0]?.name ?? `identity:${ep.identity}`}`;
  const reserved = ep.labels?.find((l) => l.startsWith('reserved:'))?.split('=')[0];
  const name = reserved ?? `identity:${ep.identity}`;
  return ip ? `${name} (${ip})` : name;
}

export function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** `colour`: paint verdicts (DROPPED red, AUDIT yellow, FORWARDED green). */
export function flowRows(records: readonly FlowRecord[], colour = false): string[][] {
  return records.map((r) => {
    const f = r.flow;
    const port = f.l4.destination_port === undefined ? f.l4.protocol : `${f.l4.protocol}/${f.l4.destination_port}`;
    const why = [f.drop_reason_desc, f.policy ? `${f.policy.name}@${f.policy.revision}` : undefined].filter(Boolean).join(' ');
    return [r.time.replace('T', ' ').replace(/\.\d+Z$/, 'Z'), `${r.cluster}/${r.node_name}`, describeEndpoint(f.source, f.IP?.source), describeEndpoint(f.destination, f.IP?.destination), port, f.traffic_direction, paint(f.verdict, verdictColour(f.verdict), colour), why, String(f.packets), humanBytes(f.bytes), String(f.flows), describeLayer7(f)];
  });
}

/** The last column: empty for L3/L4 summaries. */
export const FLOW_HEADERS = ['TIME', 'NODE', 'SOURCE', 'DESTINATION', 'PORT', 'DIRECTION', 'VERDICT', 'REASON/POLICY', 'PACKETS', 'BYTES', 'FLOWS', 'L7'];

const RCODE_NAMES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'];
const SHOWN_IPS = 3;

/** Hubble's rcode name of a numeric rcode (`RCODE_n` beyond the classic ones). */
export function rcodeName(rcode: number): string {
  return RCODE_NAMES[rcode] ?? `RCODE_${rcode}`;
}

/**
 * An L7 summary for people. DNS: `dns <query> <qtypes> → <RCODE> <ips> ttl <n>s` (at most 3 addresses,
 * then `+n`); packets of a DNS summary are its queries. HTTP: `http <METHOD> <path key> → <code> <protocol>`
 * (`-` for an empty method or path, `no response` for code 0); packets are its requests. `''` for a summary
 * without either.
 */
export function describeLayer7(flow: FlowRecord['flow']): string {
  const http = flow.l7?.http;
  if (http) return ['http', http.method || '-', http.url || '-', '→', http.code === 0 ? 'no response' : String(http.code), ...(http.protocol ? [http.protocol] : [])].join(' ');
  const dns = flow.l7?.dns;
  if (!dns) return '';
  const ips = dns.ips.length === 0 ? [] : [dns.ips.slice(0, SHOWN_IPS).join(',') + (dns.ips.length > SHOWN_IPS ? ` +${dns.ips.length - SHOWN_IPS}` : '')];
  const ttl = dns.ips.length > 0 ? [`ttl ${dns.ttl}s`] : [];
  return ['dns', dns.query, dns.qtypes.join(',') || '-', '→', rcodeName(dns.rcode), ...ips, ...ttl].join(' ');
}

/** One line for stderr: what the answer is based on, and a warning when it is incomplete. */
export function describeCoverage(coverage: FlowCoverage): string {
  const nodes = coverage.clusters.flatMap((c) => c.nodes);
  const gaps = nodes.flatMap((n) => n.gaps.map((g) => `${n.node_name}:${g.from}-${g.to}`));
  const lost = nodes.reduce((sum, n) => sum + n.lost.summaries, 0);
  // `?? 0`: an older API answers without the kernel fields
  const kernel = nodes.reduce((sum, n) => ({ packets: sum.packets + (n.lost.packets ?? 0), bytes: sum.bytes + (n.lost.bytes ?? 0), flows: sum.flows + (n.lost.flows ?? 0) }), { packets: 0, bytes: 0, flows: 0 });
  const parts = [`${coverage.clusters.length} cluster(s), ${nodes.length} node(s) reported between ${coverage.since} and ${coverage.until}`];
  if (coverage.clustersWithoutData.length > 0) parts.push(`no data from ${coverage.clustersWithoutData.join(', ')}`);
  if (gaps.length > 0) parts.push(`INCOMPLETE: missing batches ${gaps.slice(0, 5).join(', ')}${gaps.length > 5 ? ` (+${gaps.length - 5})` : ''}`);
  if (lost > 0) parts.push(`INCOMPLETE: agents reported ${lost} summaries lost`);
  if (kernel.packets > 0 || kernel.flows > 0) parts.push(`INCOMPLETE: node kernels could not count ${kernel.packets} packets (${humanBytes(kernel.bytes)}, ${kernel.flows} new connections): flow map full`);
  return `coverage: ${parts.join('; ')}`;
}
