/**
 * Policies: every fleet NetworkPolicy (targets, mode, generation, last write) and, for `?policy=NAME`:
 * - its current spec and its write-time warnings (`status.warnings` of the GET: computed from the spec on
 *   every read by the agents' own compiler, so it is the same list a node reports as Degraded — and a
 *   reader may see it, where a dry-run PUT needs Fleet.Admin);
 * - its realization (getPolicyRealization: per generation, the clusters targeted and each node enforcing /
 *   behind / unknown, silent, Degraded — with the Degraded message of those nodes);
 * - its revisions and a side-by-side line diff of two generations (`?from=&to=`, policy-diff.ts);
 * - "What would this break": a replay (startPolicyReplay, Fleet.Reader may) of the policy as edited in a
 *   textarea, polled until it ends; `?replay=<operation id>` keeps the result in the URL (kept 7 days).
 * Everything the page shows is in the URL except the form being edited.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { ClusterTargets, components, LabelSelector, NetworkPolicy, Node, PolicyReplayChange, PolicyReplayDecision, PolicyReplayOperation, PolicyReplayResult, PolicyReplaySums, PolicyWarning, Revision } from '../../../openapi/types.js';
import { ApiProblem, type Api } from '../api.js';
import { Ago, Badge, Labels, Loading, numberColumn, ProblemBox, TableHead, useLoad } from '../components.js';
import { listAll } from '../paged.js';
import { navigate, routeHref } from '../route.js';
import { diffCounts, diffLines, prettyCanonical, sideBySide, type SideCell } from './policy-diff.js';
import type { ViewProps } from './registry.js';

type PolicyRealization = components['schemas']['PolicyRealization'];
type NodeRealization = components['schemas']['NodeRealization'];

/** Polling pace while a replay runs: the API's Retry-After (docs/replay.md), else this; never faster than the floor. */
const DEFAULT_POLL_MS = 1000;
const MIN_POLL_MS = 250;
/** At most this many Degraded nodes are read for their message. */
const DEGRADED_DETAILS = 20;

const enc = encodeURIComponent;
const num = (n: number): string => n.toLocaleString('en-US');

export function selectorText(selector: LabelSelector | undefined): string {
  const parts = Object.entries(selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of selector?.matchExpressions ?? []) {
    parts.push(e.operator === 'Exists' ? e.key : e.operator === 'DoesNotExist' ? `!${e.key}` : `${e.key} ${e.operator === 'In' ? 'in' : 'notin'} (${(e.values ?? []).join(', ')})`);
  }
  return parts.join(', ');
}

/** "every cluster", "clusters env=prod", "clusters east, west", or both joined by "or" (targets are a union). */
export function targetsText(targets: ClusterTargets | undefined): string {
  const parts: string[] = [];
  if (targets?.clusterSelector) parts.push(selectorText(targets.clusterSelector) ? `clusters ${selectorText(targets.clusterSelector)}` : 'every cluster');
  if (targets?.clusterIds) parts.push(targets.clusterIds.length > 0 ? `clusters ${targets.clusterIds.join(', ')}` : 'no cluster');
  return parts.length === 0 ? 'every cluster' : parts.join(' or ');
}

const modeOf = (policy: NetworkPolicy): string => policy.spec.mode ?? 'enforce';

