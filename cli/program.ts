/**
 * The `fleetnet` command line: flow history for security teams (hubble observe-style flags), policy
 * management (apply-policies.ts), clusters, nodes and encryption (resource-commands.ts). Output: readable
 * tables for people (default), JSON / NDJSON / CSV for scripts. Everything it does is a call of the public
 * API; I/O comes in through options so tests run it in-process. Actions throw; run-cli.ts turns what they
 * throw into one message and an exit code (exit-codes.ts). Global options: GLOBAL_OPTIONS below.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError, Option } from 'commander';
import { stringify as toYaml } from 'yaml';
import type { FlowAggregationQuery, FlowAggregationResult, FlowImportResult, FlowQuery, FlowQueryResult, FlowRecord, ServiceGraph } from '../openapi/types.js';
import { joinableExportPage } from '../core/flows/flow-export.js';
import { createApiClient, DEFAULT_TIMEOUT_MS, text as textBody, type ApiClient } from './api-client.js';
import { applyPolicies, readInputFile } from './apply-policies.js';
import { applyWithReplay } from './replay-policies.js';
import { colourEnabled } from './colour.js';
import { CliError, EXIT } from './exit-codes.js';
import { addEncryptionStatusCommand } from './encryption-status-command.js';
import { addExplainCommand } from './explain-command.js';
import { addRealizationCommands } from './realization-commands.js';
import { addResourceCommands, listAll, pageQuery } from './resource-commands.js';
import { compileObserveFlags, parseIpVersion, type ObserveFlags } from './flow-flags.js';
import { describeCoverage, describeEndpoint, flowRows, FLOW_HEADERS, humanBytes, renderTable } from './render.js';

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  env: Record<string, string | undefined>;
  fetch?: typeof fetch;
  /** Whether stderr is a terminal (progress lines are redrawn in place). */
  progressTty?: boolean;
  /** Whether stdout is a terminal (tables may be coloured there, colour.ts). */
  stdoutTty?: boolean;
  /** The whole of standard input (read for `-f -`). */
  stdin?: () => Promise<string>;
  /** Whether standard input is a terminal (questions may be asked there). */
  stdinTty?: boolean;
  /** Asks a yes/no question on the terminal; true for yes. */
  confirm?: (question: string) => Promise<boolean>;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];
const positive = (value: string): number => {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return Number(value);
};

/** Allowed values of enum flags, as in FlowFilter (openapi.yaml; test/cli checks they match). */
export const FLOW_VERDICTS = ['FORWARDED', 'DROPPED', 'AUDIT'] as const;
export const TRAFFIC_DIRECTIONS = ['INGRESS', 'EGRESS', 'TRAFFIC_DIRECTION_UNKNOWN'] as const;

/** A repeatable flag whose values (any case) must be one of `allowed`. */
const collectOneOf = (allowed: readonly string[]) => (value: string, previous: string[] = []): string[] => {
  if (!allowed.includes(value.toUpperCase())) throw new InvalidArgumentError(`"${value}" is not one of ${allowed.join(', ')}`);
  return [...previous, value];
};
const PARSERS: Record<string, (value: string, previous?: string[]) => string[]> = {
  '--verdict <verdict>': collectOneOf(FLOW_VERDICTS),
  '--not-verdict <verdict>': collectOneOf(FLOW_VERDICTS),
  '--traffic-direction <dir>': collectOneOf(TRAFFIC_DIRECTIONS),
  '--ip-version <version>': (value: string, previous: string[] = []) => {
    try {
      parseIpVersion(value);
    } catch (error) {
      throw new InvalidArgumentError((error as Error).message);
    }
    return [...previous, value];
  },
};

/** `--timeout` seconds (decimals allowed) → milliseconds. */
const parseTimeout = (value: string): number => {
  if (!/^\d+(\.\d+)?$/.test(value) || Number(value) <= 0) throw new InvalidArgumentError(`expected a number of seconds greater than 0, got "${value}"`);
  return Math.round(Number(value) * 1000);
};

/** The version in the package.json above this module (works from sources and from dist/). */
export function readVersion(start = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = start; ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'fleetnet' && pkg.version) return pkg.version;
    }
    if (dirname(dir) === dir) return 'unknown';
  }
}

