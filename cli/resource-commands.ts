/**
 * Read commands for clusters, their nodes and encryption settings: `cluster list|get`,
 * `node list|status` (the `Programmed` / `Degraded` conditions agents report) and
 * `encryption get|effective`. Tables for people, `-o json` (and `-o yaml` for single resources) for scripts.
 */
import { type Command, Option } from 'commander';
import { stringify as toYaml } from 'yaml';
import type { EncryptionConfig, EncryptionSettings, Node, NodeCondition } from '../openapi/types.js';
import { ApiError, type ApiClient } from './api-client.js';
import { describeErrors, readInputFile } from './apply-policies.js';
import { CliError, EXIT } from './exit-codes.js';
import { readPolicyDocuments } from './read-policy-documents.js';
import type { CliIo } from './program.js';
import { colourEnabled, paint, type Colour } from './colour.js';
import { renderTable } from './render.js';

export interface ResourceCommandDeps {
  client: () => ApiClient;
  io: CliIo;
}

/** Every item of a paged list: asks for page after page, each with the `continuationToken` of the
 *  previous page's `nextLink`, until a page has none. */
export async function listAll<T>(page: (continuationToken: string | undefined) => Promise<{ items: T[]; nextLink?: string | null }>): Promise<T[]> {
  const items: T[] = [];
  let token: string | undefined;
  do {
    const answer = await page(token);
    items.push(...answer.items);
    token = answer.nextLink ? (new URL(answer.nextLink).searchParams.get('continuationToken') ?? undefined) : undefined;
  } while (token !== undefined);
  return items;
}

/** The query of a list page: 500 items, the label selector if any, the continuation token if any. */
export const pageQuery = (continuationToken: string | undefined, labelSelector?: string) => ({
  maxPageSize: 500,
  ...(labelSelector ? { labelSelector } : {}),
  ...(continuationToken ? { continuationToken } : {}),
});

