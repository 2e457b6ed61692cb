/**
 * The names this node learned from DNS answers its proxy released, per endpoint, and their IPs —
 * what toFQDNs selectors select (compiled as CompileInput.fqdnNames, the union over endpoints).
 *
 * Contract:
 * - learn(endpoint, names, ips, ttl, now): every IP of the answer is kept for every name of its
 *   chain (the question and each CNAME target) until now + max(ttl, minTtl) — a later answer can
 *   only extend that (never shorten it). Names are canonical (lower case, no trailing dot).
 * - Caps, counted (never silent): at most maxIpsPerName IPs per (endpoint, name) — the IPs expiring
 *   soonest give way to the new ones; at most maxNamesPerEndpoint names per endpoint — a name not yet
 *   held is not learned when the endpoint is full (its IPs stay unreachable by name: fail closed).
 * - expire(now, alive): drops IPs past their time, except those `alive` says a connection still uses
 *   (Cilium's "zombies"): they stay until that connection is gone, so expiry never cuts an open one.
 *   zombies(now): the IPs every one of whose (endpoint, name) pairs is past its time — compiled so
 *   that connections that exist keep them, new connections do not get them (fleetnet.h
 *   FN_IPCACHE_ZOMBIE).
 * - union(): name → IPs over all endpoints, sorted (deterministic compile input).
 * - toJSON()/fromJSON(): the state directory's copy — absolute expiry times (wall clock ms), so a
 *   restart keeps what was learned for as long as it was granted.
 */

export interface FqdnCacheLimits {
  /** seconds every learned IP is kept at least, whatever the answer's TTL */
  minTtlSeconds: number;
  maxIpsPerName: number;
  maxNamesPerEndpoint: number;
}

/** Our defaults (Cilium's tofqdns-min-ttl / -max-ip-per-hostname play the same roles). */
export const DEFAULT_FQDN_LIMITS: FqdnCacheLimits = { minTtlSeconds: 60, maxIpsPerName: 1000, maxNamesPerEndpoint: 5000 };

export interface LearnOutcome {
  /** (name, IP) pairs the node did not hold before: the maps must be programmed before the answer */
  added: number;
  /** IPs left out or pushed out by maxIpsPerName, names refused by maxNamesPerEndpoint */
  droppedIps: number;
  droppedNames: number;
}

export interface LearnedNameIps {
  name: string;
  ips: string[];
}

interface SerializedCache {
  version: 1;
  /** endpoint → name → ip → expiry (wall clock ms) */
  endpoints: Record<string, Record<string, Record<string, number>>>;
}

export class FqdnCache {
  /** endpoint → name → ip → expires at (ms) */
  private readonly endpoints = new Map<string, Map<string, Map<string, number>>>();
  readonly dropped = { ips: 0, names: 0 };
  /** zombies as of the last expire(): what it reports as new */
  private zombiesAtExpiry = new Set<string>();

  constructor(readonly limits: FqdnCacheLimits = DEFAULT_FQDN_LIMITS) {}

  learn(endpoint: string, names: readonly string[], ips: readonly string[], ttlSeconds: number, nowMs: number): LearnOutcome {
    const out: LearnOutcome = { added: 0, droppedIps: 0, droppedNames: 0 };
    if (ips.length === 0) return out;
    const expires = nowMs + Math.max(ttlSeconds, this.limits.minTtlSeconds) * 1000;
    let byName = this.endpoints.get(endpoint);
    if (!byName) this.endpoints.set(endpoint, (byName = new Map()));
    const heldBefore = this.heldPairs(names);
    for (const name of new Set(names)) {
      let byIp = byName.get(name);
      if (!byIp) {
        if (byName.size >= this.limits.maxNamesPerEndpoint) {
          out.droppedNames += 1;
          continue;
        }
        byName.set(name, (byIp = new Map()));
      }
      for (const ip of ips) byIp.set(ip, Math.max(byIp.get(ip) ?? 0, expires));
      out.droppedIps += this.enforceIpCap(byIp);
    }
    if (byName.size === 0) this.endpoints.delete(endpoint);
    const heldAfter = this.heldPairs(names);
    for (const pair of heldAfter) if (!heldBefore.has(pair)) out.added += 1;
    this.dropped.ips += out.droppedIps;
    this.dropped.names += out.droppedNames;
    return out;
  }

