/**
 * Enforcement is pinned: it survives the process that loaded it, a restarted agent reuses the
 * maps as they are (never flushed) and swaps programs atomically; the clsact fallback enforces too.
 * Root only (CI runs as root); otherwise skipped with a loud reason.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { EndpointEntry, PolicyEntry } from '../../agent/src/kernel/codecs.js';
import { Datapath } from '../../agent/src/kernel/datapath.js';
import { Direction, FlowVerdict, IpProto, MapName, PolicyVerdict } from '../../agent/src/kernel/identities.js';
import { findRepoRoot } from '../../agent/src/kernel/native-binding.js';
import { createTopology, ensureBpffs, isRoot, Peer, type Topology } from '../helpers/netns.js';

const ROOT = isRoot();
if (!ROOT) console.warn('\n!!! test/datapath/persistence.test.ts SKIPPED: needs root (netns, bpf). CI runs as root. !!!\n');

describe.skipIf(!ROOT)('pinned enforcement', { timeout: 120_000 }, () => {
  let topo: Topology | undefined;
  let client: Peer | undefined;
  let server: Peer | undefined;
  const pinDir = `/sys/fs/bpf/fleetnet-test-persist-${process.pid}`;
  const ids = { client: 2001, server: 2002 };
  const serverIp = '10.200.2.2';

  const pods = (): { clientIf: number; serverIf: number; nodeNs: string } => {
    const [c, s] = topo?.pods ?? [];
    if (!c || !s || !topo) throw new Error('topology');
    return { clientIf: c.hostIfindex, serverIf: s.hostIfindex, nodeNs: topo.node.nsPath };
  };
  const serverEp = (): EndpointEntry => ({ ifindex: pods().serverIf, identity: ids.server, defaultDenyIngress: true, defaultDenyEgress: false, auditIngress: false, auditEgress: false });
  const allow80: PolicyEntry = { localId: ids.server, peerId: ids.client, direction: Direction.ingress, proto: IpProto.tcp, port: 80, portPrefixLen: 16, verdict: PolicyVerdict.allow, ruleId: 7 };
  const reach = async (port: number): Promise<boolean> => {
    if (!client) throw new Error('no client');
    return (await client.tcp(serverIp, port, 1500)).ok; // a drop is a 1.5 s timeout: generous for a loaded CI box
  };

  beforeAll(async () => {
    ensureBpffs();
    topo = createTopology('per', 2);
    const [c, s] = topo.pods;
    if (!c || !s) throw new Error('topology');
    client = await Peer.start(c.nsPath);
    server = await Peer.start(s.nsPath);
    for (const port of [80, 81]) await server.listen('tcp', port);
  });

  afterAll(() => {
    client?.stop();
    server?.stop();
    try {
      if (existsSync(pinDir)) new Datapath({ pinDir }).destroy();
    } finally {
      topo?.destroy();
    }
  });

  it('keeps policing after the loading process exited', async () => {
    expect(await reach(81)).toBe(true); // nothing attached yet
    const root = findRepoRoot();
    const spec = {
      pinDir,
      netnsPath: pods().nodeNs,
      endpoints: [serverEp()],
      ipcache: [{ cidr: '10.200.1.2/32', identity: ids.client }, { cidr: `${serverIp}/32`, identity: ids.server }],
      policy: [allow80],
    };
    const out = execFileSync(process.execPath, ['--import', 'tsx', `${root}/test/helpers/netns-persist-child.ts`, JSON.stringify(spec)], { cwd: root, encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({ reusedMaps: [], attached: [{ ingress: 'tcx-created', egress: 'tcx-created' }] });
    // the child is gone; its pinned links and maps still decide
    expect([await reach(80), await reach(81)]).toEqual([true, false]);
  });

  it('a restarted agent reuses the pinned maps unflushed and swaps programs in place', async () => {
    const dp = new Datapath({ pinDir, netnsPath: pods().nodeNs, attachMode: 'tcx' });
    const load = dp.load();
    expect(load.reusedMaps.sort()).toEqual(Object.values(MapName).sort());
    expect(dp.listPolicy()).toEqual([allow80]);
    expect(dp.listEndpoints()).toEqual([serverEp()]);
    expect(dp.attachEndpoint(serverEp())).toEqual({ ingress: 'tcx-updated', egress: 'tcx-updated' });
    expect(dp.listAttachedIfindexes()).toEqual([pods().serverIf]);
    dp.readAndResetFlows();
    expect([await reach(80), await reach(81)]).toEqual([true, false]);
    const drops = dp.readAndResetFlows().filter((f) => f.verdict === FlowVerdict.dropped);
    expect(drops.map((f) => ({ local: f.localId, peer: f.peerId, dport: f.dport, rule: f.ruleId }))).toEqual([{ local: ids.server, peer: ids.client, dport: 81, rule: 0 }]);

    dp.detachEndpoint(pods().serverIf);
    expect(dp.listAttachedIfindexes()).toEqual([]);
    expect(await reach(81)).toBe(true);
    dp.close();
  });

  it('clsact fallback enforces the same program', async () => {
    const dp = new Datapath({ pinDir, netnsPath: pods().nodeNs, attachMode: 'tc' });
    dp.load();
    try {
      expect(dp.attachEndpoint(serverEp())).toEqual({ ingress: 'tc', egress: 'tc' });
      expect([await reach(80), await reach(81)]).toEqual([true, false]);
    } finally {
      dp.detachEndpoint(pods().serverIf);
      dp.close();
    }
    expect(await reach(81)).toBe(true);
  });
});
