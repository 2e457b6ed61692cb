/**
 * `fleetnet encryption status [CLUSTER] [--state S] [--silent-after S] [-o json]`: encryption compliance —
 * without CLUSTER the fleet report (GET /encryptioncompliance: a counts line, then one row per cluster),
 * with CLUSTER one cluster's desired settings, the ARM facts and when they were read, the compliance state
 * with its differences or reasons, and what its nodes show (GET /clusters/{id}/encryption). `-o json`
 * prints the API's body as is. Like the other status commands it exits 0 whatever the states are (a
 * failed call exits as exit-codes.ts says).
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { ClusterEncryptionCompliance, ClusterNodeEvidence, ComplianceState, EffectiveEncryption, EncryptionComplianceReport, EncryptionConfig } from '../openapi/types.js';
import type { ApiClient } from './api-client.js';
import { colourEnabled, paint, type Colour } from './colour.js';
import { CliError, EXIT } from './exit-codes.js';
import type { CliIo } from './program.js';
import { renderTable } from './render.js';

export const COMPLIANCE_STATES = ['Compliant', 'Drifted', 'Unsupported', 'Unknown'] as const;

const STATE_COLOURS: Record<ComplianceState, Colour | undefined> = { Compliant: 'green', Drifted: 'red', Unsupported: 'yellow', Unknown: 'dim' };

const secondsOf = (value: string): number => {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 86_400) throw new InvalidArgumentError(`expected seconds from 1 to 86400, got "${value}"`);
  return Number(value);
};

/** `wireguard, node encryption, strict mode` or `disabled`. */
function describeDesired(e: EncryptionConfig): string {
  if (!e.enabled) return 'disabled';
  const strict = e.strictMode?.egress?.enabled || e.strictMode?.ingress?.enabled ? ', strict mode' : '';
  return `${e.type ?? 'wireguard'}${e.nodeEncryption ? ', node encryption' : ''}${strict}`;
}

/** Drifted: `field: actual → desired` each (`(absent)` when ARM sends no value); otherwise the reasons. */
function describeCompliance(c: Pick<ClusterEncryptionCompliance, 'state' | 'differences' | 'reasons'>): string[] {
  return c.state === 'Drifted' ? c.differences.map((d) => `${d.field}: ${d.actual === null ? '(absent)' : String(d.actual)} → ${String(d.desired)}`) : c.reasons;
}

/** `3 (None)`: nodes reporting evidence, and the mismatch against ARM. */
const describeNodes = (n: ClusterNodeEvidence) => `${n.nodesReporting} (${n.mismatch})`;

function printReport(io: CliIo, r: EncryptionComplianceReport, state: ComplianceState | undefined): void {
  const c = r.counts;
  const complete = r.completeness;
  io.out(
    `encryption compliance: ${c.total} cluster(s): Compliant ${c.Compliant}, Drifted ${c.Drifted}, Unsupported ${c.Unsupported}, Unknown ${c.Unknown}; ` +
      `node evidence contradicts ARM on ${r.nodeEvidenceMismatches}; ARM facts for ${complete.clustersWithInventory} of ${complete.clustersRegistered}` +
      `${complete.oldestObservation ? `, oldest read ${complete.oldestObservation}` : ''}; settings generation ${r.settingsGeneration ?? 'none (encryption disabled everywhere)'}\n`,
  );
  if (r.clusters.length === 0) {
    io.out(state ? `No clusters are ${state}.\n` : 'No clusters are registered.\n');
    return;
  }
  const colour = colourEnabled(io.env, io.stdoutTty === true);
  const rows = r.clusters.map((e) => [e.clusterId, paint(e.state, STATE_COLOURS[e.state], colour), e.observedAt ?? '-', describeNodes(e.nodeEvidence), describeCompliance(e).join('; ')]);
  io.out(renderTable(['CLUSTER', 'STATE', 'OBSERVED', 'NODES(mismatch)', 'DETAIL'], rows));
}

function printCluster(io: CliIo, e: EffectiveEncryption): void {
  const overrides = e.appliedOverrides.length > 0 ? `overrides ${e.appliedOverrides.join(', ')}` : 'fleet default';
  const lines = [`Cluster:     ${e.clusterId}`, `Desired:     ${describeDesired(e.settings)} (${overrides}; settings generation ${e.settingsGeneration ?? 'none'})`];
  const a = e.actual;
  if (!a) lines.push('Actual:      not read from ARM (no armResourceId, or inventory has not read it yet)');
  else {
    const facts = `networkDataplane ${a.networkDataplane ?? '(absent)'}, advancedNetworking.enabled ${a.advancedNetworkingEnabled ?? '(absent)'}, transitEncryption ${a.transitEncryption ?? '(absent)'}`;
    lines.push(a.armResourceFound ? `Actual:      ${facts} (read from ARM at ${a.observedAt})` : `Actual:      ARM answered 404 at the last read; last facts, read at ${a.observedAt}: ${facts}`);
  }
  if (e.compliance) {
    const colour = colourEnabled(io.env, io.stdoutTty === true);
    lines.push(`Compliance:  ${paint(e.compliance.state, STATE_COLOURS[e.compliance.state], colour)}`);
    for (const detail of describeCompliance(e.compliance)) lines.push(`  - ${detail}`);
  }
  const n = e.nodeEvidence;
  if (n) {
    lines.push(`Nodes:       ${n.nodesReporting} reporting: ${n.nodesWithTunnel} with a WireGuard interface, ${n.nodesWithoutTunnel} without, ${n.nodesUnreadable} unreadable`);
    lines.push(`Mismatch:    ${n.mismatch}${n.nodesDisagreeing?.length ? ` (${n.nodesDisagreeing.join(', ')})` : ''}`);
  }
  io.out(`${lines.join('\n')}\n`);
}

/** Adds `status` to the `encryption` command (resource-commands.ts makes it). */
export function addEncryptionStatusCommand(program: Command, deps: { client: () => ApiClient; io: CliIo }): void {
  const { client, io } = deps;
  const encryption = program.commands.find((c) => c.name() === 'encryption') ?? program.command('encryption').description('Transparent encryption settings.');
  encryption
    .command('status [cluster]')
    .description('Encryption compliance: the fleet report (counts, one row per cluster), or one cluster\'s desired settings, ARM facts, compliance and node evidence.')
    .addOption(new Option('--state <state>', 'list only clusters in this state (counts still cover the fleet)').choices([...COMPLIANCE_STATES]))
    .addOption(new Option('--silent-after <seconds>', 'a node is silent after this long without a report (default 90: three 30 s polls)').argParser(secondsOf))
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'))
    .action(async (clusterId: string | undefined, options: { state?: ComplianceState; silentAfter?: number; output: string }) => {
      const silent = options.silentAfter ? { silentAfterSeconds: options.silentAfter } : {};
      if (clusterId !== undefined) {
        if (options.state) throw new CliError('--state filters the fleet report; leave it out with CLUSTER', EXIT.USAGE);
        const e = await client().call(client().api.GET('/clusters/{clusterId}/encryption', { params: { path: { clusterId }, query: silent } }));
        if (options.output === 'json') io.out(`${JSON.stringify(e, null, 2)}\n`);
        else printCluster(io, e);
        return;
      }
      const r = await client().call(client().api.GET('/encryptioncompliance', { params: { query: { ...silent, ...(options.state ? { state: options.state } : {}) } } }));
      if (options.output === 'json') io.out(`${JSON.stringify(r, null, 2)}\n`);
      else printReport(io, r, options.state);
    });
}
