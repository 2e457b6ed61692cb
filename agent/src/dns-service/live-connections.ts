/**
 * Destinations of the connections the kernel still tracks as alive (policy.c ct_alive): an egress
 * conntrack entry whose idle time is below its state's timeout (fn_config's, 0 = the compiled
 * default: SYN 60 s, established 21,600 s, closing 10 s, non-TCP 60 s). What keeps an expired FQDN
 * address in place (a zombie) while a connection uses it.
 */
import type { ConfigValue, ConntrackEntry } from '../kernel/codecs.js';
import { CtState, Direction, IpProto } from '../kernel/identities.js';

const DEFAULT_MS = { syn: 60_000, established: 21_600_000, closing: 10_000, other: 60_000 };

function timeoutMs(e: ConntrackEntry, c: Pick<ConfigValue, 'ctSynMs' | 'ctEstablishedMs' | 'ctClosingMs' | 'ctOtherMs'>): number {
  if (e.proto !== IpProto.tcp) return c.ctOtherMs || DEFAULT_MS.other;
  if (e.state === CtState.synSent) return c.ctSynMs || DEFAULT_MS.syn;
  if (e.state === CtState.closing) return c.ctClosingMs || DEFAULT_MS.closing;
  return c.ctEstablishedMs || DEFAULT_MS.established;
}

/** `nowNs`: CLOCK_MONOTONIC (process.hrtime.bigint()), the clock of the entries' lastSeenNs. */
export function liveConnectionDestinations(entries: readonly ConntrackEntry[], config: Pick<ConfigValue, 'ctSynMs' | 'ctEstablishedMs' | 'ctClosingMs' | 'ctOtherMs'>, nowNs: number): Set<string> {
  const out = new Set<string>();
  for (const e of entries) {
    if (e.direction !== Direction.egress) continue;
    if (nowNs - e.lastSeenNs < timeoutMs(e, config) * 1e6) out.add(e.daddr);
  }
  return out;
}
