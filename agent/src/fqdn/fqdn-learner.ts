/**
 * Learning before answering: the DNS proxy hands every answer it is about to release to learn(), and
 * releases it only once the returned promise resolves — by then every IP the answer gives for a name
 * some toFQDNs selector of the bundle matches is in the maps (the agent re-programmed with it), so
 * the pod's first packet to it is already decided by policy.
 *
 * Contract:
 * - Only names the current selection keeps are kept — the compiler's (createFqdnLearner over
 *   CompiledState.fqdnSelectors: a toFQDNs selector of a policy selecting the endpoint matches the
 *   name); an answer with none resolves at once, without programming.
 * - An answer that adds no (name, IP) pair the node did not hold resolves at once.
 * - Otherwise it waits for a programming that starts after its pairs were recorded. Learns that
 *   arrive while such a programming is still queued share it (one programming for a burst).
 * - A failed programming rejects: the proxy answers SERVFAIL (fail closed).
 * - expire(now, alive) drops what has expired (FqdnCache.expire) and re-programs when that changed
 *   the union or made zombies (IPs past their time a connection still uses: zombies()).
 */
import { canonicalDnsName } from '../../../core/policy/rules/fqdn.js';
import type { FqdnCache, LearnedNameIps, LearnOutcome } from './fqdn-cache.js';

export interface LearnedAnswer {
  /** the question and every CNAME target of the chain */
  names: readonly string[];
  /** the A / AAAA addresses at the end of the chain */
  ips: readonly string[];
  /** seconds */
  ttl: number;
}

export interface FqdnLearnerOptions {
  cache: FqdnCache;
  /** compile + apply the current bundle with cache.union() as its learned names */
  program: () => Promise<void>;
  now?: () => number;
}

/** The endpoint an answer was released to: its learned names' owner and its identity. */
export interface LearningEndpoint {
  key: string;
  identity: number;
}

export class FqdnLearner {
  private selects: (localId: number, name: string) => boolean = () => false;
  /** the programming last started */
  private current: Promise<void> = Promise.resolve();
  /** a programming queued behind `current`, not started yet: new learns join it */
  private next: Promise<void> | undefined;
  private readonly now: () => number;

  constructor(private readonly options: FqdnLearnerOptions) {
    this.now = options.now ?? Date.now;
  }

  /** A compile changed which names are kept for which endpoint identity (createFqdnLearner). */
  setSelection(selects: (localId: number, name: string) => boolean): void {
    this.selects = selects;
  }

  names(): LearnedNameIps[] {
    return this.options.cache.union();
  }

  /** Learned IPs past their time that connections still use (compile them as zombies). */
  zombies(): string[] {
    return this.options.cache.zombies(this.now());
  }

  /** Resolves once the maps hold every selected (name, IP) pair of the answer. */
  async learn(endpoint: LearningEndpoint, answer: LearnedAnswer): Promise<LearnOutcome> {
    const names = [...new Set(answer.names.map(canonicalDnsName))].filter((n) => this.selects(endpoint.identity, n));
    if (names.length === 0 || answer.ips.length === 0) return { added: 0, droppedIps: 0, droppedNames: 0 };
    const outcome = this.options.cache.learn(endpoint.key, names, answer.ips, answer.ttl, this.now());
    if (outcome.added > 0) await this.programAfterNow();
    return outcome;
  }

  /** Drops expired IPs no live connection uses; re-programs when the union changed. Returns pairs dropped. */
  async expire(alive: (ip: string) => boolean): Promise<number> {
    const gone = this.options.cache.expire(this.now(), alive);
    if (gone > 0) await this.programAfterNow();
    return gone;
  }

  /** A programming that starts after this call (so it compiles what the cache holds now). */
  private programAfterNow(): Promise<void> {
    if (this.next) return this.next;
    const next = this.current
      .catch(() => undefined)
      .then(() => {
        this.next = undefined; // learns from here on need a later programming
        this.current = this.options.program();
        return this.current;
      });
    this.next = next;
    return next;
  }
}
