/**
 * Drops: DROPPED and AUDIT flows (`fleetnet flows drops`: verdict DROPPED, AUDIT unless the URL names
 * verdicts) by deciding policy, by drop reason and by workload pair — POST /flows/aggregations, numbers as
 * the API sums them — and their trend over the window: the window the API resolved (its coverage) cut into
 * TREND_BUCKETS intervals, one aggregation each, drawn as an inline SVG bar chart. Each group links to the
 * flow explorer with the same filter.
 */
import type { ComponentChildren } from 'preact';
import { useMemo } from 'preact/hooks';
import type { FlowAggregationQuery, FlowAggregationResult, FlowGroup } from '../../../openapi/types.js';
import { humanBytes } from '../../../cli/render.js';
import { Badge, Loading, numberColumn, TableHead, useLoad } from '../components.js';
import { routeHref } from '../route.js';
import { Coverage, NamespaceVerdictsSubmit, ViewFilterForm, TimeFields, filterParams, queryFromParams, type WindowQuery } from './flows-parts.js';
import type { ViewProps } from './registry.js';

const TREND_BUCKETS = 12;

interface Drops {
  byPolicy: FlowAggregationResult;
  byReason: FlowAggregationResult;
  byWorkload: FlowAggregationResult;
  trend: Array<{ since: string; until: string; DROPPED: number; AUDIT: number }>;
}

async function loadDrops(api: ViewProps['api'], query: WindowQuery): Promise<Drops> {
  const aggregate = (body: FlowAggregationQuery) => api<FlowAggregationResult>('POST', '/flows/aggregations', body);
  const [byPolicy, byReason, byWorkload] = await Promise.all([
    aggregate({ ...query, groupBy: ['policy', 'verdict'], orderBy: 'flows' }),
    aggregate({ ...query, groupBy: ['drop_reason_desc', 'verdict'], orderBy: 'flows' }),
    aggregate({ ...query, groupBy: ['source_namespace', 'source_workload', 'destination_namespace', 'destination_workload'], orderBy: 'flows', top: 20 }),
  ]);
  // the window as the API resolved it (relative times are now absolute), cut into equal intervals
  const start = Date.parse(byPolicy.coverage.since);
  const end = Date.parse(byPolicy.coverage.until);
  const step = (end - start) / TREND_BUCKETS;
  const trend = await Promise.all(
    Array.from({ length: TREND_BUCKETS }, async (_, i) => {
      const since = new Date(start + i * step).toISOString();
      const until = new Date(i === TREND_BUCKETS - 1 ? end : start + (i + 1) * step).toISOString();
      const r = await aggregate({ ...query, since, until, groupBy: ['verdict'], orderBy: 'flows' });
      const flowsOf = (v: string) => r.groups.find((g) => g.key.verdict === v)?.flows ?? 0;
      return { since, until, DROPPED: flowsOf('DROPPED'), AUDIT: flowsOf('AUDIT') };
    }),
  );
  return { byPolicy, byReason, byWorkload, trend };
}

export function DropsView({ api, params }: ViewProps) {
  const filters = filterParams(params);
  const filterKey = filters.toString();
  const compiled = useMemo(() => queryFromParams(filters, { verdict: ['DROPPED', 'AUDIT'] }), [filterKey]);
  const drops = useLoad(() => ('error' in compiled ? Promise.reject(new Error(compiled.error)) : loadDrops(api, compiled.query)), [api, filterKey]);
  const verdicts = params.getAll('verdict').length > 0 ? params.getAll('verdict') : ['DROPPED', 'AUDIT'];
  /** explorer link: this view's filter, its verdicts, plus `extra` */
  const explore = (extra: Record<string, string | null | undefined>) => {
    const p = new URLSearchParams(filters);
    if (!p.has('verdict')) for (const v of verdicts) p.append('verdict', v);
    for (const [k, v] of Object.entries(extra)) if (v !== null && v !== undefined) p.set(k, v);
    return routeHref('flows', p);
  };
  return (
    <>
      <h1>Drops</h1>
      <ViewFilterForm key={filterKey} view="drops" label="Drops filter">
        <div class="row">
          <TimeFields params={params} />
          <label>
            Cluster
            <input name="cluster" defaultValue={params.getAll('cluster').join(', ')} size={14} />
          </label>
          <NamespaceVerdictsSubmit params={params} />
        </div>
        <p class="muted">Without a verdict chosen: DROPPED and AUDIT (audit = would have been dropped by a policy in audit mode).</p>
      </ViewFilterForm>
      <Loading loaded={drops}>
        {() => {
          const d = drops.data!;
          const t = d.byPolicy.totals;
          return (
            <>
              <Coverage coverage={d.byPolicy.coverage} />
              <div class="counts panel" aria-label="Totals">
                <div>
                  <strong class="bad" data-total="flows">{t.flows}</strong>new connections
                </div>
                <div>
                  <strong data-total="packets">{t.packets}</strong>packets
                </div>
                <div>
                  <strong data-total="bytes">{humanBytes(t.bytes)}</strong>bytes
                </div>
                <div>
                  <strong data-total="summaries">{t.summaries}</strong>summaries
                </div>
              </div>
              <h2 id="trend-title">Trend</h2>
              <TrendChart trend={d.trend} />
              <div class="row top">
                <GroupTable
                  title="By policy"
                  result={d.byPolicy}
                  columns={[['Policy', (g) => (g.key.policy === null ? <span class="muted">none (default deny or no rule)</span> : String(g.key.policy))], ['Verdict', (g) => <Badge kind={String(g.key.verdict)}>{String(g.key.verdict)}</Badge>]]}
                  link={(g) => (g.key.policy === null ? undefined : explore({ policy: String(g.key.policy), verdict: String(g.key.verdict) }))}
                />
                <GroupTable
                  title="By reason"
                  result={d.byReason}
                  columns={[['Reason', (g) => String(g.key.drop_reason_desc ?? '—')], ['Verdict', (g) => <Badge kind={String(g.key.verdict)}>{String(g.key.verdict)}</Badge>]]}
                  link={(g) => (g.key.drop_reason_desc === null ? undefined : explore({ 'drop-reason': String(g.key.drop_reason_desc), verdict: String(g.key.verdict) }))}
                />
              </div>
              <GroupTable
                title="By workload (top 20 pairs)"
                result={d.byWorkload}
                columns={[
                  ['Source', (g) => (g.key.source_namespace ? `${g.key.source_namespace}/${g.key.source_workload}` : <span class="muted">outside the cluster</span>)],
                  ['Destination', (g) => (g.key.destination_namespace ? `${g.key.destination_namespace}/${g.key.destination_workload}` : <span class="muted">outside the cluster</span>)],
                ]}
                link={(g) =>
                  g.key.source_namespace && g.key.destination_namespace
                    ? explore({ 'from-namespace': String(g.key.source_namespace), 'from-workload': String(g.key.source_workload), 'to-namespace': String(g.key.destination_namespace), 'to-workload': String(g.key.destination_workload) })
                    : undefined
                }
              />
            </>
          );
        }}
      </Loading>
    </>
  );
}