/**
 * Global options, accepted before or after the subcommand: the program shows them; every subcommand
 * has hidden copies without defaults, and the value nearest the subcommand wins (globalOption below).
 */
const GLOBAL_OPTIONS: Array<{ flags: string; description: string; parse?: (value: string) => unknown }> = [
  { flags: '--api-url <url>', description: 'API base URL (env FLEETNET_API_URL)' },
  { flags: '--token <token>', description: 'bearer token (env FLEETNET_TOKEN; default: a dev token when the local dev issuer exists)' },
  { flags: '--timeout <seconds>', description: `seconds to wait for each API answer (env FLEETNET_TIMEOUT; default ${DEFAULT_TIMEOUT_MS / 1000})`, parse: parseTimeout },
];

function addHiddenGlobalOptions(command: Command): void {
  for (const sub of command.commands) {
    for (const g of GLOBAL_OPTIONS) {
      const option = new Option(g.flags, g.description).hideHelp();
      if (g.parse) option.argParser(g.parse);
      sub.addOption(option);
    }
    addHiddenGlobalOptions(sub);
  }
}

const FILTER_FLAGS: Array<[string, string]> = [
  ['--verdict <verdict>', 'FORWARDED, DROPPED or AUDIT'],
  ['--drop-reason <reason>', 'drop reason (POLICY_DENIED, POLICY_DENY, …)'],
  ['--traffic-direction <dir>', 'INGRESS or EGRESS'],
  ['--protocol <proto>', 'tcp, udp, icmp, icmpv4, icmpv6, sctp, dns (DNS queries seen by the node\'s DNS proxy) or http (requests seen by its HTTP proxy)'],
  ['--dns-query <regex>', 'DNS query name, a regular expression (RE2 subset, unanchored, case-insensitive; names end with a dot)'],
  ['--http-method <method>', 'HTTP request method (GET, POST, …; case-insensitive)'],
  ['--http-status <code>', 'HTTP status code (404) or class prefix (5+, 40+)'],
  ['--http-path <regex>', 'HTTP path key (the first 2 path segments), a regular expression (RE2 subset, unanchored, case-sensitive)'],
  ['--node-name <name>', 'node name or cluster/node, * wildcards'],
  ['--cluster <id>', 'cluster id'],
  ['--policy <name>', 'deciding fleet policy (name or name@generation)'],
  ['--from-pod <[ns/]pod>', 'source pod (prefix); ns/ = every pod of ns'],
  ['--to-pod <[ns/]pod>', 'destination pod'],
  ['--pod <[ns/]pod>', 'source or destination pod'],
  ['--from-namespace <ns>', 'source namespace'],
  ['--to-namespace <ns>', 'destination namespace'],
  ['-n, --namespace <ns>', 'source or destination namespace'],
  ['--from-label <selector>', 'source label selector (k8s:app=web, app in (a,b))'],
  ['--to-label <selector>', 'destination label selector'],
  ['-l, --label <selector>', 'source or destination label selector'],
  ['--from-ip <cidr>', 'source IP or CIDR'],
  ['--to-ip <cidr>', 'destination IP or CIDR'],
  ['--ip <cidr>', 'source or destination IP or CIDR'],
  ['--from-fqdn <pattern>', 'source DNS name (* wildcards)'],
  ['--to-fqdn <pattern>', 'destination DNS name (* wildcards)'],
  ['--fqdn <pattern>', 'source or destination DNS name'],
  ['--from-port <port>', 'source port'],
  ['--to-port <port>', 'destination port'],
  ['--port <port>', 'source or destination port'],
  ['--from-identity <id>', 'source security identity'],
  ['--to-identity <id>', 'destination security identity'],
  ['--from-workload <[kind/]name>', 'source workload'],
  ['--to-workload <[kind/]name>', 'destination workload'],
  ['--not-verdict <verdict>', 'exclude a verdict'],
  ['--not-namespace <ns>', 'exclude traffic from or to a namespace'],
  ['--not-cluster <id>', 'exclude a cluster'],
  ['--ip-version <version>', 'IP version: 4 or 6 (v4, ipv4, v6, ipv6)'],
];

