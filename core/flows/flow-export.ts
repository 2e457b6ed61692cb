/**
 * Flow records as NDJSON lines and CSV rows.
 *
 * Contracts:
 * - NDJSON: one FlowRecord as compact JSON per line, each line ending in `\n`.
 * - CSV (RFC 4180): the header row first, CRLF line ends; a field is quoted when it contains a comma,
 *   quote, CR or LF (quotes doubled). Lists (labels, names) are joined with `;`. Absent values are empty.
 *   New columns are appended (`ip_version`: IP.ipVersion, else the version of the addresses; then the L7
 *   DNS fields `l7_type`, `l7_latency_ns`, `dns_query`, `dns_qtypes`, `dns_rcode` (numeric), `dns_ips`,
 *   `dns_ttl`, `dns_cnames`, empty for other summaries; then the L7 HTTP fields `http_method`,
 *   `http_status_code`, `http_url` (the path key), `http_protocol`, empty for other summaries), so column
 *   positions stay stable.
 */
import type { FlowEndpoint, FlowRecord } from '../../openapi/types.js';
import { ipVersionOf } from './flow-filter.js';

export function toNdjsonLine(record: FlowRecord): string {
  return `${JSON.stringify(record)}\n`;
}

type Cell = string | number | undefined;

const endpointColumns = (prefix: string, ep: (r: FlowRecord) => FlowEndpoint): Array<[string, (r: FlowRecord) => Cell]> => [
  [`${prefix}_namespace`, (r) => ep(r).namespace],
  [`${prefix}_pod`, (r) => ep(r).pod_name],
  [`${prefix}_workload`, (r) => ep(r).workloads?.map((w) => `${w.kind}/${w.name}`).join(';')],
  [`${prefix}_identity`, (r) => ep(r).identity],
  [`${prefix}_labels`, (r) => ep(r).labels?.join(';')],
  [`${prefix}_cluster`, (r) => ep(r).cluster_name],
];

export const CSV_COLUMNS: ReadonlyArray<[string, (r: FlowRecord) => Cell]> = [
  ['time', (r) => r.time],
  ['cluster', (r) => r.cluster],
  ['node_name', (r) => r.node_name],
  ['window_start', (r) => r.window.start],
  ['window_end', (r) => r.window.end],
  ['verdict', (r) => r.flow.verdict],
  ['drop_reason_desc', (r) => r.flow.drop_reason_desc],
  ['traffic_direction', (r) => r.flow.traffic_direction],
  ['protocol', (r) => r.flow.l4.protocol],
  ['source_port', (r) => r.flow.l4.source_port],
  ['destination_port', (r) => r.flow.l4.destination_port],
  ...endpointColumns('source', (r) => r.flow.source),
  ['source_ip', (r) => r.flow.IP?.source],
  ['source_names', (r) => r.flow.source_names?.join(';')],
  ...endpointColumns('destination', (r) => r.flow.destination),
  ['destination_ip', (r) => r.flow.IP?.destination],
  ['destination_names', (r) => r.flow.destination_names?.join(';')],
  ['policy', (r) => r.flow.policy?.name],
  ['policy_revision', (r) => r.flow.policy?.revision],
  ['packets', (r) => r.flow.packets],
  ['bytes', (r) => r.flow.bytes],
  ['flows', (r) => r.flow.flows],
  ['first_seen', (r) => r.flow.first_seen],
  ['last_seen', (r) => r.flow.last_seen],
  ['ip_version', (r) => ipVersionOf(r.flow)],
  ['l7_type', (r) => r.flow.l7?.type],
  ['l7_latency_ns', (r) => r.flow.l7?.latency_ns],
  ['dns_query', (r) => r.flow.l7?.dns?.query],
  ['dns_qtypes', (r) => r.flow.l7?.dns?.qtypes.join(';')],
  ['dns_rcode', (r) => r.flow.l7?.dns?.rcode],
  ['dns_ips', (r) => r.flow.l7?.dns?.ips.join(';')],
  ['dns_ttl', (r) => r.flow.l7?.dns?.ttl],
  ['dns_cnames', (r) => r.flow.l7?.dns?.cnames?.join(';')],
  ['http_method', (r) => r.flow.l7?.http?.method],
  ['http_status_code', (r) => r.flow.l7?.http?.code],
  ['http_url', (r) => r.flow.l7?.http?.url],
  ['http_protocol', (r) => r.flow.l7?.http?.protocol],
];

export function escapeCsvField(value: Cell): string {
  if (value === undefined) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvHeader(): string {
  return `${CSV_COLUMNS.map(([name]) => name).join(',')}\r\n`;
}

export function toCsvRow(record: FlowRecord): string {
  return `${CSV_COLUMNS.map(([, pick]) => escapeCsvField(pick(record))).join(',')}\r\n`;
}

/** Parses CSV text produced by csvHeader/toCsvRow back into rows of strings (tests, CLI). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || (ch === '\r' && text[i + 1] === '\n')) {
      if (ch === '\r') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += ch;
  }
  if (field !== '' || row.length > 0) rows.push([...row, field]);
  return rows;
}

/**
 * One exportFlows answer made ready to append to the answers before it (the pages of one export, joined by
 * the CLI and the console): a CSV page after the first loses its header row. `records` is how many flow
 * records the returned text holds.
 */
export function joinableExportPage(text: string, format: 'csv' | 'ndjson', first: boolean): { text: string; records: number } {
  if (format === 'ndjson') return { text, records: text.match(/\n/g)?.length ?? 0 };
  const body = first ? text : text.slice(text.indexOf('\r\n') + 2);
  return { text: body, records: Math.max(0, parseCsv(body).length - (first ? 1 : 0)) };
}
