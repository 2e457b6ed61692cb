/**
 * Fleet overview: every cluster (labels, what ARM reports, encryption compliance, desired-state
 * realization) and, for the selected cluster (`?cluster=`), its nodes: the revision each enforces,
 * Programmed / Degraded with their reasons, when it was last heard.
 */
import type { Cluster, ClusterCondition, FleetRealization, Node, NodeCondition } from '../../../openapi/types.js';
import { Ago, Badge, Labels, Loading, numberColumn, TableHead, useLoad } from '../components.js';
import { listAll } from '../paged.js';
import { routeHref } from '../route.js';
import type { ViewProps } from './registry.js';

const condition = <C extends { type: string }>(conditions: C[] | undefined, type: string): C | undefined => conditions?.find((c) => c.type === type);

export function FleetView({ api, params }: ViewProps) {
  const selected = params.get('cluster') ?? undefined;
  const fleet = useLoad(
    async () => {
      const [clusters, realization] = await Promise.all([listAll<Cluster>(api, '/clusters'), api<FleetRealization>('GET', '/realization')]);
      return { clusters, realization: new Map(realization.clusters.map((c) => [c.cluster, c])) };
    },
    [api],
  );
  return (
    <>
      <h1>Fleet</h1>
      <Loading loaded={fleet}>
        {() => (
          <table aria-label="Clusters">
            <TableHead columns={['Cluster', 'Labels', 'Kubernetes', 'Dataplane', 'Transit encryption', 'Encryption', 'ARM read', numberColumn('Nodes at revision'), numberColumn('Degraded')]} />
            <tbody>
              {fleet.data!.clusters.map((cluster) => {
                const id = cluster.metadata.name;
                const inventory = cluster.status?.inventory;
                const compliance = condition<ClusterCondition>(cluster.status?.conditions, 'EncryptionCompliant');
                const found = condition<ClusterCondition>(cluster.status?.conditions, 'ArmResourceFound');
                const real = fleet.data!.realization.get(id);
                return (
                  <tr key={id} aria-selected={id === selected}>
                    <th scope="row">
                      <a href={routeHref('fleet', { cluster: id })}>{id}</a>
                    </th>
                    <td>
                      <Labels labels={cluster.metadata.labels} />
                    </td>
                    <td>{inventory?.kubernetesVersion ?? <span class="muted">—</span>}</td>
                    <td>{inventory?.network?.networkDataplane ?? <span class="muted">—</span>}</td>
                    <td>{inventory?.network?.advancedNetworking?.transitEncryption ?? <span class="muted">—</span>}</td>
                    <td>{compliance ? <Badge kind={compliance.reason ?? 'Unknown'}>{compliance.reason}</Badge> : null}</td>
                    <td>
                      {found?.status === 'False' ? <Badge kind="Drifted">not found</Badge> : found?.status === 'Unknown' ? <Badge kind="Unsupported">read failed</Badge> : <Ago at={inventory?.observedAt} />}
                    </td>
                    <td class="num">{real ? `${real.atRevision} / ${real.nodes}` : '—'}</td>
                    <td class="num">{real?.degraded ? <span class="bad">{real.degraded}</span> : (real?.degraded ?? '—')}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </Loading>
      {selected && <ClusterNodes api={api} clusterId={selected} />}
    </>
  );
}

function ClusterNodes({ api, clusterId }: { api: ViewProps['api']; clusterId: string }) {
  const nodes = useLoad(() => listAll<Node>(api, `/clusters/${encodeURIComponent(clusterId)}/nodes`), [api, clusterId]);
  return (
    <section aria-labelledby="nodes-title">
      <h2 id="nodes-title">Nodes of {clusterId}</h2>
      <Loading loaded={nodes}>
        {() =>
          nodes.data!.length === 0 ? (
            <p class="muted">No node has registered.</p>
          ) : (
            <table aria-label={`Nodes of ${clusterId}`}>
              <TableHead columns={['Node', numberColumn('Revision'), 'Programmed', 'Degraded', 'WireGuard', 'Last seen']} />
              <tbody>
                {nodes.data!.map((node) => {
                  const programmed = condition<NodeCondition>(node.status?.conditions, 'Programmed');
                  const degraded = condition<NodeCondition>(node.status?.conditions, 'Degraded');
                  const evidence = node.status?.encryption;
                  return (
                    <tr key={node.metadata.name}>
                      <th scope="row">{node.metadata.name}</th>
                      <td class="num">{node.status?.observedRevision ?? '—'}</td>
                      <td>{programmed ? <Badge kind={programmed.status === 'True' ? 'FORWARDED' : 'DROPPED'}>{programmed.reason ?? programmed.status}</Badge> : <span class="muted">—</span>}</td>
                      <td>
                        {degraded?.status === 'True' ? (
                          <>
                            <Badge kind="Degraded">{degraded.reason ?? 'Degraded'}</Badge> <span class="degraded-message">{degraded.message}</span>
                          </>
                        ) : (
                          <span class="muted">{degraded?.reason ?? '—'}</span>
                        )}
                      </td>
                      <td>{evidence ? (evidence.error ? <span class="warn">unreadable</span> : evidence.wireguardInterfaces.length > 0 ? evidence.wireguardInterfaces.map((i) => i.name).join(', ') : 'no tunnel') : <span class="muted">—</span>}</td>
                      <td>
                        <Ago at={node.status?.lastSeen} />
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          )
        }
      </Loading>
    </section>
  );
}
