/**
 * Service map: POST /flows/servicegraph over a window, fleet-wide or for one cluster (`?cluster=`), drawn
 * with cytoscape.js and the fcose layout (loaded only by this view: its own chunk). Workloads are nodes,
 * external peers named by DNS (`fqdn:<name>`) and reserved identities too; edges carry their flows, drops
 * in the dropped colour, audit-only in the audit colour. Tapping an edge opens the flow explorer filtered
 * to that pair (flows-parts.tsx edgeParams), as does each row of the edge table below the canvas — the
 * keyboard's way through the same map.
 *
 * The cytoscape instance is on the canvas container as `__cy` (tests tap an edge with it). Performance
 * marks: `map:layout-start` before the layout runs, `map:layout-stop` at its `layoutstop`.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { Core, ElementDefinition, LayoutOptions } from 'cytoscape';
import type { Cluster, ServiceGraph, ServiceGraphEdge, ServiceGraphNode } from '../../../openapi/types.js';
import { humanBytes } from '../../../cli/render.js';
import { Loading, numberColumn, ProblemBox, TableHead, useLoad } from '../components.js';
import { listAll } from '../paged.js';
import { routeHref } from '../route.js';
import { Coverage, NamespaceVerdictsSubmit, ViewFilterForm, TimeFields, edgeParams, filterParams, queryFromParams } from './flows-parts.js';
import type { ViewProps } from './registry.js';

const TABLE_ROWS = 200;
/** Above this many nodes the layout is fcose's spectral phase only (see GraphCanvas). */
const LARGE_MAP = 250;

export function MapView({ api, params }: ViewProps) {
  const filters = filterParams(params);
  const filterKey = filters.toString();
  const compiled = useMemo(() => queryFromParams(filters), [filterKey]);
  const clusters = useLoad(() => listAll<Cluster>(api, '/clusters'), [api]);
  const graph = useLoad(() => ('error' in compiled ? Promise.reject(new Error(compiled.error)) : api<ServiceGraph>('POST', '/flows/servicegraph', compiled.query)), [api, filterKey]);
  return (
    <>
      <h1>Service map</h1>
      <ViewFilterForm key={filterKey} view="map" label="Service map filter">
        <div class="row">
          <TimeFields params={params} />
          <label>
            Cluster
            <select name="cluster" defaultValue={params.get('cluster') ?? ''}>
              <option value="">fleet-wide</option>
              {(clusters.data ?? []).map((c) => (
                <option key={c.metadata.name} value={c.metadata.name}>
                  {c.metadata.name}
                </option>
              ))}
              {params.get('cluster') && !(clusters.data ?? []).some((c) => c.metadata.name === params.get('cluster')) ? <option value={params.get('cluster')!}>{params.get('cluster')}</option> : null}
            </select>
          </label>
          <NamespaceVerdictsSubmit params={params} />
        </div>
      </ViewFilterForm>
      <Loading loaded={graph}>{() => <GraphAndEdges graph={graph.data!} window={filters} />}</Loading>
    </>
  );
}

function GraphAndEdges({ graph, window }: { graph: ServiceGraph; window: URLSearchParams }) {
  const nodes = useMemo(() => new Map(graph.nodes.map((n) => [n.id, n])), [graph]);
  const dropped = graph.edges.filter((e) => (e.verdicts.DROPPED?.summaries ?? 0) > 0).length;
  const hrefOf = (e: ServiceGraphEdge) => routeHref('flows', edgeParams(nodes.get(e.source)!, nodes.get(e.destination)!, window));
  return (
    <>
      <Coverage coverage={graph.coverage} />
      <p>
        {graph.nodes.length} workloads and peers, {graph.edges.length} edges, <span class={dropped > 0 ? 'bad' : ''}>{dropped} with drops</span>. Select an edge (or a row of the table below) for its flows.
      </p>
      {graph.nodes.length > 0 ? <GraphCanvas graph={graph} hrefOf={hrefOf} /> : <p class="muted">No flows in the window.</p>}
      <EdgeTable graph={graph} nodes={nodes} hrefOf={hrefOf} />
    </>
  );
}