type Column = [string, (g: FlowGroup) => ComponentChildren];

function GroupTable({ title, result, columns, link }: { title: string; result: FlowAggregationResult; columns: Column[]; link: (g: FlowGroup) => string | undefined }) {
  return (
    <section class="grow">
      <h2>{title}</h2>
      {result.groups.length === 0 ? (
        <p class="muted">None in the window.</p>
      ) : (
        <table aria-label={`Drops ${title.toLowerCase()}`}>
          <TableHead columns={[...columns.map(([name]) => name), numberColumn('Flows'), numberColumn('Packets'), numberColumn('Bytes'), numberColumn('Summaries')]} />
          <tbody>
            {result.groups.map((g) => {
              const href = link(g);
              return (
                <tr key={JSON.stringify(g.key)}>
                  {columns.map(([name, cell]) => (
                    <td key={name}>{cell(g)}</td>
                  ))}
                  <td class="num">{href ? <a href={href}>{g.flows}</a> : g.flows}</td>
                  <td class="num">{g.packets}</td>
                  <td class="num">{humanBytes(g.bytes)}</td>
                  <td class="num">{g.summaries}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {result.groupCount > result.groups.length && (
        <p class="muted">
          {result.groups.length} of {result.groupCount} groups.
        </p>
      )}
    </section>
  );
}

/**
 * Stacked bars (DROPPED under AUDIT) per interval, scaled to the largest; each bar's numbers as its title.
 * The left gutter fits the y-axis label (the largest interval's count, ~7 px a digit at 11 px); the drawing
 * scales uniformly, so text is never stretched.
 */
function TrendChart({ trend }: { trend: Drops['trend'] }) {
  const W = 720;
  const H = 140;
  const pad = 20;
  const max = Math.max(1, ...trend.map((b) => b.DROPPED + b.AUDIT));
  const left = 8 + 7 * String(max).length;
  const bw = (W - left) / trend.length;
  const y = (n: number) => ((H - pad) * n) / max;
  const time = (iso: string) => iso.slice(5, 16).replace('T', ' ');
  const total = trend.reduce((s, b) => s + b.DROPPED + b.AUDIT, 0);
  return (
    <svg class="trend" viewBox={`0 0 ${W} ${H}`} width="100%" role="img" aria-labelledby="trend-title trend-desc">
      <desc id="trend-desc">
        {total} dropped or audited new connections in {trend.length} intervals from {trend[0]?.since} to {trend[trend.length - 1]?.until}; the largest interval has {max}.
      </desc>
      {trend.map((b, i) => {
        const x = left + i * bw + 1;
        const hd = y(b.DROPPED);
        const ha = y(b.AUDIT);
        return (
          <g key={b.since}>
            <title>
              {time(b.since)}–{time(b.until)}: {b.DROPPED} dropped, {b.AUDIT} audit
            </title>
            <rect class="v-DROPPED" fill="currentColor" x={x} width={bw - 2} y={H - pad - hd} height={hd} />
            <rect class="v-AUDIT" fill="currentColor" x={x} width={bw - 2} y={H - pad - hd - ha} height={ha} />
          </g>
        );
      })}
      <line x1={left} x2={W} y1={H - pad} y2={H - pad} stroke="currentColor" class="muted" />
      <text x={left} y={H - 4} font-size="11" fill="currentColor" class="muted">
        {trend[0] ? time(trend[0].since) : ''}
      </text>
      <text x={W} y={H - 4} font-size="11" fill="currentColor" class="muted" text-anchor="end">
        {trend.length ? time(trend[trend.length - 1]!.until) : ''}
      </text>
      <text x={left - 4} y={12} font-size="11" fill="currentColor" class="muted" text-anchor="end">
        {max}
      </text>
      <text x={left - 4} y={H - pad} font-size="11" fill="currentColor" class="muted" text-anchor="end">
        0
      </text>
    </svg>
  );
}