function withFilterFlags(command: Command): Command {
  command.option('--since <time>', 'RFC 3339 time or duration before now (e.g. 1h, 7d); default 1h').option('--until <time>', 'RFC 3339 time or duration before now; default now');
  for (const [flags, description] of FILTER_FLAGS) command.option(flags, `${description} (repeatable)`, PARSERS[flags] ?? collect);
  command.option('-4, --ipv4', 'only IPv4 flows').option('-6, --ipv6', 'only IPv6 flows');
  return command;
}

export function createProgram(io: CliIo): Command {
  const program = new Command()
    .name('fleetnet')
    .description('Fleet-wide network flow history, policies, clusters, nodes and encryption settings (fleetnet API client). Exit codes: docs/cli.md.')
    .version(readVersion(), '-V, --version', 'print the fleetnet version')
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .configureHelp({ showGlobalOptions: true })
    .enablePositionalOptions()
    .exitOverride();
  for (const g of GLOBAL_OPTIONS) {
    const option = new Option(g.flags, g.description);
    if (g.parse) option.argParser(g.parse);
    program.addOption(option);
  }

  // the command whose action runs (set before it runs)
  let active: Command = program;
  program.hook('preAction', (_program, actionCommand) => {
    active = actionCommand;
  });
  const globalOption = <T>(key: string): T | undefined => {
    for (let c: Command | null = active; c; c = c.parent) {
      const value = c.getOptionValue(key) as T | undefined;
      if (value !== undefined) return value;
    }
    return undefined;
  };
  const apiUrl = (): string => globalOption<string>('apiUrl') ?? io.env.FLEETNET_API_URL ?? 'http://localhost:7071/api';
  const client = (): ApiClient => {
    let timeoutMs = globalOption<number>('timeout');
    if (timeoutMs === undefined && io.env.FLEETNET_TIMEOUT) {
      try {
        timeoutMs = parseTimeout(io.env.FLEETNET_TIMEOUT);
      } catch (error) {
        throw new CliError(`FLEETNET_TIMEOUT: ${(error as Error).message}`, EXIT.USAGE);
      }
    }
    const token = globalOption<string>('token') ?? io.env.FLEETNET_TOKEN;
    return createApiClient({ baseUrl: apiUrl(), token: () => resolveToken(token, io), ...(timeoutMs !== undefined ? { timeoutMs } : {}), ...(io.fetch ? { fetch: io.fetch } : {}) });
  };

  // Positional options: flags after `flows top` belong to `top`, not to `flows`.
  const flows = program.command('flows').description('Flow history (like hubble observe, fleet-wide and durable).').enablePositionalOptions();
  withFilterFlags(flows)
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json', 'jsonl', 'csv']).default('table'))
    .option('--last <n>', 'at most n flows (default 100; table and json)', positive)
    .option('--all', 'every matching flow (pages through the whole answer)')
    .action(async (options: ObserveFlags & { output: string; last?: number; all?: boolean }) => {
      const query = compileObserveFlags(options);
      if (options.output === 'csv' || options.output === 'jsonl') {
        await exportFlows(client(), io, query, options.output === 'csv' ? 'csv' : 'ndjson', options.all ? Infinity : (options.last ?? Infinity));
        return;
      }
      const limit = options.all ? Infinity : (options.last ?? 100);
      const items: FlowRecord[] = [];
      let token: string | null = null;
      let coverage: FlowQueryResult['coverage'] | undefined;
      do {
        const body = { ...query, maxPageSize: Math.min(1000, limit - items.length), ...(token ? { continuationToken: token } : {}) };
        const page: FlowQueryResult = await client().call(client().api.POST('/flows/query', { body }));
        items.push(...page.items);
        coverage ??= page.coverage;
        token = page.continuationToken;
      } while (token && items.length < limit);
      if (options.output === 'json') io.out(`${JSON.stringify({ items, coverage, more: token !== null }, null, 2)}\n`);
      else {
        io.out(items.length === 0 ? 'No flows matched.\n' : renderTable(FLOW_HEADERS, flowRows(items, colourEnabled(io.env, io.stdoutTty === true))));
        if (coverage) io.err(`${describeCoverage(coverage)}${token ? ` (showing the first ${items.length}; --all for every flow)` : ''}\n`);
      }
    });

  withFilterFlags(flows.command('top').description('Top talkers: sums grouped by dimensions, largest first.'))
    .option('--by <dimensions>', 'comma-separated: cluster, node_name, source_namespace, destination_namespace, source_workload, destination_workload, source_identity, destination_identity, destination_port, protocol, verdict, drop_reason_desc, traffic_direction, policy, dns_query, dns_rcode, http_method, http_status_code, http_path', 'source_workload,destination_workload')
    .addOption(new Option('--order <sum>', 'order by').choices(['packets', 'bytes', 'flows', 'summaries']).default('bytes'))
    .option('--top <n>', 'number of groups', positive, 10)
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'))
    .action(async (options: ObserveFlags & { by: string; order: string; top: number; output: string }) => {
      const groupBy = options.by.split(',').map((d) => d.trim()).filter(Boolean);
      const body = { ...compileObserveFlags(options), groupBy: groupBy as FlowAggregationQuery['groupBy'], orderBy: options.order as FlowAggregationQuery['orderBy'], top: options.top };
      const result = await client().call(client().api.POST('/flows/aggregations', { body }));
      printAggregation(io, result, options.output);
    });

  withFilterFlags(flows.command('drops').description('Dropped-flow analysis: DROPPED and AUDIT flows by deciding policy and reason.'))
    .option('--top <n>', 'number of groups', positive, 20)
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'))
    .action(async (options: ObserveFlags & { top: number; output: string }) => {
      const query = compileObserveFlags({ ...options, verdict: options.verdict ?? ['DROPPED', 'AUDIT'] });
      const result = await client().call(client().api.POST('/flows/aggregations', { body: { ...query, groupBy: ['policy', 'drop_reason_desc', 'verdict'], orderBy: 'flows', top: options.top } }));
      printAggregation(io, result, options.output);
    });

  withFilterFlags(flows.command('graph').description('Service dependency graph (workloads and the traffic between them).'))
    .addOption(new Option('-o, --output <format>', 'output format').choices(['json', 'table', 'dot']).default('json'))
    .action(async (options: ObserveFlags & { output: string }) => {
      const graph = await client().call(client().api.POST('/flows/servicegraph', { body: compileObserveFlags(options) }));
      if (options.output === 'json') io.out(`${JSON.stringify(graph, null, 2)}\n`);
      else if (options.output === 'dot') io.out(toDot(graph));
      else {
        const rows = graph.edges.map((e) => [e.source, e.destination, e.ports.join(' '), ...(['FORWARDED', 'DROPPED', 'AUDIT'] as const).map((v) => String(e.verdicts[v]?.flows ?? 0)), String(e.packets), humanBytes(e.bytes)]);
        io.out(renderTable(['SOURCE', 'DESTINATION', 'PORTS', 'FORWARDED', 'DROPPED', 'AUDIT', 'PACKETS', 'BYTES'], rows));
        io.err(`${describeCoverage(graph.coverage)}\n`);
      }
    });

  flows
    .command('import <file>')
    .description('Backfill a cluster from `hubble observe -o jsonpb` output (Fleet.Admin); - reads standard input.')
    .requiredOption('--cluster <id>', 'cluster the flows belong to')
    .option('--window <seconds>', 'aggregation window', positive, 60)
    .action(async (file: string, options: { cluster: string; window: number }) => {
      const text = await readInputFile(file, io);
      const result = await client().call(
        client().api.POST('/clusters/{clusterId}/flowimports', { params: { path: { clusterId: options.cluster }, query: { windowSeconds: options.window } }, body: text, ...textBody('application/x-ndjson') }),
      );
      io.out(`${result.imported} of ${result.lines} flows imported as ${result.summaries} summaries (${result.accepted} new, ${result.duplicates} already stored, ${result.skipped} lines skipped)\n`);
      if (result.skipped > 0) io.out(describeSkippedLines(result));
    });

  const policy = program.command('policy').description('Fleet network policies.');
  policy
    .command('apply')
    .description('Create or replace policies from a YAML or JSON file: fleet NetworkPolicies, CiliumNetworkPolicies or Kubernetes NetworkPolicies. Nothing is written unless every document is valid.')
    .requiredOption('-f, --file <path>', 'YAML (several documents allowed) or JSON; - for standard input')
    .option('--dry-run', 'validate every document and convert, store nothing (exit 4 if any is rejected)')
    .option('--cluster-selector <selector>', 'targets of imported Cilium/Kubernetes policies (label selector over clusters)')
    .addOption(new Option('--mode <mode>', 'mode of imported Cilium/Kubernetes policies').choices(['enforce', 'audit']))
    .option('--all-clusters', 'mean it: enforce documents that name no clusters (no --cluster-selector, no spec.targets) on every cluster of the fleet')
    .option('--replay <window>', 'first replay the fleet policies of FILE against the flow history of this window (e.g. 7d), print what would change and ask before applying')
    .option('--replay-only', 'with --replay: print the diff and never apply; exit 8 when a flow allowed now would be dropped (CI)')
    .option('-y, --yes', 'with --replay: apply without asking')
    .option('--json', 'with --replay: print the replay result as JSON')
    .action(async (options: { file: string; dryRun?: boolean; clusterSelector?: string; mode?: string; allClusters?: boolean; replay?: string; replayOnly?: boolean; yes?: boolean; json?: boolean }) => {
      const { replay, replayOnly, yes, json, ...apply } = options;
      if (replay === undefined) {
        if (replayOnly || yes || json) throw new CliError('--replay-only, --yes and --json go with --replay <window>', EXIT.USAGE);
        await applyPolicies(client(), io, apply);
        return;
      }
      await applyWithReplay(client(), io, { ...apply, replay, ...(replayOnly ? { replayOnly } : {}), ...(yes ? { yes } : {}), ...(json ? { json } : {}) });
    });
  policy
    .command('get <name>')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['yaml', 'json']).default('yaml'))
    .action(async (name: string, options: { output: string }) => {
      const p = await client().call(client().api.GET('/networkpolicies/{name}', { params: { path: { name } } }));
      io.out(options.output === 'json' ? `${JSON.stringify(p, null, 2)}\n` : toYaml(p));
    });
  policy
    .command('delete <name>')
    .description('Delete a network policy (Fleet.Admin). Exit 5 if it does not exist, 6 if --if-match does not match.')
    .option('--if-match <etag>', 'delete only if the policy\'s ETag is still this one (from GET /networkpolicies/{name})')
    .action(async (name: string, options: { ifMatch?: string }) => {
      await client().call(client().api.DELETE('/networkpolicies/{name}', { params: { path: { name }, header: options.ifMatch ? { 'If-Match': options.ifMatch } : {} } }));
      io.out(`networkpolicy/${name} deleted\n`);
    });
  policy
    .command('list')
    .option('-l, --selector <selector>', 'label selector')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'))
    .action(async (options: { selector?: string; output: string }) => {
      const items = await listAll((token) => client().call(client().api.GET('/networkpolicies', { params: { query: pageQuery(token, options.selector) } })));
      if (options.output === 'json') io.out(`${JSON.stringify(items, null, 2)}\n`);
      else io.out(renderTable(['NAME', 'MODE', 'GENERATION', 'UPDATED', 'LABELS'], items.map((p) => [p.metadata.name, p.spec.mode ?? 'enforce', String(p.metadata.generation ?? ''), p.metadata.updatedAt ?? '', Object.entries(p.metadata.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(',')])));
    });
  policy
    .command('history <name>')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'))
    .action(async (name: string, options: { output: string }) => {
      const items = await listAll((token) => client().call(client().api.GET('/networkpolicies/{name}/revisions', { params: { path: { name }, query: pageQuery(token) } })));
      if (options.output === 'json') io.out(`${JSON.stringify(items, null, 2)}\n`);
      else io.out(renderTable(['GENERATION', 'WHEN', 'WHO', 'OPERATION'], items.map((r) => [String(r.generation), r.timestamp, r.actor, r.operation])));
    });
  addResourceCommands(program, { client, io });
  addEncryptionStatusCommand(program, { client, io });
  addExplainCommand(program, { client, io });
  addRealizationCommands(program, policy, { client, io });
  addHiddenGlobalOptions(program);
  return program;
}

