/**
 * A zombie address (an FQDN-learned address past its TTL that a connection still uses) with real
 * packets: the open connection keeps its learned identity — also when a policy change makes the
 * kernel decide it again — while a new connection to the same address gets the identity the address
 * has without the name, and is denied; once the zombie entry is gone, the old connection is decided
 * like any other. Root only (CI runs as root); otherwise skipped with a loud reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { EndpointEntry, PolicyEntry } from '../../agent/src/kernel/codecs.js';
import { Datapath } from '../../agent/src/kernel/datapath.js';
import { Direction, FlowVerdict, IpProto, PolicyVerdict, ReservedIdentity } from '../../agent/src/kernel/identities.js';
import { createTopology, ensureBpffs, isRoot, Peer, tearDownDatapathTest, type Topology } from '../helpers/netns.js';

const ROOT = isRoot();
if (!ROOT) console.warn('\n!!! test/datapath/zombie.test.ts SKIPPED: needs root (netns, bpf). CI runs as root. !!!\n');

const CLIENT = 5001;
/** the identity pod 2's address was learned under (an FQDN selector's) */
const LEARNED = 5100;
const PORT = 8443;

describe.skipIf(!ROOT)('zombie addresses (FQDN TTL passed, connection open)', { timeout: 60_000 }, () => {
  let topo: Topology | undefined;
  let dp: Datapath | undefined;
  const peers: Peer[] = [];
  const pinDir = `/sys/fs/bpf/fleetnet-test-zombie-${process.pid}`;
  const pod = (i: 1 | 2) => topo!.pods[i - 1]!;
  const addr = (i: 1 | 2, family: 4 | 6) => (family === 4 ? pod(i).ip : pod(i).ip6);
  const host = (i: 1 | 2, family: 4 | 6) => `${addr(i, family)}/${family === 4 ? 32 : 128}`;
  const world = (family: 4 | 6) => (family === 4 ? ReservedIdentity.world : ReservedIdentity.worldIpv6);
  const allow: PolicyEntry = { localId: CLIENT, peerId: LEARNED, direction: Direction.egress, proto: IpProto.tcp, port: PORT, portPrefixLen: 16, verdict: PolicyVerdict.allow, ruleId: 71 };

  beforeAll(async () => {
    ensureBpffs();
    topo = createTopology('zombie', 2);
    dp = new Datapath({ pinDir, netnsPath: topo.node.nsPath, attachMode: 'tcx' });
    dp.load();
    dp.upsertIpcache([
      { cidr: `${pod(1).ip}/32`, identity: CLIENT },
      { cidr: `${pod(1).ip6}/128`, identity: CLIENT },
      { cidr: `${pod(2).gatewayIp}/32`, identity: ReservedIdentity.host },
      { cidr: `${pod(2).gatewayIp6}/128`, identity: ReservedIdentity.host },
    ]);
    dp.upsertPolicy([allow]);
    const ep = (i: 1 | 2, identity: number, denyEgress: boolean): EndpointEntry => ({ ifindex: pod(i).hostIfindex, identity, defaultDenyIngress: false, defaultDenyEgress: denyEgress, auditIngress: false, auditEgress: false });
    dp.attachEndpoint(ep(1, CLIENT, true));
    for (const i of [1, 2] as const) peers.push(await Peer.start(pod(i).nsPath));
    await peers[1]!.listen('tcp', PORT);
  });

  afterAll(() => tearDownDatapathTest({ helpers: peers, datapath: dp, topology: topo }));

  it.each([4, 6] as const)('IPv%s: the open connection continues across expiry and a policy change; a new one is denied; without the entry the old one is cut', async (family) => {
    dp!.upsertIpcache([{ cidr: host(2, family), identity: LEARNED }]); // learned from an answer
    const c = await peers[0]!.open(addr(2, family), PORT);
    expect(c.ok).toBe(true);
    expect(await peers[0]!.send(c.conn!)).toBe(true);

    // TTL passed, the connection still open: the address becomes a zombie
    dp!.upsertIpcache([{ cidr: host(2, family), identity: LEARNED, newConnectionIdentity: world(family) }]);
    expect(dp!.listIpcache().find((e) => e.cidr === host(2, family))).toEqual({ cidr: host(2, family), identity: LEARNED, newConnectionIdentity: world(family) });
    expect(await peers[0]!.send(c.conn!)).toBe(true);
    dp!.readAndResetFlows();
    expect((await peers[0]!.tcp(addr(2, family), PORT, 600)).ok).toBe(false);
    const denied = dp!.readAndResetFlows().filter((f) => f.localId === CLIENT && f.direction === Direction.egress && f.verdict === FlowVerdict.dropped && f.proto === IpProto.tcp && f.dport === PORT);
    expect(denied.length).toBeGreaterThan(0);
    expect(denied.every((f) => f.peerId === world(family))).toBe(true);

    // an unrelated policy change re-decides the open connection: it keeps its learned identity
    const generation = dp!.generation();
    dp!.upsertPolicy([{ ...allow, port: PORT + 1, ruleId: 72 }]);
    expect(dp!.generation()).not.toBe(generation);
    expect(await peers[0]!.send(c.conn!)).toBe(true);

    // the zombie removed (its connection would be gone): the connection is decided as new traffic
    dp!.deleteIpcache([host(2, family)]);
    expect(await peers[0]!.send(c.conn!, 600)).toBe(false);
    await peers[0]!.close(c.conn!, 'rst');
    dp!.deletePolicy([{ ...allow, port: PORT + 1 }]);
  });
});