const labels = (l: Record<string, string> | undefined): string => Object.entries(l ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
const tableOrJson = () => new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table');
const yamlOrJson = () => new Option('-o, --output <format>', 'output format').choices(['yaml', 'json']).default('yaml');
const print = (io: CliIo, value: unknown, output: string) => io.out(output === 'json' ? `${JSON.stringify(value, null, 2)}\n` : toYaml(value));
const condition = (conditions: NodeCondition[] | undefined, type: NodeCondition['type']) => conditions?.find((c) => c.type === type);

/** Red when the node is unwell (Degraded True, Programmed False), green when it is well. */
function conditionColour(c: NodeCondition | undefined): Colour | undefined {
  if (!c || c.status === 'Unknown') return undefined;
  return (c.type === 'Degraded') === (c.status === 'True') ? 'red' : 'green';
}

/** `True (reason)` for a condition, `-` when the node has not reported it. */
function describeCondition(c: NodeCondition | undefined, colour = false): string {
  if (!c) return '-';
  return paint(c.reason ? `${c.status} (${c.reason})` : c.status, conditionColour(c), colour);
}

function describeEncryption(e: EncryptionConfig): string {
  if (!e.enabled) return 'disabled';
  const strict = e.strictMode?.egress?.enabled || e.strictMode?.ingress?.enabled ? ', strict mode' : '';
  return `${e.type ?? 'wireguard'}${e.nodeEncryption ? ', node encryption' : ''}${strict}`;
}

export function addResourceCommands(program: Command, deps: ResourceCommandDeps): void {
  const { io, client } = deps;

  const cluster = program.command('cluster').description('Clusters of the fleet.');
  cluster
    .command('list')
    .description('List clusters.')
    .option('-l, --selector <selector>', 'label selector over cluster labels')
    .addOption(tableOrJson())
    .action(async (options: { selector?: string; output: string }) => {
      const items = await listAll((token) => client().call(client().api.GET('/clusters', { params: { query: pageQuery(token, options.selector) } })));
      if (options.output === 'json') io.out(`${JSON.stringify(items, null, 2)}\n`);
      else if (items.length === 0) io.out('No clusters.\n');
      else io.out(renderTable(['NAME', 'LABELS', 'AGENT IDENTITIES', 'UPDATED'], items.map((c) => [c.metadata.name, labels(c.metadata.labels), String(c.spec.agentIdentities?.length ?? 0), c.metadata.updatedAt ?? ''])));
    });
  cluster
    .command('get <id>')
    .description('A cluster, with its inventory status.')
    .addOption(yamlOrJson())
    .action(async (id: string, options: { output: string }) => print(io, await client().call(client().api.GET('/clusters/{clusterId}', { params: { path: { clusterId: id } } })), options.output));

  const node = program.command('node').description('Nodes registered by their agents.');
  node
    .command('list [cluster]')
    .description('Nodes of a cluster (or of every cluster) with the revision they run and their Programmed / Degraded conditions.')
    .option('-l, --selector <selector>', 'label selector over node labels')
    .addOption(tableOrJson())
    .action(async (clusterId: string | undefined, options: { selector?: string; output: string }) => {
      const clusterIds =
        clusterId !== undefined ? [clusterId] : (await listAll((token) => client().call(client().api.GET('/clusters', { params: { query: pageQuery(token) } })))).map((c) => c.metadata.name);
      const nodes: Array<{ cluster: string; node: Node }> = [];
      for (const id of clusterIds) {
        const page = (token: string | undefined) => client().call(client().api.GET('/clusters/{clusterId}/nodes', { params: { path: { clusterId: id }, query: pageQuery(token, options.selector) } }));
        nodes.push(...(await listAll(page)).map((node) => ({ cluster: id, node })));
      }
      if (options.output === 'json') {
        io.out(`${JSON.stringify(clusterId !== undefined ? nodes.map((n) => n.node) : nodes, null, 2)}\n`);
        return;
      }
      if (nodes.length === 0) {
        io.out(clusterId !== undefined ? `No nodes registered in cluster ${clusterId}.\n` : 'No nodes registered.\n');
        return;
      }
      const colour = colourEnabled(io.env, io.stdoutTty === true);
      const rows = nodes.map(({ cluster: c, node: n }) => [
        ...(clusterId === undefined ? [c] : []),
        n.metadata.name,
        n.spec.agentVersion,
        String(n.status?.observedRevision ?? '-'),
        describeCondition(condition(n.status?.conditions, 'Programmed'), colour),
        describeCondition(condition(n.status?.conditions, 'Degraded'), colour),
        n.status?.lastSeen ?? '-',
      ]);
      io.out(renderTable([...(clusterId === undefined ? ['CLUSTER'] : []), 'NAME', 'AGENT', 'REVISION', 'PROGRAMMED', 'DEGRADED', 'LAST SEEN'], rows));
    });
  node
    .command('status <cluster> <node>')
    .description('A node: agent, kernel, capabilities and every condition with its reason and message.')
    .addOption(tableOrJson())
    .action(async (clusterId: string, nodeName: string, options: { output: string }) => {
      const n = await client().call(client().api.GET('/clusters/{clusterId}/nodes/{nodeName}', { params: { path: { clusterId, nodeName } } }));
      if (options.output === 'json') {
        io.out(`${JSON.stringify(n, null, 2)}\n`);
        return;
      }
      const caps = Object.entries(n.spec.capabilities ?? {}).filter(([, v]) => v).map(([k]) => k).join(', ') || '-';
      io.out(`Node:       ${clusterId}/${n.metadata.name}\nAgent:      ${n.spec.agentVersion}\nKernel:     ${n.spec.kernelVersion ?? '-'}\nCapabilities: ${caps}\nRevision:   ${n.status?.observedRevision ?? '-'}\nLast seen:  ${n.status?.lastSeen ?? '-'}\n`);
      const conditions = n.status?.conditions ?? [];
      io.out(conditions.length === 0 ? 'Conditions: none reported\n' : `Conditions:\n${renderTable(['TYPE', 'STATUS', 'REASON', 'SINCE', 'MESSAGE'], conditions.map((c) => [c.type, paint(c.status, conditionColour(c), colourEnabled(io.env, io.stdoutTty === true)), c.reason ?? '', c.lastTransitionTime ?? '', c.message ?? '']))}`);
    });

  const encryption = program.command('encryption').description('Transparent encryption settings.');
  encryption
    .command('get')
    .description('The fleet\'s encryption settings: the default and the ordered overrides.')
    .addOption(yamlOrJson())
    .action(async (options: { output: string }) => print(io, await client().call(client().api.GET('/encryptionsettings')), options.output));
  encryption
    .command('apply')
    .description('Create or replace the fleet\'s encryption settings from one EncryptionSettings document (Fleet.Admin).')
    .requiredOption('-f, --file <path>', 'YAML or JSON; - for standard input')
    .option('--dry-run', 'validate only (by the API, storing nothing); exit 4 if invalid')
    .option('--if-match <etag>', 'replace only if the settings\' ETag is still this one')
    .action(async (options: { file: string; dryRun?: boolean; ifMatch?: string }) => {
      const docs = readPolicyDocuments(await readInputFile(options.file, io), options.file === '-' ? '<stdin>' : options.file);
      if (docs.length !== 1) throw new CliError(`${options.file}: expected one EncryptionSettings document, found ${docs.length}`, EXIT.INVALID);
      const doc = docs[0]!;
      const value = doc.value as { apiVersion?: unknown; kind?: unknown };
      if (value?.apiVersion !== 'fleetnet.io/v1' || value.kind !== 'EncryptionSettings') {
        throw new CliError(`document ${doc.position}: expected apiVersion fleetnet.io/v1 and kind EncryptionSettings, found ${String(value?.apiVersion)} ${String(value?.kind)}`, EXIT.INVALID);
      }
      const settings = doc.value as EncryptionSettings;
      const ifMatch = options.ifMatch ? { 'If-Match': options.ifMatch } : {};
      try {
        // validated by the API as its write validates (a dry run stores nothing)
        if (options.dryRun) {
          await client().call(client().api.PUT('/encryptionsettings', { params: { query: { dryRun: true }, header: ifMatch }, body: settings }));
          io.out(`encryptionsettings/${settings.metadata.name} valid (dry run)\n`);
          return;
        }
        const { data: stored, response } = await client().answer(client().api.PUT('/encryptionsettings', { params: { header: ifMatch }, body: settings }));
        io.out(`encryptionsettings/${stored.metadata.name} ${response.status === 201 ? 'created' : 'applied'} (generation ${stored.metadata.generation})\n`);
      } catch (error) {
        if (!(error instanceof ApiError && error.status === 400)) throw error;
        io.out(`document ${doc.position} (EncryptionSettings) rejected${options.dryRun ? ' (dry run)' : ''}:${describeErrors(error.problem?.errors ?? [{ pointer: '', message: error.problem?.detail ?? 'invalid' }])}\n`);
        throw new CliError(`${options.file} rejected; nothing was stored`, EXIT.INVALID);
      }
    });
  encryption
    .command('effective <cluster>')
    .description('The settings a cluster gets after the overrides that match it.')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json', 'yaml']).default('table'))
    .action(async (clusterId: string, options: { output: string }) => {
      const e = await client().call(client().api.GET('/clusters/{clusterId}/encryption', { params: { path: { clusterId } } }));
      if (options.output !== 'table') print(io, e, options.output);
      else io.out(`Cluster:    ${e.clusterId}\nEncryption: ${describeEncryption(e.settings)}\nOverrides:  ${e.appliedOverrides.length > 0 ? e.appliedOverrides.join(', ') : 'none (fleet default)'}\nGeneration: ${e.settingsGeneration ?? '-'}\n`);
    });
}
