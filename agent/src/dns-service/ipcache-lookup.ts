/**
 * The identity the kernel gives an address (policy.c peer_identity), computed in userspace over the
 * compiled ipcache: the longest prefix of the address's family that contains it, else world (IPv4)
 * or world-ipv6. The DNS proxy asks it for the resolver a query was sent to.
 */
import type { IpcacheEntry } from '../kernel/codecs.js';
import { ReservedIdentity } from '../kernel/identities.js';
import { containsPrefix, hostPrefix, maskPrefix, type Prefix } from '../../../core/policy/rules/ip-prefix.js';

export function ipcacheLookup(entries: readonly IpcacheEntry[]): (address: string) => number {
  const exact = new Map<string, number>();
  const prefixes: Array<{ prefix: Prefix; identity: number }> = [];
  for (const e of entries) {
    const p = maskPrefix(e.cidr);
    if (!p) continue;
    if (p.bits === (p.family === 4 ? 32 : 128)) exact.set(p.addr, e.identity);
    else prefixes.push({ prefix: p, identity: e.identity });
  }
  prefixes.sort((a, b) => b.prefix.bits - a.prefix.bits);
  const memo = new Map<string, number>();
  return (address) => {
    const hit = memo.get(address);
    if (hit !== undefined) return hit;
    const host = hostPrefix(address);
    let identity: number = host?.family === 6 ? ReservedIdentity.worldIpv6 : ReservedIdentity.world;
    if (host) {
      const direct = exact.get(host.addr);
      if (direct !== undefined) identity = direct;
      else {
        const longest = prefixes.find((x) => x.prefix.family === host.family && containsPrefix(x.prefix, host));
        if (longest) identity = longest.identity;
      }
    }
    if (memo.size < 4096) memo.set(address, identity);
    return identity;
  };
}
