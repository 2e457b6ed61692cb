import { describe, expect, it } from 'vitest';
import type { Cluster, Node, NodeEncryptionEvidence } from '../../openapi/types.js';
import { clusterEncryptionState } from './cluster-encryption-state.js';

const ID = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/a';
const NOW = new Date('2026-11-30T12:00:00Z');
const cluster = (transit: string | undefined, options: { found?: boolean; armId?: string | null; factsId?: string } = {}): Cluster => ({
  apiVersion: 'fleetnet.io/v1',
  kind: 'Cluster',
  metadata: { name: 'c' },
  spec: options.armId === null ? {} : { armResourceId: options.armId ?? ID },
  status: {
    inventory: {
      observedAt: '2026-11-30T11:50:00Z',
      armResourceId: options.factsId ?? ID,
      network: { networkDataplane: 'cilium', advancedNetworking: { enabled: true, ...(transit ? { transitEncryption: transit } : {}) } },
    },
    conditions: [{ type: 'ArmResourceFound', status: options.found === false ? 'False' : 'True', message: 'ARM answered 404 at …' }],
  },
});
const node = (name: string, evidence: NodeEncryptionEvidence | undefined, secondsAgo = 10): Node => ({
  apiVersion: 'fleetnet.io/v1',
  kind: 'Node',
  metadata: { name },
  spec: { agentVersion: 't' },
  status: { lastSeen: new Date(NOW.getTime() - secondsAgo * 1000).toISOString(), ...(evidence ? { encryption: evidence } : {}) },
});
const tunnel = (n: number): NodeEncryptionEvidence => ({ observedAt: NOW.toISOString(), source: 'ip', wireguardInterfaces: Array.from({ length: n }, (_, i) => ({ name: i === 0 ? 'cilium_wg0' : `wg${i}` })) });
const state = (c: Cluster, nodes: Node[] = [], enabled = true, settingsGeneration: number | null = 1) =>
  clusterEncryptionState({ cluster: c, effective: { enabled, type: 'wireguard' }, settingsGeneration, nodes, now: NOW, silentAfterSeconds: 90 });

describe('clusterEncryptionState', () => {
  it('Unknown, with the reason: no armResourceId, facts of another id, a managed cluster ARM answered 404 for', () => {
    expect(state(cluster('WireGuard', { armId: null }))).toMatchObject({ actual: null, compliance: { state: 'Unknown', reasons: [expect.stringContaining('no spec.armResourceId')] } });
    expect(state(cluster('WireGuard', { factsId: `${ID}-old` }))).toMatchObject({ actual: null, compliance: { state: 'Unknown', reasons: [expect.stringContaining('has not read')] } });
    const neverFound = cluster('WireGuard', { found: false });
    delete neverFound.status!.inventory;
    expect(state(neverFound).compliance.reasons[0]).toMatch(/^ARM answered 404 for .*nothing to compare with$/);
    const gone = state(cluster('WireGuard', { found: false }));
    expect(gone.actual).toMatchObject({ armResourceFound: false, transitEncryption: 'WireGuard' });
    expect(gone.compliance).toMatchObject({ state: 'Unknown', reasons: [expect.stringContaining('404')] });
  });

  it('Unknown without EncryptionSettings (no desired state to judge by), and while reads fail', () => {
    expect(state(cluster('WireGuard'), [], false, null).compliance).toMatchObject({ state: 'Unknown', reasons: [expect.stringContaining('no EncryptionSettings')] });
    const failing = cluster('WireGuard');
    failing.status!.conditions = [{ type: 'ArmResourceFound', status: 'Unknown', reason: 'ReadFailed', message: 'ARM read failed: TooManyRequests' }];
    expect(state(failing).compliance).toMatchObject({ state: 'Unknown', reasons: [expect.stringContaining('cannot read')] });
    expect(state(failing).actual).toMatchObject({ transitEncryption: 'WireGuard' }); // the last facts are still shown
  });

  it('a tunnel is cilium_wg0 not reported down; a node VPN says nothing about transit encryption', () => {
    const vpnOnly: NodeEncryptionEvidence = { observedAt: NOW.toISOString(), source: 'ip', wireguardInterfaces: [{ name: 'wg0', up: true }] };
    const down: NodeEncryptionEvidence = { observedAt: NOW.toISOString(), source: 'ip', wireguardInterfaces: [{ name: 'cilium_wg0', up: false }] };
    expect(state(cluster('WireGuard'), [node('vpn', vpnOnly), node('down', down)]).nodeEvidence).toMatchObject({ nodesWithTunnel: 0, nodesWithoutTunnel: 2, mismatch: 'ArmWireGuardNodesWithoutTunnel' });
  });

  it('compares facts of the same id, whatever its case', () => {
    expect(state(cluster('WireGuard', { factsId: ID.toUpperCase() })).compliance.state).toBe('Compliant');
    expect(state(cluster('None')).compliance).toMatchObject({ state: 'Drifted', differences: [{ field: 'networkProfile.advancedNetworking.security.transitEncryption.type', desired: 'WireGuard', actual: 'None' }] });
  });

  it('node evidence: heard recently and readable nodes only; each mismatch direction', () => {
    const nodes = [node('n-none', tunnel(0)), node('n-wg', tunnel(1)), node('n-err', { ...tunnel(0), error: 'ip failed' }), node('n-silent', tunnel(0), 600), node('n-no-evidence', undefined)];
    expect(state(cluster('WireGuard'), nodes).nodeEvidence).toEqual({ nodesReporting: 3, nodesWithTunnel: 1, nodesWithoutTunnel: 1, nodesUnreadable: 1, mismatch: 'ArmWireGuardNodesWithoutTunnel', nodesDisagreeing: ['n-none'] });
    expect(state(cluster('None'), nodes, false).nodeEvidence).toMatchObject({ mismatch: 'NodesTunnelArmWithoutWireGuard', nodesDisagreeing: ['n-wg'] });
    expect(state(cluster('WireGuard'), [node('n-wg', tunnel(2))]).nodeEvidence.mismatch).toBe('None');
    expect(state(cluster('WireGuard'), [node('n-err', { ...tunnel(0), error: 'x' }), node('n-silent', tunnel(0), 600)]).nodeEvidence.mismatch).toBe('NoEvidence');
    // no ARM facts: nothing to contradict
    expect(state(cluster('WireGuard', { armId: null }), [node('n-wg', tunnel(1))]).nodeEvidence.mismatch).toBe('None');
    // ARM 404: the old facts contradict nothing
    expect(state(cluster('WireGuard', { found: false }), [node('n-none', tunnel(0))]).nodeEvidence.mismatch).toBe('None');
  });
});