export function PoliciesView({ api, params }: ViewProps) {
  const selected = params.get('policy') ?? undefined;
  const policies = useLoad(() => listAll<NetworkPolicy>(api, '/networkpolicies'), [api]);
  return (
    <>
      <h1>Policies</h1>
      <Loading loaded={policies}>
        {() =>
          policies.data!.length === 0 ? (
            <p class="muted">No network policy is stored.</p>
          ) : (
            <table aria-label="Network policies">
              <TableHead columns={['Policy', 'Targets', 'Mode', numberColumn('Generation'), numberColumn('Warnings'), 'Updated', 'By']} />
              <tbody>
                {policies.data!.map((p) => (
                  <tr key={p.metadata.name} aria-selected={p.metadata.name === selected}>
                    <th scope="row">
                      <a href={routeHref('policies', { policy: p.metadata.name })}>{p.metadata.name}</a>
                    </th>
                    <td class="mono">{targetsText(p.spec.targets)}</td>
                    <td>
                      <Badge kind={modeOf(p) === 'audit' ? 'AUDIT' : 'FORWARDED'}>{modeOf(p)}</Badge>
                    </td>
                    <td class="num">{p.metadata.generation ?? '—'}</td>
                    <td class="num">{p.status?.warnings?.length ? <span class="warn">{p.status.warnings.length}</span> : 0}</td>
                    <td>
                      <Ago at={p.metadata.updatedAt} />
                    </td>
                    <td class="mono">{p.metadata.updatedBy ?? '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Loading>
      {selected && <PolicyDetail key={selected} api={api} name={selected} params={params} />}
    </>
  );
}

function PolicyDetail({ api, name, params }: { api: Api; name: string; params: URLSearchParams }) {
  const policy = useLoad(() => api<NetworkPolicy>('GET', `/networkpolicies/${enc(name)}`), [api, name]);
  return (
    <section aria-labelledby="policy-title" class="policy-detail">
      <h2 id="policy-title">Policy {name}</h2>
      <Loading loaded={policy}>
        {() => {
          const p = policy.data!;
          return (
            <>
              <dl class="facts">
                <dt>Targets</dt>
                <dd class="mono">{targetsText(p.spec.targets)}</dd>
                <dt>Mode</dt>
                <dd>{modeOf(p)}</dd>
                <dt>Generation</dt>
                <dd>{p.metadata.generation ?? '—'}</dd>
                <dt>Labels</dt>
                <dd>
                  <Labels labels={p.metadata.labels} />
                </dd>
                <dt>Updated</dt>
                <dd>
                  <Ago at={p.metadata.updatedAt} /> by <span class="mono">{p.metadata.updatedBy ?? '—'}</span>
                </dd>
              </dl>
              <Warnings warnings={p.status?.warnings ?? []} />
              <h3>Current spec</h3>
              <pre class="mono spec" aria-label={`Spec of ${name}`}>
                {prettyCanonical(p.spec)}
              </pre>
            </>
          );
        }}
      </Loading>
      <RealizationSection api={api} name={name} />
      <RevisionsSection api={api} name={name} params={params} />
      {policy.data && <ReplaySection api={api} policy={policy.data} params={params} />}
    </section>
  );
}

function Warnings({ warnings }: { warnings: readonly PolicyWarning[] }) {
  return (
    <section aria-labelledby="warnings-title">
      <h3 id="warnings-title">Write-time warnings</h3>
      <p class="muted">Parts the datapath does not enforce, computed from the spec by the agents' own compiler — the same list a node reports in its Degraded condition.</p>
      {warnings.length === 0 ? (
        <p class="ok">None: the datapath enforces every part of this policy.</p>
      ) : (
        <table aria-label="Warnings">
          <TableHead columns={['Part', 'Consequence', 'Why']} />
          <tbody>
            {warnings.map((w) => (
              <tr key={w.pointer}>
                <td class="mono">{w.pointer}</td>
                <td>
                  <Badge kind={w.consequence === 'failsClosed' ? 'DROPPED' : 'AUDIT'}>{w.consequence === 'failsClosed' ? 'fails closed' : 'no effect'}</Badge>
                </td>
                <td class="warning-message">{w.message}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function RealizationSection({ api, name }: { api: Api; name: string }) {
  const realization = useLoad(async () => {
    try {
      const r = await api<PolicyRealization>('GET', `/networkpolicies/${enc(name)}/realization`);
      const degraded = r.generations.flatMap((g) => g.nodes).filter((n) => n.degraded).slice(0, DEGRADED_DETAILS);
      const messages = new Map(
        await Promise.all(
          degraded.map(async (n) => {
            const node = await api<Node>('GET', `/clusters/${enc(n.cluster)}/nodes/${enc(n.node)}`).catch(() => undefined);
            const condition = node?.status?.conditions?.find((c) => c.type === 'Degraded' && c.status === 'True');
            return [`${n.cluster}/${n.node}`, condition ? `${condition.reason ?? 'Degraded'}: ${condition.message ?? ''}` : ''] as const;
          }),
        ),
      );
      return { r, messages };
    } catch (error) {
      if (error instanceof ApiProblem && error.status === 404) return null;
      throw error;
    }
  }, [api, name]);
  return (
    <section aria-labelledby="realization-title">
      <h3 id="realization-title">Realization</h3>
      <Loading loaded={realization}>
        {() => {
          if (realization.data === null) return <p class="muted">No cluster's desired state lists this policy and no node enforces any generation of it.</p>;
          const { r, messages } = realization.data!;
          const s = r.summary;
          return (
            <>
              <p>
                Current generation {r.currentGeneration ?? <span class="muted">none (no cluster targeted)</span>}; nodes enforcing <strong>{s.enforcing}</strong>, behind <strong>{s.behind}</strong>, unknown{' '}
                <strong>{s.unknown}</strong>, silent <strong>{s.silent}</strong> (no report for {r.silentAfterSeconds} s), degraded <strong class={s.degraded > 0 ? 'bad' : ''}>{s.degraded}</strong>.
              </p>
              <table aria-label={`Realization of ${name} by generation`}>
                <TableHead columns={['Generation', 'Clusters targeted', numberColumn('Enforcing'), numberColumn('Behind'), numberColumn('Unknown'), numberColumn('Silent'), numberColumn('Degraded')]} />
                <tbody>
                  {r.generations.map((g) => {
                    const count = (f: (n: NodeRealization) => boolean) => g.nodes.filter(f).length;
                    return (
                      <tr key={String(g.generation)}>
                        <th scope="row">{g.generation ?? 'none'}</th>
                        <td>{g.clustersTargeted.length > 0 ? g.clustersTargeted.join(', ') : <span class="muted">—</span>}</td>
                        <td class="num">{count((n) => n.state === 'enforcing')}</td>
                        <td class="num">{count((n) => n.state === 'behind')}</td>
                        <td class="num">{count((n) => n.state === 'unknown')}</td>
                        <td class="num">{count((n) => n.silent)}</td>
                        <td class="num">{count((n) => n.degraded) > 0 ? <span class="bad">{count((n) => n.degraded)}</span> : 0}</td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
              {r.generations.some((g) => g.nodes.length > 0) && (
                <table aria-label={`Nodes for ${name}`}>
                  <TableHead columns={['Node', 'Cluster', 'Generation', 'State', numberColumn('Revision'), 'Last seen', 'Degraded']} />
                  <tbody>
                    {r.generations.flatMap((g) =>
                      g.nodes.map((n) => (
                        <tr key={`${n.cluster}/${n.node}`}>
                          <th scope="row">
                            <a href={routeHref('fleet', { cluster: n.cluster })}>{n.node}</a>
                          </th>
                          <td>{n.cluster}</td>
                          <td>{g.generation ?? 'none'}</td>
                          <td>
                            <Badge kind={n.state === 'enforcing' ? 'FORWARDED' : n.state === 'behind' ? 'AUDIT' : 'Unknown'}>{n.state}</Badge>
                            {n.silent && (
                              <>
                                {' '}
                                <Badge kind="Unknown">silent</Badge>
                              </>
                            )}
                          </td>
                          <td class="num">{n.observedRevision ?? '—'}</td>
                          <td>
                            <Ago at={n.lastSeen} />
                          </td>
                          <td>
                            {n.degraded ? (
                              <>
                                <Badge kind="Degraded">Degraded</Badge> <span class="degraded-message">{messages.get(`${n.cluster}/${n.node}`)}</span>
                              </>
                            ) : (
                              <span class="muted">no</span>
                            )}
                          </td>
                        </tr>
                      )),
                    )}
                  </tbody>
                </table>
              )}
            </>
          );
        }}
      </Loading>
    </section>
  );
}

/** What a revision wrote, as the diff shows it: the labels and the spec. */
const revisionText = (r: Revision): string => prettyCanonical({ metadata: { labels: r.labels ?? {} }, spec: r.spec ?? {} });

function RevisionsSection({ api, name, params }: { api: Api; name: string; params: URLSearchParams }) {
  const revisions = useLoad(() => listAll<Revision>(api, `/networkpolicies/${enc(name)}/revisions`), [api, name]);
  const withSpec = (revisions.data ?? []).filter((r) => r.spec !== undefined); // newest first
  const from = Number(params.get('from') ?? withSpec[1]?.generation ?? withSpec[0]?.generation ?? 0);
  const to = Number(params.get('to') ?? withSpec[0]?.generation ?? 0);
  const choose = (key: 'from' | 'to', value: string) => {
    const next = new URLSearchParams(params);
    next.set('from', String(from));
    next.set('to', String(to));
    next.set(key, value);
    navigate('policies', next);
  };
  return (
    <section aria-labelledby="revisions-title">
      <h3 id="revisions-title">Revisions</h3>
      <Loading loaded={revisions}>
        {() => (
          <>
            <table aria-label={`Revisions of ${name}`}>
              <TableHead columns={['Generation', 'Operation', 'By', 'When']} />
              <tbody>
                {revisions.data!.map((r) => (
                  <tr key={`${r.generation}-${r.operation}`}>
                    <th scope="row">{r.generation}</th>
                    <td>{r.operation}</td>
                    <td class="mono">{r.actor}</td>
                    <td>
                      <Ago at={r.timestamp} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            {withSpec.length < 2 ? (
              <p class="muted">One generation only: nothing to compare.</p>
            ) : (
              <>
                <div class="row">
                  <GenerationSelect label="From generation" value={from} generations={withSpec.map((r) => r.generation)} onChoose={(g) => choose('from', g)} />
                  <GenerationSelect label="To generation" value={to} generations={withSpec.map((r) => r.generation)} onChoose={(g) => choose('to', g)} />
                </div>
                <RevisionDiff from={withSpec.find((r) => r.generation === from)} to={withSpec.find((r) => r.generation === to)} fromGeneration={from} toGeneration={to} />
              </>
            )}
          </>
        )}
      </Loading>
    </section>
  );
}

function RevisionDiff({ from, to, fromGeneration, toGeneration }: { from: Revision | undefined; to: Revision | undefined; fromGeneration: number; toGeneration: number }) {
  const lines = useMemo(() => (from && to ? diffLines(revisionText(from).split('\n'), revisionText(to).split('\n')) : []), [from, to]);
  if (!from || !to) return <p class="error">Generation {!from ? fromGeneration : toGeneration} is not in this policy's history (or was a delete).</p>;
  const counts = diffCounts(lines);
  const rows = sideBySide(lines);
  const cell = (c: SideCell | undefined) =>
    c ? (
      <>
        <td class={`diff-num diff-${c.kind}`}>{c.line}</td>
        <td class={`diff-text diff-${c.kind}`}>
          {c.kind !== 'same' && <span class="sr-only">{c.kind === 'removed' ? 'removed: ' : 'added: '}</span>}
          <span aria-hidden="true" class="diff-mark">
            {c.kind === 'removed' ? '−' : c.kind === 'added' ? '+' : ' '}
          </span>
          {c.text}
        </td>
      </>
    ) : (
      <>
        <td class="diff-num diff-empty" />
        <td class="diff-text diff-empty" />
      </>
    );
  return (
    <>
      <p role="status">
        Generation {fromGeneration} → {toGeneration}: {counts.removed} line(s) removed, {counts.added} added{counts.removed + counts.added === 0 ? ' (the same spec)' : ''}.
      </p>
      <table class="diff" aria-label={`Diff of generation ${fromGeneration} and ${toGeneration}`}>
        <TableHead columns={[numberColumn('Line'), `Generation ${fromGeneration}`, numberColumn('Line'), `Generation ${toGeneration}`]} />
        <tbody>
          {rows.map((row, i) => (
            <tr key={i} class={row.left?.kind === 'same' ? undefined : 'diff-changed'}>
              {cell(row.left)}
              {cell(row.right)}
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function ReplaySection({ api, policy, params }: { api: Api; policy: NetworkPolicy; params: URLSearchParams }) {
  const name = policy.metadata.name;
  const [text, setText] = useState(() => prettyCanonical({ apiVersion: policy.apiVersion, kind: policy.kind, metadata: { name }, spec: policy.spec }));
  const [mode, setMode] = useState<'' | 'enforce' | 'audit'>('');
  const [since, setSince] = useState('7d');
  const [clusters, setClusters] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const [starting, setStarting] = useState(false);
  const operationId = params.get('replay') ?? undefined;

  const start = async () => {
    setError(undefined);
    let candidate: { metadata?: { name?: string }; spec?: Record<string, unknown> };
    try {
      candidate = JSON.parse(text) as typeof candidate;
    } catch (e) {
      setError(new Error(`The policy is not valid JSON: ${e instanceof Error ? e.message : String(e)}`));
      return;
    }
    if (mode && candidate && typeof candidate.spec === 'object' && candidate.spec !== null) candidate = { ...candidate, spec: { ...candidate.spec, mode } };
    const ids = clusters.split(/[\s,]+/).filter(Boolean);
    setStarting(true);
    try {
      const operation = await api<PolicyReplayOperation>('POST', '/policyreplays', { policies: [candidate], ...(since.trim() ? { since: since.trim() } : {}), ...(ids.length > 0 ? { clusters: ids } : {}) });
      const next = new URLSearchParams(params);
      next.set('replay', operation.id);
      navigate('policies', next);
    } catch (e) {
      setError(e);
    } finally {
      setStarting(false);
    }
  };

  return (
    <section aria-labelledby="replay-title">
      <h3 id="replay-title">What would this break?</h3>
      <p class="muted">Replays the policy below against the stored flow history and lists the flows whose fate would change. Nothing is changed.</p>
      <form
        class="panel"
        onSubmit={(e) => {
          e.preventDefault();
          void start();
        }}
      >
        <label for="replay-policy">Candidate policy (JSON)</label>
        <textarea id="replay-policy" rows={Math.min(24, text.split('\n').length + 1)} value={text} spellcheck={false} onInput={(e) => setText((e.target as HTMLTextAreaElement).value)} />
        <div class="row">
          <label>
            Mode
            <select value={mode} onChange={(e) => setMode((e.target as HTMLSelectElement).value as typeof mode)}>
              <option value="">as in the JSON</option>
              <option value="enforce">enforce</option>
              <option value="audit">audit</option>
            </select>
          </label>
          <label>
            Window since
            <input type="text" value={since} size={24} placeholder="7d or 2026-11-23T00:00:00Z" onInput={(e) => setSince((e.target as HTMLInputElement).value)} />
          </label>
          <label>
            Clusters (default: those the change touches)
            <input type="text" value={clusters} size={30} placeholder="east, west" onInput={(e) => setClusters((e.target as HTMLInputElement).value)} />
          </label>
          <button class="primary" type="submit" disabled={starting}>
            Run replay
          </button>
        </div>
        <ProblemWithPointers error={error} />
      </form>
      {operationId && <ReplayOperation key={operationId} api={api} id={operationId} />}
    </section>
  );
}

function ProblemWithPointers({ error }: { error: unknown }) {
  if (!error) return null;
  const errors = error instanceof ApiProblem ? (error.problem?.errors ?? []) : [];
  return (
    <>
      <ProblemBox error={error} />
      {errors.length > 0 && (
        <ul class="error-list">
          {errors.map((e) => (
            <li key={`${e.pointer}:${e.message}`}>
              <code>{e.pointer || '/'}</code> {e.message}
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

/** Retry-After in seconds (HTTP also allows a date; the API sends seconds) → ms, within [MIN_POLL_MS, 60 s]. */
function pollDelay(retryAfter: string | null): number {
  const seconds = retryAfter === null || retryAfter.trim() === '' ? NaN : Number(retryAfter);
  if (!Number.isFinite(seconds)) return DEFAULT_POLL_MS;
  return Math.min(60_000, Math.max(MIN_POLL_MS, seconds * 1000));
}

/** Polls getPolicyReplay until the operation ends (Succeeded or Failed), as often as its Retry-After asks; a 503 is shown and retried after its Retry-After. */
function useOperation(api: Api, id: string): { operation: PolicyReplayOperation | undefined; error: unknown } {
  const [state, setState] = useState<{ operation: PolicyReplayOperation | undefined; error: unknown }>({ operation: undefined, error: undefined });
  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        const response = await api.raw('GET', `/policyreplays/${enc(id)}`);
        const operation = (await response.json()) as PolicyReplayOperation;
        if (!live) return;
        setState({ operation, error: undefined });
        if (operation.status === 'NotStarted' || operation.status === 'Running') timer = setTimeout(() => void poll(), pollDelay(response.headers.get('retry-after')));
      } catch (error) {
        if (!live) return;
        setState((s) => ({ ...s, error }));
        // the store is throttled or busy: the operation goes on, so does polling, at the pace asked
        if (error instanceof ApiProblem && error.status === 503) timer = setTimeout(() => void poll(), pollDelay(error.retryAfter));
      }
    };
    void poll();
    return () => {
      live = false;
      if (timer) clearTimeout(timer);
    };
  }, [api, id]);
  return state;
}

function ReplayOperation({ api, id }: { api: Api; id: string }) {
  const { operation, error } = useOperation(api, id);
  if (error) return <ProblemBox error={error} />;
  if (!operation) return <p class="muted">Loading the replay…</p>;
  const pending = operation.status === 'NotStarted' || operation.status === 'Running';
  return (
    <section aria-labelledby="replay-result-title" class="replay-result">
      <h4 id="replay-result-title">Replay result</h4>
      <p role="status">
        Replay <span class="mono">{operation.id}</span>: <Badge kind={operation.status === 'Succeeded' ? 'FORWARDED' : operation.status === 'Failed' ? 'DROPPED' : 'Unknown'}>{operation.status}</Badge>
        {pending ? ' — checking again every second…' : '.'} Policies replayed: {operation.request.policies.join(', ') || 'none'}
        {operation.request.modes.length > 0 ? `; modes ${operation.request.modes.map((m) => `${m.name} → ${m.mode}`).join(', ')}` : ''}; window {operation.request.since} to {operation.request.until}.
      </p>
      {operation.status === 'Failed' && operation.error && <ProblemBox error={new ApiProblem(operation.error.status, operation.error.code, operation.error.detail ?? operation.error.title ?? 'The replay failed.', operation.error)} />}
      {operation.result && <ReplayResultView result={operation.result} />}
    </section>
  );
}

const sumsText = (s: PolicyReplaySums): string => `${num(s.flows)} flows, ${num(s.packets)} packets (${num(s.summaries)} summaries)`;

function decisionText(d: PolicyReplayDecision): string {
  const by = d.decidedBy === 'rule' && d.rule ? `${d.rule.policy} generation ${d.rule.generation} ${d.rule.pointer} (${d.rule.verdict}${d.rule.mode === 'audit' ? ', audit' : ''})` : d.decidedBy === 'rule' ? 'conflicting rules' : d.decidedBy.replace('-', ' ');
  return `${d.verdict} by ${by}`;
}

function ReplayResultView({ result }: { result: PolicyReplayResult }) {
  const allowedToDropped = result.changes.filter((c) => c.change === 'allowed-to-dropped');
  const droppedToAllowed = result.changes.filter((c) => c.change === 'dropped-to-allowed');
  return (
    <>
      <div class="counts panel" aria-label="Replay totals">
        <div>
          <strong class={result.totals.allowedToDropped.summaries > 0 ? 'bad' : ''}>{num(result.totals.allowedToDropped.flows)}</strong>flows allowed → dropped
        </div>
        <div>
          <strong>{num(result.totals.droppedToAllowed.flows)}</strong>flows dropped → allowed
        </div>
        <div>
          <strong>{num(result.totals.auditedToDropped.flows)}</strong>of them audited now
        </div>
        <div>
          <strong>{num(result.totals.judged.summaries)}</strong>summaries judged
        </div>
      </div>
      <p class="muted">
        Clusters replayed: {result.clusters.length > 0 ? result.clusters.join(', ') : 'none'}; window {result.window.since} to {result.window.until}.
      </p>
      <Completeness result={result} />
      <ChangeGroups title="Allowed now, dropped after the change" id="allowed-to-dropped" changes={allowedToDropped} total={result.totals.allowedToDropped} />
      <ChangeGroups title="Dropped now, allowed after the change" id="dropped-to-allowed" changes={droppedToAllowed} total={result.totals.droppedToAllowed} />
      {result.truncated.truncated && <p class="warn">{result.truncated.groupsLeftOut} change group(s) left out of this list (the totals count them).</p>}
      <section aria-labelledby="unjudged-title">
        <h5 id="unjudged-title">Not judged</h5>
        {result.unjudged.length === 0 ? (
          <p class="muted">Every summary in the window was judged.</p>
        ) : (
          <table aria-label="Summaries not judged">
            <TableHead columns={['Reason', 'What it means', numberColumn('Summaries'), numberColumn('Flows')]} />
            <tbody>
              {result.unjudged.map((u) => (
                <tr key={u.reason}>
                  <th scope="row" class="mono">
                    {u.reason}
                  </th>
                  <td>{u.description}</td>
                  <td class="num">{num(u.sums.summaries)}</td>
                  <td class="num">{num(u.sums.flows)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {result.disagreements.sums.summaries > 0 && (
          <p class="warn">
            {num(result.disagreements.sums.summaries)} summaries were recorded with another verdict than the current policies give (older generations, a node behind): changes are computed against the current policies — read them before trusting this diff.
          </p>
        )}
      </section>
    </>
  );
}

function Completeness({ result }: { result: PolicyReplayResult }) {
  return (
    <div class="panel completeness" aria-label="Completeness">
      <strong>{result.completeness.complete ? 'Complete' : 'INCOMPLETE'}</strong>: {result.completeness.complete ? 'no batch gap or reported loss in the window, and every summary was judged.' : 'this answer does not cover everything.'}
      {result.completeness.statements.length > 0 && (
        <ul>
          {result.completeness.statements.map((s) => (
            <li key={s}>{s}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** The traffic's direction: an ingress hook is at the destination, an egress hook at the source. */
const trafficText = (c: PolicyReplayChange): string => (c.direction === 'ingress' ? `${c.peer} → ${c.subject}` : `${c.subject} → ${c.peer}`);

function ChangeGroups({ title, id, changes, total }: { title: string; id: string; changes: readonly PolicyReplayChange[]; total: PolicyReplaySums }) {
  return (
    <section aria-labelledby={`${id}-title`}>
      <h5 id={`${id}-title`}>
        {title}: {total.summaries === 0 ? 'none' : sumsText(total)}
      </h5>
      {changes.length > 0 && (
        <table aria-label={title}>
          <TableHead columns={['Traffic', 'Hook', 'Ports', 'Clusters', numberColumn('Flows'), numberColumn('Packets'), 'Seen', 'After the change', 'Now']} />
          <tbody>
            {changes.map((c, i) => (
              <tr key={i} class={c.change === 'allowed-to-dropped' ? 'dropped' : undefined}>
                <th scope="row" class="mono">
                  {trafficText(c)}
                </th>
                <td>
                  {c.direction} at <span class="mono">{c.subject}</span>
                </td>
                <td class="mono">{c.ports.join(', ')}</td>
                <td>{c.clusters.join(', ')}</td>
                <td class="num">{num(c.sums.flows)}</td>
                <td class="num">{num(c.sums.packets)}</td>
                <td>{c.sums.lastSeen ? <Ago at={c.sums.lastSeen} /> : <span class="muted">—</span>}</td>
                <td>{decisionText(c.candidate)}</td>
                <td>{decisionText(c.current)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function GenerationSelect({ label, value, generations, onChoose }: { label: string; value: number | undefined; generations: number[]; onChoose: (generation: string) => void }) {
  return (
    <label>
      {label}
      <select value={String(value)} onChange={(e) => onChoose((e.target as HTMLSelectElement).value)}>
        {generations.map((g) => (
          <option key={g} value={String(g)}>
            {g}
          </option>
        ))}
      </select>
    </label>
  );
}
