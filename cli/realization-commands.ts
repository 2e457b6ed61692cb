/**
 * `fleetnet policy status NAME` and `fleetnet fleet status`: what the fleet actually enforces
 * (GET /networkpolicies/{name}/realization, GET /realization) — per generation of a policy the clusters
 * targeted and each node enforcing, behind, unknown, silent or Degraded for it; per cluster the intended
 * revision and the nodes at it.
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { ApiClient } from './api-client.js';
import type { CliIo } from './program.js';
import { renderTable } from './render.js';

const secondsOf = (value: string): number => {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 86_400) throw new InvalidArgumentError(`expected seconds from 1 to 86400, got "${value}"`);
  return Number(value);
};

export function addRealizationCommands(program: Command, policy: Command, deps: { client: () => ApiClient; io: CliIo }): void {
  const { client, io } = deps;
  const silentOption = () => new Option('--silent-after <seconds>', 'a node is silent after this long without a report (default 90: three 30 s polls)').argParser(secondsOf);
  policy
    .command('status <name>')
    .description('Which clusters and nodes enforce each generation of the policy; nodes behind, silent or Degraded for it.')
    .addOption(silentOption())
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'))
    .action(async (name: string, options: { silentAfter?: number; output: string }) => {
      const r = await client().call(client().api.GET('/networkpolicies/{name}/realization', { params: { path: { name }, query: options.silentAfter ? { silentAfterSeconds: options.silentAfter } : {} } }));
      if (options.output === 'json') return void io.out(`${JSON.stringify(r, null, 2)}\n`);
      const s = r.summary;
      io.out(`networkpolicy/${r.policy}: current generation ${r.currentGeneration ?? '-'}; nodes enforcing ${s.enforcing}, behind ${s.behind}, unknown ${s.unknown}, silent ${s.silent}, degraded ${s.degraded}\n`);
      const rows = r.generations.flatMap((g) => [
        ...g.nodes.map((n) => [g.generation === null ? 'none' : String(g.generation), n.cluster, n.node, n.state, n.observedRevision === undefined ? '' : String(n.observedRevision), [n.silent ? 'silent' : '', n.degraded ? 'degraded' : ''].filter(Boolean).join(',')]),
        ...g.clustersTargeted.filter((c) => !g.nodes.some((n) => n.cluster === c)).map((c) => [String(g.generation), c, '(no nodes)', '', '', '']),
      ]);
      io.out(renderTable(['GENERATION', 'CLUSTER', 'NODE', 'STATE', 'REVISION', 'FLAGS'], rows));
    });
  program
    .command('fleet')
    .description('The fleet\'s realization.')
    .command('status')
    .description('Per cluster: the desired-state revision and how many nodes enforce it, are behind, silent or Degraded.')
    .addOption(silentOption())
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'))
    .action(async (options: { silentAfter?: number; output: string }) => {
      const r = await client().call(client().api.GET('/realization', { params: { query: options.silentAfter ? { silentAfterSeconds: options.silentAfter } : {} } }));
      if (options.output === 'json') return void io.out(`${JSON.stringify(r, null, 2)}\n`);
      io.out(renderTable(['CLUSTER', 'REVISION', 'NODES', 'AT REVISION', 'BEHIND', 'UNKNOWN', 'SILENT', 'DEGRADED'], r.clusters.map((c) => [c.cluster, c.revision === undefined ? '-' : String(c.revision), String(c.nodes), String(c.atRevision), String(c.behind), String(c.unknown), String(c.silent), String(c.degraded)])));
    });
}