let fcoseRegistered = false;

/** The theme's colours, read from the CSS variables (light or dark scheme). */
function themeColours() {
  const css = getComputedStyle(document.documentElement);
  const v = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
  return { fg: v('--fg', '#1b1f24'), muted: v('--muted', '#57606a'), line: v('--line', '#d0d7de'), panel: v('--panel', '#f6f8fa'), accent: v('--accent', '#0b5cad'), dropped: v('--dropped', '#b42318'), audit: v('--audit', '#8a5a00'), allowed: v('--allowed', '#1a7f37'), bg: v('--bg', '#ffffff') };
}

const label = (n: ServiceGraphNode) => (n.namespace ? `${n.namespace}/${n.workload}` : n.workload);

function elementsOf(graph: ServiceGraph): ElementDefinition[] {
  const maxFlows = Math.max(1, ...graph.edges.map((e) => e.flows));
  return [
    ...graph.nodes.map((n) => ({ group: 'nodes' as const, data: { id: n.id, label: label(n) }, classes: n.workload.startsWith('fqdn:') ? 'fqdn' : n.workload.startsWith('reserved:') ? 'reserved' : '' })),
    ...graph.edges.map((e, i) => ({
      group: 'edges' as const,
      data: { id: `e${i}`, source: e.source, target: e.destination, width: 1 + (4 * Math.log1p(e.flows)) / Math.log1p(maxFlows) },
      classes: (e.verdicts.DROPPED?.summaries ?? 0) > 0 ? 'dropped' : (e.verdicts.AUDIT?.summaries ?? 0) > 0 ? 'audit' : '',
    })),
  ];
}

function GraphCanvas({ graph, hrefOf }: { graph: ServiceGraph; hrefOf: (e: ServiceGraphEdge) => string }) {
  const container = useRef<HTMLDivElement>(null);
  const [state, setState] = useState<{ laidOut: boolean; error?: unknown }>({ laidOut: false });
  useEffect(() => {
    let cy: Core | undefined;
    let cancelled = false;
    void (async () => {
      const [{ default: cytoscape }, { default: fcose }] = await Promise.all([import('cytoscape'), import('cytoscape-fcose')]);
      if (cancelled || !container.current) return;
      if (!fcoseRegistered) {
        cytoscape.use(fcose);
        fcoseRegistered = true;
      }
      // cytoscape injects an inline <style> unless an element with this id exists; the page's CSP refuses
      // inline styles, and the container is positioned by its style property instead
      if (!document.getElementById('__________cytoscape_stylesheet')) {
        const marker = document.createElement('meta');
        marker.id = '__________cytoscape_stylesheet';
        document.head.appendChild(marker);
      }
      const c = themeColours();
      cy = cytoscape({
        container: container.current,
        elements: elementsOf(graph),
        minZoom: 0.05,
        maxZoom: 4,
        style: [
          { selector: 'node', style: { 'background-color': c.accent, label: 'data(label)', color: c.fg, 'font-size': 10, 'text-valign': 'bottom', 'text-margin-y': 3, width: 14, height: 14, 'min-zoomed-font-size': 7 } },
          { selector: 'node.fqdn', style: { shape: 'round-rectangle', 'background-color': c.muted } },
          { selector: 'node.reserved', style: { shape: 'diamond', 'background-color': c.muted } },
          { selector: 'edge', style: { width: 'data(width)', 'line-color': c.line, 'target-arrow-color': c.line, 'target-arrow-shape': 'triangle', 'curve-style': 'bezier', 'arrow-scale': 0.7 } },
          { selector: 'edge.audit', style: { 'line-color': c.audit, 'target-arrow-color': c.audit } },
          { selector: 'edge.dropped', style: { 'line-color': c.dropped, 'target-arrow-color': c.dropped, 'z-index': 10 } },
          { selector: ':selected', style: { 'overlay-color': c.accent, 'overlay-opacity': 0.25 } },
        ],
      });
      (container.current as HTMLDivElement & { __cy?: Core }).__cy = cy;
      cy.on('tap', 'edge', (event) => {
        const edge = graph.edges[Number(String(event.target.id()).slice(1))];
        if (edge) location.hash = hrefOf(edge);
      });
      performance.mark('map:layout-start');
      // fcose's force-directed refinement runs at least 5 × nodes iterations (cose-base), ~5 s for 500 workloads
      // here: large maps keep its spectral placement alone ('draft'), within the 2 s (bench/console.ts)
      const quality = graph.nodes.length > LARGE_MAP ? 'draft' : 'default';
      const layout = cy.layout({ name: 'fcose', animate: false, randomize: true, quality, packComponents: true, nodeDimensionsIncludeLabels: false } as LayoutOptions);
      layout.one('layoutstop', () => {
        performance.mark('map:layout-stop');
        if (!cancelled) setState({ laidOut: true });
      });
      layout.run();
    })().catch((error: unknown) => !cancelled && setState({ laidOut: false, error }));
    return () => {
      cancelled = true;
      cy?.destroy();
    };
  }, [graph]);
  return (
    <>
      <ProblemBox error={state.error} />
      <div
        ref={container}
        class="graph"
        style={{ position: 'relative' }}
        role="img"
        aria-label={`Service map of ${graph.nodes.length} workloads and ${graph.edges.length} edges; the table "Edges" below lists every edge with a link to its flows`}
        data-laid-out={state.laidOut ? 'true' : 'false'}
      />
    </>
  );
}