  /** Drops expired IPs no live connection uses; returns how many (name, IP) pairs went away from the
   *  union plus how many IPs became zombies (either changes what must be compiled). */
  expire(nowMs: number, alive: (ip: string) => boolean = () => false): number {
    const before = this.unionPairs();
    for (const [endpoint, byName] of this.endpoints) {
      for (const [name, byIp] of byName) {
        for (const [ip, expires] of byIp) if (expires <= nowMs && !alive(ip)) byIp.delete(ip);
        if (byIp.size === 0) byName.delete(name);
      }
      if (byName.size === 0) this.endpoints.delete(endpoint);
    }
    const after = this.unionPairs();
    let changed = 0;
    for (const pair of before) if (!after.has(pair)) changed += 1;
    const zombies = this.zombies(nowMs);
    for (const ip of zombies) if (!this.zombiesAtExpiry.has(ip)) changed += 1;
    this.zombiesAtExpiry = new Set(zombies);
    return changed;
  }

  /** Forgets an endpoint (the pod is gone). */
  forget(endpoint: string): void {
    this.endpoints.delete(endpoint);
  }

  /** name → IPs over every endpoint, names sorted, IPs sorted. */
  union(): LearnedNameIps[] {
    const merged = new Map<string, Set<string>>();
    for (const byName of this.endpoints.values()) {
      for (const [name, byIp] of byName) {
        let set = merged.get(name);
        if (!set) merged.set(name, (set = new Set()));
        for (const ip of byIp.keys()) set.add(ip);
      }
    }
    return [...merged.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, ips]) => ({ name, ips: [...ips].sort() }));
  }

  /** IPs held only past their time (kept for a connection that still uses them), sorted. */
  zombies(nowMs: number): string[] {
    const fresh = new Set<string>();
    const expired = new Set<string>();
    for (const byName of this.endpoints.values()) {
      for (const byIp of byName.values()) for (const [ip, t] of byIp) (t > nowMs ? fresh : expired).add(ip);
    }
    return [...expired].filter((ip) => !fresh.has(ip)).sort();
  }

  /** The earliest expiry still ahead of `afterMs` (ms), or undefined: when expire() has work next.
   *  Without `afterMs`, the earliest of all. */
  nextExpiry(afterMs = -Infinity): number | undefined {
    let next: number | undefined;
    for (const byName of this.endpoints.values()) for (const byIp of byName.values()) for (const t of byIp.values()) if (t > afterMs && (next === undefined || t < next)) next = t;
    return next;
  }

  toJSON(): SerializedCache {
    const endpoints: SerializedCache['endpoints'] = {};
    for (const [endpoint, byName] of this.endpoints) {
      endpoints[endpoint] = Object.fromEntries([...byName].map(([name, byIp]) => [name, Object.fromEntries(byIp)]));
    }
    return { version: 1, endpoints };
  }

  /** A cache holding a toJSON() copy (see restore). */
  static fromJSON(data: unknown, limits: FqdnCacheLimits = DEFAULT_FQDN_LIMITS): FqdnCache {
    const cache = new FqdnCache(limits);
    cache.restore(data);
    return cache;
  }

  /** Replaces the contents with a toJSON() copy; anything malformed is skipped (a damaged file never
   *  stops the agent). */
  restore(data: unknown): void {
    this.endpoints.clear();
    const d = data as Partial<SerializedCache> | null;
    if (!d || d.version !== 1 || typeof d.endpoints !== 'object' || d.endpoints === null) return;
    for (const [endpoint, names] of Object.entries(d.endpoints)) {
      if (typeof names !== 'object' || names === null) continue;
      const byName = new Map<string, Map<string, number>>();
      for (const [name, ips] of Object.entries(names)) {
        if (typeof ips !== 'object' || ips === null) continue;
        const byIp = new Map<string, number>();
        for (const [ip, t] of Object.entries(ips)) if (typeof t === 'number' && Number.isFinite(t)) byIp.set(ip, t);
        if (byIp.size > 0) byName.set(name, byIp);
      }
      if (byName.size > 0) this.endpoints.set(endpoint, byName);
    }
  }

  private enforceIpCap(byIp: Map<string, number>): number {
    const excess = byIp.size - this.limits.maxIpsPerName;
    if (excess <= 0) return 0;
    const soonest = [...byIp].sort((a, b) => a[1] - b[1]).slice(0, excess);
    for (const [ip] of soonest) byIp.delete(ip);
    return excess;
  }

  /** (name, IP) pairs of the union restricted to `names`, as "name ip" strings. */
  private heldPairs(names: readonly string[]): Set<string> {
    const out = new Set<string>();
    for (const byName of this.endpoints.values()) {
      for (const name of names) for (const ip of byName.get(name)?.keys() ?? []) out.add(`${name} ${ip}`);
    }
    return out;
  }

  private unionPairs(): Set<string> {
    const out = new Set<string>();
    for (const byName of this.endpoints.values()) for (const [name, byIp] of byName) for (const ip of byIp.keys()) out.add(`${name} ${ip}`);
    return out;
  }
}
