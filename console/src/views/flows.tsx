/**
 * Flow explorer: `hubble observe` in the browser, fleet-wide and historical. The filter is the CLI's flags
 * as fields (flows-parts.tsx), kept in the URL (`#/flows?since=24h&verdict=DROPPED&from-namespace=shop`),
 * compiled by the CLI's compiler and sent to POST /flows/query; pages follow the API's continuation token.
 * The coverage statement of the answer is always shown. A row opens its detail, from which POST
 * /clusters/{id}/explain says why the cluster's policies forward or drop that flow. Export downloads the
 * matching records through POST /flows/export as NDJSON or CSV, with the coverage the API states for them.
 *
 * Performance marks: `flows:answered` when a page's answer arrives, `flows:painted` after its rows are
 * painted (bench/console.ts measures between them).
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { FlowExplanation, FlowQueryResult, FlowRecord } from '../../../openapi/types.js';
import { joinableExportPage } from '../../../core/flows/flow-export.js';
import { describeEndpoint, describeLayer7, humanBytes } from '../../../cli/render.js';
import { Badge, Loading, numberColumn, ProblemBox, TableHead, useLoad } from '../components.js';
import { navigate, routeHref } from '../route.js';
import { Coverage, ViewFilterForm, FILTER_GROUPS, type WindowQuery, TimeFields, VerdictBoxes, explainRequestOf, filterParams, joinValues, queryFromParams } from './flows-parts.js';
import type { ViewProps } from './registry.js';

const PAGE_SIZES = [100, 200, 500, 1000];
const EXPORT_LIMIT = 100_000;

export function FlowsView({ api, params }: ViewProps) {
  const filters = filterParams(params);
  const filterKey = filters.toString();
  const size = PAGE_SIZES.includes(Number(params.get('size'))) ? Number(params.get('size')) : 100;
  const compiled = useMemo(() => queryFromParams(filters), [filterKey]);
  return (
    <>
      <h1>Flows</h1>
      <FilterForm key={filterKey} params={params} size={size} />
      {'error' in compiled ? <ProblemBox error={new Error(compiled.error)} /> : <FlowResults key={`${filterKey}|${size}`} api={api} query={compiled.query} size={size} />}
    </>
  );
}

function FilterForm({ params, size }: { params: URLSearchParams; size: number }) {
  const active = [...filterParams(params).keys()].filter((k) => k !== 'since' && k !== 'until');
  return (
    <ViewFilterForm view="flows" label="Flow filter" {...(size !== 100 ? { keep: new URLSearchParams({ size: String(size) }) } : {})}>
      <div class="row">
        <TimeFields params={params} />
        <VerdictBoxes params={params} />
        <label>
          Rows per page
          <select
            value={String(size)}
            onChange={(e) => {
              const next = new URLSearchParams(params);
              next.set('size', (e.target as HTMLSelectElement).value);
              navigate('flows', next);
            }}
          >
            {PAGE_SIZES.map((n) => (
              <option key={n} value={String(n)}>
                {n}
              </option>
            ))}
          </select>
        </label>
        <button class="primary" type="submit">
          Apply filter
        </button>
        <a href={routeHref('flows')}>Clear</a>
      </div>
      <details open={active.length > 0}>
        <summary>More filters (the CLI's flags){active.length > 0 ? ` — ${active.length} set` : ''}</summary>
        {FILTER_GROUPS.map((group) => (
          <fieldset key={group.legend} class="row">
            <legend>{group.legend}</legend>
            {group.fields.map((field) => (
              <label key={field.param}>
                {field.label}
                <input name={field.param} defaultValue={joinValues(params, field.param)} placeholder={field.hint ?? ''} size={16} aria-label={`${group.legend.replace(/ \(.*$/, '')} ${field.label.toLowerCase()} (--${field.param})`} />
              </label>
            ))}
          </fieldset>
        ))}
        <p class="muted">Several values in one field: separate them with commas (values of one field are ORed, fields are ANDed).</p>
      </details>
    </ViewFilterForm>
  );
}

function FlowResults({ api, query, size }: { api: ViewProps['api']; query: WindowQuery; size: number }) {
  const [tokens, setTokens] = useState<Array<string | null>>([null]);
  const [page, setPage] = useState(0);
  const [selected, setSelected] = useState<number | undefined>(undefined);
  const token = tokens[page] ?? null;
  const result = useLoad(async () => {
    const answer = await api<FlowQueryResult>('POST', '/flows/query', { ...query, maxPageSize: size, ...(token ? { continuationToken: token } : {}) });
    performance.mark('flows:answered');
    return answer;
  }, [api, token]);
  useEffect(() => {
    if (!result.data) return;
    // after the rows are committed: the next frame paints them, the task after it runs once painted
    requestAnimationFrame(() => setTimeout(() => performance.mark('flows:painted'), 0));
  }, [result.data]);
  useEffect(() => setSelected(undefined), [page]);
  const next = result.data?.continuationToken ?? null;
  return (
    <Loading loaded={result}>
      {() => {
        const r = result.data!;
        const first = page * size + 1;
        const record = selected === undefined ? undefined : r.items[selected];
        return (
          <>
            <Coverage coverage={r.coverage} />
            <div class="row pager">
              <span aria-live="polite">
                {r.items.length === 0 ? 'No flows matched.' : `Rows ${first}–${first + r.items.length - 1}${next ? ' (more follow)' : ''}`}
              </span>
              <button type="button" disabled={page === 0} onClick={() => setPage(0)}>
                First page
              </button>
              <button type="button" disabled={page === 0} onClick={() => setPage(page - 1)}>
                Previous page
              </button>
              <button
                type="button"
                disabled={!next}
                onClick={() => {
                  setTokens([...tokens.slice(0, page + 1), next]);
                  setPage(page + 1);
                }}
              >
                Next page
              </button>
              <ExportButtons api={api} query={query} />
            </div>
            <FlowTable items={r.items} selected={selected} onSelect={setSelected} />
            {record && <FlowDetail api={api} record={record} onClose={() => setSelected(undefined)} />}
          </>
        );
      }}
    </Loading>
  );
}

const shownTime = (iso: string) => iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');

function FlowTable({ items, selected, onSelect }: { items: FlowRecord[]; selected: number | undefined; onSelect: (i: number) => void }) {
  if (items.length === 0) return null;
  return (
    <table aria-label="Flows" class="flows">
      <TableHead columns={['Time', 'Node', 'Source', 'Destination', 'Port', 'Direction', 'Verdict', 'Reason / policy', numberColumn('Packets'), numberColumn('Bytes'), numberColumn('Flows'), 'L7']} />
      <tbody>
        {items.map((r, i) => {
          const fl = r.flow;
          const why = [fl.drop_reason_desc, fl.policy ? `${fl.policy.name}@${fl.policy.revision}` : undefined].filter(Boolean).join(' ');
          return (
            <tr key={i} class={fl.verdict === 'FORWARDED' ? undefined : 'dropped'} aria-selected={selected === i} onClick={() => onSelect(i)}>
              <td>
                <button type="button" class="linkish" onClick={() => onSelect(i)} aria-label={`${shownTime(r.time)} (details of flow ${i + 1})`}>
                  <time dateTime={r.time}>{shownTime(r.time)}</time>
                </button>
              </td>
              <td>
                {r.cluster}/{r.node_name}
              </td>
              <td>{describeEndpoint(fl.source, fl.IP?.source)}</td>
              <td>{describeEndpoint(fl.destination, fl.IP?.destination)}</td>
              <td>{fl.l4.destination_port === undefined ? fl.l4.protocol : `${fl.l4.protocol}/${fl.l4.destination_port}`}</td>
              <td>{fl.traffic_direction}</td>
              <td>
                <Badge kind={fl.verdict}>{fl.verdict}</Badge>
              </td>
              <td>{why}</td>
              <td class="num">{fl.packets}</td>
              <td class="num">{humanBytes(fl.bytes)}</td>
              <td class="num">{fl.flows}</td>
              <td>{describeLayer7(fl)}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function FlowDetail({ api, record, onClose }: { api: ViewProps['api']; record: FlowRecord; onClose: () => void }) {
  const fl = record.flow;
  const request = explainRequestOf(record);
  const [explained, setExplained] = useState<{ loading: boolean; data?: FlowExplanation; error?: unknown }>({ loading: false });
  const explain = () => {
    if (!('body' in request)) return;
    setExplained({ loading: true });
    api<FlowExplanation>('POST', `/clusters/${encodeURIComponent(record.cluster)}/explain`, request.body).then(
      (data) => setExplained({ loading: false, data }),
      (error: unknown) => setExplained({ loading: false, error }),
    );
  };
  const side = (ep: typeof fl.source, ip: string | undefined) => (
    <>
      <div>{describeEndpoint(ep, ip)}</div>
      <div class="muted mono">
        identity {ep.identity}
        {ep.workloads?.length ? ` · ${ep.workloads.map((w) => `${w.kind}/${w.name}`).join(', ')}` : ''}
      </div>
      {ep.labels?.length ? <div class="mono">{ep.labels.join(' ')}</div> : null}
    </>
  );
  return (
    <section class="panel" aria-labelledby="flow-detail">
      <h2 id="flow-detail">Flow detail</h2>
      <dl class="detail">
        <dt>Window</dt>
        <dd>
          {record.window.start} – {record.window.end}
        </dd>
        <dt>Reported by</dt>
        <dd>
          {record.cluster}/{record.node_name}
        </dd>
        <dt>Source</dt>
        <dd>
          {side(fl.source, fl.IP?.source)}
          {fl.source_names?.length ? <div class="mono">{fl.source_names.join(', ')}</div> : null}
        </dd>
        <dt>Destination</dt>
        <dd>
          {side(fl.destination, fl.IP?.destination)}
          {fl.destination_names?.length ? <div class="mono">{fl.destination_names.join(', ')}</div> : null}
        </dd>
        <dt>Verdict</dt>
        <dd>
          <Badge kind={fl.verdict}>{fl.verdict}</Badge> {fl.drop_reason_desc ?? ''} {fl.policy ? `by ${fl.policy.name}@${fl.policy.revision}` : ''}
        </dd>
        <dt>Traffic</dt>
        <dd>
          {fl.l4.protocol}
          {fl.l4.destination_port !== undefined ? `/${fl.l4.destination_port}` : ''} {fl.traffic_direction} · {fl.packets} packets · {humanBytes(fl.bytes)} · {fl.flows} new connections
        </dd>
        {fl.l7 ? (
          <>
            <dt>L7</dt>
            <dd>{describeLayer7(fl)}</dd>
          </>
        ) : null}
      </dl>
      <div class="row">
        {'body' in request ? (
          <button type="button" class="primary" onClick={explain} disabled={explained.loading}>
            Explain this verdict
          </button>
        ) : (
          <span class="muted">Explain: {request.why}.</span>
        )}
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
      {explained.loading && <p class="muted">Explaining…</p>}
      <ProblemBox error={explained.error} />
      {explained.data && <Explanation x={explained.data} />}
    </section>
  );
}

const VERDICT_OF = { forwarded: 'FORWARDED', dropped: 'DROPPED', audit: 'AUDIT' } as const;

function Explanation({ x }: { x: FlowExplanation }) {
  return (
    <div class="explanation" aria-label="Explanation">
      <p>
        <Badge kind={VERDICT_OF[x.verdict]}>{x.verdict}</Badge> in cluster {x.clusterId} at desired-state revision {x.revision} ({x.protocol}/{x.port})
      </p>
      <ul>
        {x.hooks.length === 0 && <li>Neither side is a workload: no hook of the datapath decides.</li>}
        {x.hooks.map((h) => (
          <li key={h.direction}>
            {h.direction} ({h.direction === 'egress' ? 'at the source' : 'at the destination'}): <Badge kind={VERDICT_OF[h.verdict]}>{h.verdict}</Badge>{' '}
            {h.decidedBy === 'rule' && h.rule ? (
              <span class="mono">
                {h.rule.verdict} rule {h.rule.policy}@{h.rule.generation} {h.rule.pointer} ({h.rule.mode})
              </span>
            ) : (
              <span>{h.decidedBy === 'default-deny' ? 'default deny (selected, no rule allows it)' : h.decidedBy === 'no-policy' ? 'no policy selects the endpoint' : h.decidedBy === 'host' ? 'from the node (allow-localhost)' : h.decidedBy}</span>
            )}
            {h.proxy ? ` → ${h.proxy.toUpperCase()} proxy` : ''}
          </li>
        ))}
      </ul>
      <p class="muted">
        Selecting the source: {x.selecting.source.map((p) => p.policy).join(', ') || 'none'}; the destination: {x.selecting.destination.map((p) => p.policy).join(', ') || 'none'}.
      </p>
      {x.unenforced.length > 0 && (
        <p class="warn">
          Not enforced by the datapath: {x.unenforced.map((u) => `${u.policy} ${u.pointer} (${u.reason})`).join('; ')}
        </p>
      )}
      {x.degradedNodes.length > 0 && <p class="warn">Degraded nodes: {x.degradedNodes.map((n) => `${n.node}: ${n.message}`).join('; ')}</p>}
      {x.assumptions.length > 0 && (
        <details>
          <summary>Assumptions</summary>
          <ul>
            {x.assumptions.map((a) => (
              <li key={a}>{a}</li>
            ))}
          </ul>
        </details>
      )}
    </div>
  );
}

type ExportFormat = 'ndjson' | 'csv';
const EXPORT_TYPES: Record<ExportFormat, string> = { ndjson: 'application/x-ndjson', csv: 'text/csv' };

/**
 * Every matching record (up to EXPORT_LIMIT) through POST /flows/export in pages of 10,000 (following its
 * Continuation-Token header), downloaded as one file; the Flow-Coverage header is shown beside it.
 */