async function exportFlows(client: ApiClient, io: CliIo, query: FlowQuery, format: 'csv' | 'ndjson', limit: number): Promise<void> {
  let token: string | null = null;
  let written = 0;
  let first = true;
  const progress = (done: boolean) => {
    const text = `exported ${written} flow${written === 1 ? '' : 's'}${done ? '' : '…'}`;
    if (io.progressTty) io.err(`\r${text}${done ? '\n' : ''}`);
    else if (done) io.err(`${text}\n`);
  };
  do {
    const pageSize = Math.min(10_000, limit - written);
    const body: FlowQuery = { ...query, maxPageSize: pageSize, ...(token ? { continuationToken: token } : {}) };
    const { data, response }: { data: unknown; response: Response } = await client.answer(client.api.POST('/flows/export', { params: { query: { format } }, body, parseAs: 'text' }));
    const page = joinableExportPage(data as string, format, first);
    io.out(page.text);
    written += page.records;
    first = false;
    token = response.headers.get('continuation-token');
    progress(false);
    if (!token) io.err(`${response.headers.get('flow-coverage') ?? ''}\n`.replace(/^/, 'coverage: '));
  } while (token && written < limit);
  progress(true);
}

function printAggregation(io: CliIo, result: FlowAggregationResult, output: string): void {
  if (output === 'json') {
    io.out(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }
  const rows = result.groups.map((g) => [...result.groupBy.map((d) => String(g.key[d] ?? '-')), String(g.flows), String(g.packets), humanBytes(g.bytes), String(g.summaries)]);
  io.out(rows.length === 0 ? 'No flows matched.\n' : renderTable([...result.groupBy.map((d) => d.toUpperCase()), 'FLOWS', 'PACKETS', 'BYTES', 'SUMMARIES'], rows));
  io.err(`${result.groups.length} of ${result.groupCount} groups; totals: ${result.totals.flows} flows, ${result.totals.packets} packets, ${humanBytes(result.totals.bytes)}\n${describeCoverage(result.coverage)}\n`);
}

function toDot(graph: ServiceGraph): string {
  const quote = (s: string) => JSON.stringify(s);
  const lines = ['digraph fleetnet {', '  rankdir=LR;'];
  for (const n of graph.nodes) lines.push(`  ${quote(n.id)} [label=${quote(n.namespace ? `${n.namespace}/${n.workload}` : n.workload)}];`);
  for (const e of graph.edges) {
    const dropped = (e.verdicts.DROPPED?.flows ?? 0) > 0 || (e.verdicts.DROPPED?.packets ?? 0) > 0;
    lines.push(`  ${quote(e.source)} -> ${quote(e.destination)} [label=${quote(e.ports.join(' '))}${dropped ? ', color=red' : ''}];`);
  }
  return `${lines.join('\n')}\n}\n`;
}

/** The given token, else (local development) a Fleet.Admin token from the dev issuer if its key exists. */
async function resolveToken(given: string | undefined, io: CliIo): Promise<string | undefined> {
  if (given) return given;
  const dir = io.env.FLEETNET_AUTH_DEV_ISSUER_DIR ?? '.fleetnet/dev-issuer';
  if (!existsSync(dir)) return undefined;
  const { loadOrCreateDevIssuer } = await import('../functions/src/auth/dev-issuer.js');
  return (await loadOrCreateDevIssuer(dir)).mintToken({ role: 'Fleet.Admin', objectId: 'fleetnet-cli' });
}

export { describeEndpoint };

/** Why lines were skipped, one line per reason with its count (the API reports the first 100 lines' reasons). */
export function describeSkippedLines(result: Pick<FlowImportResult, 'skipped' | 'skippedLines'>): string {
  const counts = new Map<string, number>();
  for (const { reason } of result.skippedLines) counts.set(reason, (counts.get(reason) ?? 0) + 1);
  const partial = result.skipped > result.skippedLines.length ? ` (reasons of the first ${result.skippedLines.length})` : '';
  return [...counts].map(([reason, count]) => `  skipped ${count} × ${reason}${partial}\n`).join('');
}
