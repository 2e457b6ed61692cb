/**
 * What a DNS answer teaches the datapath: the CNAME chain from the question name to its address records.
 *
 * Contract of `followAnswerChain(qname, records)`:
 * - Starts at the question name and follows CNAME records (names compared case-insensitively, trailing
 *   dot ignored) as long as the chain continues; a loop ends the chain. Only records on the chain count:
 *   A and AAAA records are taken only for the name at its end; unrelated records are ignored.
 * - `names`: the question name and every CNAME target on the chain, canonical (lower case, no trailing
 *   dot), in chain order. `ips`: the A and AAAA addresses in dns-packet's canonical text (dotted quad;
 *   RFC 5952 compressed lower-case IPv6), without duplicates, in answer order.
 * - `ttl`: the minimum TTL (seconds) over the chain's CNAME records and the address records; 0 when the
 *   answer holds none of them.
 */
import type { Answer } from 'dns-packet';
import { canonicalDnsName } from './dns-message.js';
import type { DnsAnswer } from './types.js';

export function followAnswerChain(qname: string, records: readonly Answer[]): DnsAnswer {
  const start = canonicalDnsName(qname);
  const names = [start];
  let ttl = Number.POSITIVE_INFINITY;
  let current = start;
  if (records.some((r) => r.type === 'CNAME')) {
    const seen = new Set(names);
    for (;;) {
      const cname = records.find((r) => r.type === 'CNAME' && canonicalDnsName(r.name) === current);
      if (cname === undefined || cname.type !== 'CNAME') break;
      const target = canonicalDnsName(cname.data);
      if (seen.has(target)) break;
      ttl = Math.min(ttl, cname.ttl ?? 0);
      names.push(target);
      seen.add(target);
      current = target;
    }
  }
  const ips: string[] = [];
  for (const r of records) {
    if ((r.type !== 'A' && r.type !== 'AAAA') || canonicalDnsName(r.name) !== current) continue;
    ttl = Math.min(ttl, r.ttl ?? 0);
    if (!ips.includes(r.data)) ips.push(r.data);
  }
  return { qname: start, names, ips, ttl: Number.isFinite(ttl) ? ttl : 0 };
}
