/**
 * Phase: the ipcache (pure). Keys are canonical prefixes (/32, /128 for addresses). Order of claims,
 * first wins:
 * 1. node addresses → host (this node) / remote-node (a hostNetwork pod shares its node's address and
 *    is the host);
 * 2. kube-apiserver addresses → kube-apiserver (7), taking a remote node's address over from
 *    remote-node, but never the local node's (that stays host, which then carries the kube-apiserver
 *    label) — Cilium's resolution of an address with both labels;
 * 3. pod addresses (both families), local pods first, then `namespace/pod` order;
 * 4. CIDR prefixes. (An IPv6 prefix around ::ffff:0:0/96, e.g. ::/0, never catches IPv4 packets: the
 *    kernel ignores an ipcache entry of the other family — fleetnet.h fn_ipcache_value.)
 * Zombies (learned addresses past their TTL a connection still uses): new connections get what the
 * address is without its names (fleetnet.h FN_IPCACHE_ZOMBIE).
 */
import { worldOf } from '../../../core/policy/resolve/reserved-identities.js';
import { comparePrefixes, maskPrefix, type Prefix } from '../../../core/policy/rules/ip-prefix.js';
import type { IpcacheEntry } from '../kernel/codecs.js';
import { ReservedIdentity } from '../kernel/identities.js';
import { addressesOf, type IdentityUniverse } from './build-identity-universe.js';
import { zombieNewConnectionIdentities } from './fqdn-identities.js';
import type { CompileInput } from './types.js';

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function buildIpcache(universe: IdentityUniverse, input: Pick<CompileInput, 'dnsProxy' | 'fqdnZombies'>): IpcacheEntry[] {
  const ipcache = new Map<string, { prefix: Prefix; identity: number }>();
  for (const [k, n] of universe.nodeAddress) ipcache.set(k, { prefix: n.prefix, identity: n.local ? ReservedIdentity.host : ReservedIdentity.remoteNode });
  for (const [k, prefix] of universe.apiserverAddress) {
    if (ipcache.get(k)?.identity !== ReservedIdentity.host) ipcache.set(k, { prefix, identity: ReservedIdentity.kubeApiserver });
  }
  const podOrder = [...universe.pods].sort((a, b) => Number(b.local) - Number(a.local) || cmp(`${a.p.namespace}/${a.p.podName}`, `${b.p.namespace}/${b.p.podName}`));
  for (const x of podOrder) {
    for (const prefix of addressesOf(x.p)) if (!ipcache.has(prefix.text)) ipcache.set(prefix.text, { prefix, identity: universe.idOf(x.key) });
  }
  for (const c of universe.cidrIdentities) {
    const prefix = maskPrefix(c.cidr);
    if (prefix && !ipcache.has(c.cidr)) ipcache.set(c.cidr, { prefix, identity: c.identity });
  }
  const zombies = zombieNewConnectionIdentities(
    input.dnsProxy ? (input.fqdnZombies ?? []) : [],
    universe.learned,
    ipcache,
    new Set(universe.cidrSelectors.flatMap((s) => [s.cidr, ...s.except]).map((t) => maskPrefix(t)?.text ?? '')),
    worldOf,
  );
  return [...ipcache.values()]
    .sort((a, b) => comparePrefixes(a.prefix, b.prefix))
    .map((e) => {
      const fresh = zombies.get(e.prefix.text);
      return fresh === undefined ? { cidr: e.prefix.text, identity: e.identity } : { cidr: e.prefix.text, identity: e.identity, newConnectionIdentity: fresh };
    });
}