function EdgeTable({ graph, nodes, hrefOf }: { graph: ServiceGraph; nodes: Map<string, ServiceGraphNode>; hrefOf: (e: ServiceGraphEdge) => string }) {
  const [all, setAll] = useState(false);
  const sorted = useMemo(() => [...graph.edges].sort((a, b) => (b.verdicts.DROPPED?.flows ?? 0) - (a.verdicts.DROPPED?.flows ?? 0) || (b.verdicts.DROPPED?.summaries ?? 0) - (a.verdicts.DROPPED?.summaries ?? 0) || b.flows - a.flows), [graph]);
  const shown = all ? sorted : sorted.slice(0, TABLE_ROWS);
  if (sorted.length === 0) return null;
  return (
    <section aria-labelledby="edges-title">
      <h2 id="edges-title">Edges</h2>
      <p class="muted">
        Drops first, then by new connections.{' '}
        {sorted.length > shown.length ? (
          <button type="button" onClick={() => setAll(true)}>
            Show all {sorted.length} edges
          </button>
        ) : null}
      </p>
      <table aria-label="Edges">
        <TableHead columns={['Source', 'Destination', 'Ports', numberColumn('Forwarded'), numberColumn('Dropped'), numberColumn('Audit'), numberColumn('Packets'), numberColumn('Bytes'), 'Flows']} />
        <tbody>
          {shown.map((e) => {
            const s = nodes.get(e.source)!;
            const d = nodes.get(e.destination)!;
            return (
              <tr key={`${e.source}\u0000${e.destination}`} class={(e.verdicts.DROPPED?.summaries ?? 0) > 0 ? 'dropped' : undefined}>
                <td>
                  {s.cluster}/{label(s)}
                </td>
                <td>
                  {d.cluster}/{label(d)}
                </td>
                <td class="mono">{e.ports.join(' ')}</td>
                <td class="num">{e.verdicts.FORWARDED?.flows ?? 0}</td>
                <td class={`num${(e.verdicts.DROPPED?.summaries ?? 0) > 0 ? ' bad' : ''}`}>{e.verdicts.DROPPED?.flows ?? 0}</td>
                <td class="num">{e.verdicts.AUDIT?.flows ?? 0}</td>
                <td class="num">{e.packets}</td>
                <td class="num">{humanBytes(e.bytes)}</td>
                <td>
                  <a href={hrefOf(e)} aria-label={`${e.summaries} summaries: flows from ${s.cluster}/${label(s)} to ${d.cluster}/${label(d)}`}>
                    {e.summaries} summaries
                  </a>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}
