/**
 * Encryption: the fleet compliance report (counts, clusters per state, node evidence that contradicts
 * ARM, what the answer rests on) and, for `?cluster=`, desired against actual for that cluster.
 * `?state=` filters the list (counts always cover the fleet).
 */
import type { ComplianceState, EffectiveEncryption, EncryptionComplianceReport } from '../../../openapi/types.js';
import { Ago, Badge, Loading, TableHead, useLoad } from '../components.js';
import { navigate, routeHref } from '../route.js';
import type { ViewProps } from './registry.js';

const STATES: ComplianceState[] = ['Compliant', 'Drifted', 'Unsupported', 'Unknown'];

export function EncryptionView({ api, params }: ViewProps) {
  const state = (params.get('state') ?? '') as ComplianceState | '';
  const cluster = params.get('cluster') ?? undefined;
  const report = useLoad(() => api<EncryptionComplianceReport>('GET', `/encryptioncompliance${state ? `?state=${state}` : ''}`), [api, state]);
  return (
    <>
      <h1>Encryption compliance</h1>
      <Loading loaded={report}>
        {() => {
          const r = report.data!;
          return (
            <>
              <div class="counts panel" aria-label="Counts">
                {STATES.map((s) => (
                  <div key={s}>
                    <strong class={`v-${s}`}>{r.counts[s]}</strong>
                    <a href={routeHref('encryption', { state: s })}>{s}</a>
                  </div>
                ))}
                <div>
                  <strong>{r.counts.total}</strong>clusters
                </div>
                <div>
                  <strong class={r.nodeEvidenceMismatches > 0 ? 'bad' : ''}>{r.nodeEvidenceMismatches}</strong>node evidence mismatches
                </div>
              </div>
              <p class="muted completeness">
                ARM facts for {r.completeness.clustersWithInventory} of {r.completeness.clustersRegistered} clusters; oldest read <Ago at={r.completeness.oldestObservation} />. Settings generation{' '}
                {r.settingsGeneration ?? 'none (encryption off)'}.
              </p>
              <div class="row">
                <label>
                  State
                  <select value={state} onChange={(e) => navigate('encryption', { state: (e.target as HTMLSelectElement).value || undefined })}>
                    <option value="">all</option>
                    {STATES.map((s) => (
                      <option key={s} value={s}>
                        {s}
                      </option>
                    ))}
                  </select>
                </label>
              </div>
              <table aria-label="Clusters by compliance">
                <TableHead columns={['Cluster', 'State', 'Why', 'Nodes', 'ARM read', 'Remediation']} />
                <tbody>
                  {r.clusters.map((c) => (
                    <tr key={c.clusterId}>
                      <th scope="row">
                        <a href={routeHref('encryption', { state: state || undefined, cluster: c.clusterId })}>{c.clusterId}</a>
                      </th>
                      <td>
                        <Badge kind={c.state}>{c.state}</Badge>
                      </td>
                      <td>
                        {c.state === 'Drifted'
                          ? c.differences.map((d) => (
                              <div key={d.field} class="mono">
                                {d.field}: {String(d.actual ?? '(absent)')} → {String(d.desired)}
                              </div>
                            ))
                          : c.reasons.map((reason) => <div key={reason}>{reason}</div>)}
                      </td>
                      <td>
                        {c.nodeEvidence.mismatch === 'None' || c.nodeEvidence.mismatch === 'NoEvidence' ? (
                          <span class="muted">{c.nodeEvidence.mismatch === 'None' ? `${c.nodeEvidence.nodesReporting} agree` : 'no evidence'}</span>
                        ) : (
                          <span class="bad">
                            {c.nodeEvidence.mismatch === 'ArmWireGuardNodesWithoutTunnel' ? 'ARM says WireGuard; no tunnel on ' : 'tunnel without ARM WireGuard on '}
                            {(c.nodeEvidence.nodesDisagreeing ?? []).join(', ')}
                          </span>
                        )}
                      </td>
                      <td>
                        <Ago at={c.observedAt} />
                      </td>
                      <td>{c.remediationEnabled ? 'opted in' : <span class="muted">not opted in</span>}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          );
        }}
      </Loading>
      {cluster && <ClusterEncryption api={api} clusterId={cluster} />}
    </>
  );
}

function ClusterEncryption({ api, clusterId }: { api: ViewProps['api']; clusterId: string }) {
  const detail = useLoad(() => api<EffectiveEncryption>('GET', `/clusters/${encodeURIComponent(clusterId)}/encryption`), [api, clusterId]);
  return (
    <section aria-labelledby="cluster-encryption">
      <h2 id="cluster-encryption">{clusterId}: desired against actual</h2>
      <Loading loaded={detail}>
        {() => {
          const d = detail.data!;
          return (
            <div class="row">
              <div class="panel">
                <h3>Desired</h3>
                <pre class="mono">{JSON.stringify(d.settings, null, 2)}</pre>
                <p class="muted">Overrides applied: {d.appliedOverrides.length > 0 ? d.appliedOverrides.join(', ') : 'none'}</p>
              </div>
              <div class="panel">
                <h3>Actual (ARM)</h3>
                {d.actual ? (
                  <dl>
                    <dt>Dataplane</dt>
                    <dd>{d.actual.networkDataplane ?? '(absent)'}</dd>
                    <dt>ACNS</dt>
                    <dd>{String(d.actual.advancedNetworkingEnabled ?? '(absent)')}</dd>
                    <dt>Transit encryption</dt>
                    <dd>{d.actual.transitEncryption ?? '(absent)'}</dd>
                    <dt>Read</dt>
                    <dd>
                      <Ago at={d.actual.observedAt} /> {d.actual.armResourceFound ? '' : '(ARM answered 404 since)'}
                    </dd>
                  </dl>
                ) : (
                  <p class="muted">Never read from ARM.</p>
                )}
              </div>
              <div class="panel">
                <h3>
                  Compliance <Badge kind={d.compliance?.state ?? 'Unknown'}>{d.compliance?.state ?? 'Unknown'}</Badge>
                </h3>
                <ul>
                  {(d.compliance?.differences ?? []).map((x) => (
                    <li key={x.field} class="mono">
                      {x.field}: {String(x.actual ?? '(absent)')} → {String(x.desired)}
                    </li>
                  ))}
                  {(d.compliance?.reasons ?? []).map((reason) => (
                    <li key={reason}>{reason}</li>
                  ))}
                </ul>
              </div>
            </div>
          );
        }}
      </Loading>
    </section>
  );
}