function ExportButtons({ api, query }: { api: ViewProps['api']; query: object }) {
  const [state, setState] = useState<{ busy?: ExportFormat; count: number; coverage?: string; error?: unknown }>({ count: 0 });
  const run = async (format: ExportFormat) => {
    setState({ busy: format, count: 0 });
    try {
      const parts: string[] = [];
      let count = 0;
      let token: string | null = null;
      let coverage: string | undefined;
      do {
        const body = { ...query, maxPageSize: Math.min(10_000, EXPORT_LIMIT - count), ...(token ? { continuationToken: token } : {}) };
        const response = await api.raw('POST', `/flows/export?format=${format}`, body, EXPORT_TYPES[format]);
        const page = joinableExportPage(await response.text(), format, parts.length === 0);
        parts.push(page.text);
        count += page.records;
        token = response.headers.get('continuation-token');
        coverage = response.headers.get('flow-coverage') ?? coverage;
        setState({ busy: format, count });
      } while (token && count < EXPORT_LIMIT);
      download(parts, EXPORT_TYPES[format], `flows-${new Date().toISOString().replace(/[:.]/g, '-')}.${format}`);
      setState({ count, ...(coverage ? { coverage } : {}) });
    } catch (error) {
      setState({ count: 0, error });
    }
  };
  return (
    <>
      {(['ndjson', 'csv'] as const).map((format) => (
        <button key={format} type="button" onClick={() => void run(format)} disabled={state.busy !== undefined}>
          {state.busy === format ? `Exporting… ${state.count}` : `Export ${format.toUpperCase()}`}
        </button>
      ))}
      {!state.busy && state.coverage && (
        <span class="muted" role="status">
          exported {state.count} records; coverage: {state.coverage}
        </span>
      )}
      <ProblemBox error={state.error} />
    </>
  );
}

function download(parts: string[], type: string, name: string): void {
  const url = URL.createObjectURL(new Blob(parts, { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
