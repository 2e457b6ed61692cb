/**
 * `fleetnet policy apply -f FILE --replay WINDOW`: replay the file's fleet NetworkPolicies (as upserts)
 * against the flow history of WINDOW before applying them.
 *
 * Contracts:
 * - Only fleet NetworkPolicy documents can be replayed (Cilium/Kubernetes documents: EXIT.USAGE, nothing sent).
 * - The replay is started (POST /policyreplays), then polled at the operation's Operation-Location, waiting
 *   the Retry-After it answers (1 s when absent) between polls. A Failed operation is an error (EXIT.ERROR;
 *   EXIT.UNAVAILABLE when its problem is a 503 or OperationInterrupted).
 * - Output: the diff (formatReplayDiff) or, with `--json`, the operation's result as JSON.
 * - `--replay-only`: never applies; EXIT.WOULD_DROP when any flow allowed now would be dropped, else 0.
 * - Otherwise: `--yes` applies (applyPolicies, the usual checks); on a terminal the command asks
 *   `Apply? [y/N] ` and applies on `y`/`yes` (declined: not applied, exit 0); with no terminal and no
 *   `--yes` nothing is applied and the command fails (EXIT.ERROR).
 */
import type { NetworkPolicy, PolicyReplayChange, PolicyReplayOperation, PolicyReplayResult } from '../openapi/types.js';
import { applyPolicies, readInputFile, type ApplyOptions } from './apply-policies.js';
import type { ApiClient } from './api-client.js';
import { CliError, EXIT } from './exit-codes.js';
import type { CliIo } from './program.js';
import { readPolicyDocuments } from './read-policy-documents.js';

export interface ReplayApplyOptions extends ApplyOptions {
  replay: string;
  replayOnly?: boolean;
  yes?: boolean;
  json?: boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const isFleetPolicy = (v: unknown): v is NetworkPolicy => typeof v === 'object' && v !== null && (v as NetworkPolicy).apiVersion === 'fleetnet.io/v1' && (v as NetworkPolicy).kind === 'NetworkPolicy';

export async function applyWithReplay(client: ApiClient, io: CliIo, options: ReplayApplyOptions): Promise<void> {
  const docs = readPolicyDocuments(await readInputFile(options.file, io), options.file === '-' ? '<stdin>' : options.file);
  const others = docs.filter((d) => !isFleetPolicy(d.value));
  if (others.length > 0) throw new CliError(`--replay takes fleet NetworkPolicy documents only (document ${others[0]!.position} is not one)`, EXIT.USAGE);
  const policies = docs.map((d) => d.value as NetworkPolicy).map((p) => ({ metadata: { name: p.metadata?.name }, spec: p.spec }));
  const started = await client.answer(client.api.POST('/policyreplays', { body: { policies, since: options.replay } as never }));
  const operation = await pollOperation(client, started.data, started.response);
  const result = operation.result!;
  io.out(options.json ? `${JSON.stringify(result, null, 2)}\n` : formatReplayDiff(result));
  const wouldDrop = result.totals.allowedToDropped.summaries > 0;
  if (options.replayOnly) {
    if (wouldDrop) throw new CliError(`${result.totals.allowedToDropped.summaries} flow summaries allowed now would be dropped by ${options.file}`, EXIT.WOULD_DROP);
    return;
  }
  // the file is read again by applyPolicies: `-` (standard input) can be read once only
  if (options.file === '-') throw new CliError('--replay with -f - cannot apply afterwards; use --replay-only, or a file', EXIT.USAGE);
  if (!options.yes) {
    if (!io.stdinTty || !io.confirm) throw new CliError(`not applied: no terminal to ask on (pass --yes to apply after the replay, or --replay-only)`, EXIT.ERROR);
    if (!(await io.confirm('Apply? [y/N] '))) {
      io.out('Not applied.\n');
      return;
    }
  }
  const { replay: _r, replayOnly: _o, yes: _y, json: _j, ...apply } = options;
  await applyPolicies(client, io, apply);
}

async function pollOperation(client: ApiClient, first: PolicyReplayOperation, response: Response): Promise<PolicyReplayOperation> {
  let operation = first;
  let retryAfter = response.headers.get('retry-after');
  while (operation.status === 'NotStarted' || operation.status === 'Running') {
    await sleep(Math.max(1, Number(retryAfter) || 1) * 1000);
    const next = await client.answer(client.api.GET('/policyreplays/{operationId}', { params: { path: { operationId: first.id } } }));
    operation = next.data;
    retryAfter = next.response.headers.get('retry-after');
  }
  if (operation.status === 'Failed') {
    const problem = operation.error;
    const code = problem?.status === 503 || problem?.code === 'OperationInterrupted' ? EXIT.UNAVAILABLE : EXIT.ERROR;
    throw new CliError(`the replay failed: ${problem?.detail ?? problem?.title ?? 'no reason given'}`, code);
  }
  return operation;
}

const plural = (n: number, word: string) => `${n} ${n === 1 ? word : word === 'summary' ? 'summaries' : `${word}s`}`;

function decidedBy(c: PolicyReplayChange): string {
  const d = c.candidate;
  if (d.rule) return `${d.rule.policy} generation ${d.rule.generation} ${d.rule.pointer}`;
  return d.decidedBy === 'default-deny' ? 'default deny' : d.decidedBy === 'no-policy' ? 'no policy' : 'host access';
}

/** One line per change group: the traffic's direction (source → destination), ports, sums, first…last seen, the candidate's deciding rule. */
function changeLine(c: PolicyReplayChange): string {
  const [from, to] = c.direction === 'ingress' ? [c.peer, c.subject] : [c.subject, c.peer];
  const seen = c.sums.firstSeen ? `${c.sums.firstSeen}…${c.sums.lastSeen}` : '-';
  return `  ${from} → ${to}  ${c.ports.join(',')}  ${plural(c.sums.flows, 'flow')}, ${plural(c.sums.packets, 'packet')}  ${seen}  by ${decidedBy(c)} (${c.direction} at ${c.subject}; clusters ${c.clusters.join(', ')})\n`;
}

/** The diff as people read it: allowed → dropped first, then dropped → allowed, then completeness. */
export function formatReplayDiff(result: PolicyReplayResult): string {
  let out = '';
  const section = (title: string, kind: PolicyReplayChange['change'], totals: PolicyReplayResult['totals']['allowedToDropped']) => {
    const groups = result.changes.filter((c) => c.change === kind);
    out += groups.length === 0 && totals.summaries === 0 ? `${title}: none\n` : `${title}: ${plural(totals.flows, 'flow')}, ${plural(totals.packets, 'packet')} (${plural(totals.summaries, 'summary')})\n`;
    for (const c of groups) out += changeLine(c);
  };
  section('Allowed now, dropped after the change', 'allowed-to-dropped', result.totals.allowedToDropped);
  section('Dropped now, allowed after the change', 'dropped-to-allowed', result.totals.droppedToAllowed);
  if (result.truncated.truncated) out += `(${plural(result.truncated.groupsLeftOut, 'further group')} not listed; the totals count them)\n`;
  out += `Completeness (${result.window.since} … ${result.window.until}, clusters ${result.clusters.join(', ') || 'none'}): ${result.completeness.complete ? 'complete' : 'INCOMPLETE'}\n`;
  for (const s of result.completeness.statements) out += `  - ${s}\n`;
  return out;
}
