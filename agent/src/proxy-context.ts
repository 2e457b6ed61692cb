/**
 * What the agent's proxies (DNS, HTTP) know of the state last programmed: which endpoint sits behind a
 * host veth, the identity the kernel gives an address (the compiled ipcache), and which policy a rule
 * id stands for. Updated after every successful apply (update()); read per connection or query.
 */
import type { CompiledState, LocalEndpoint } from './compile/index.js';
import { ipcacheLookup } from './dns-service/ipcache-lookup.js';
import type { ProxyRedirect } from './kernel/codecs.js';

/** An endpoint as the proxies carry it: the owner of learned names (`namespace/pod`) and its identity. */
export interface ProxyEndpoint {
  key: string;
  identity: number;
}

/** The kernel's records of the connections it handed to a proxy (Datapath.lookupProxyRedirect). */
export interface RedirectRecords {
  lookupProxyRedirect(podAddress: string, podPort: number, proto: number): ProxyRedirect | undefined;
}

export interface PolicyRef {
  name: string;
  generation: number;
}

export class ProxyContext {
  private endpoints = new Map<number, ProxyEndpoint>();
  private rules = new Map<number, PolicyRef>();
  private lookup: (address: string) => number = () => 0;

  /** A compile was applied: its endpoints, ipcache and rule attribution answer from now on. */
  update(compiled: CompiledState, endpoints: readonly LocalEndpoint[]): void {
    const identityByIfindex = new Map(compiled.endpoints.map((e) => [e.ifindex, e.identity]));
    this.endpoints = new Map(
      endpoints.flatMap((e) => {
        const identity = identityByIfindex.get(e.ifindex);
        return identity === undefined ? [] : [[e.ifindex, { key: `${e.namespace}/${e.podName}`, identity }] as const];
      }),
    );
    this.lookup = ipcacheLookup(compiled.ipcache);
    this.rules = new Map(compiled.rules.map((r) => [r.ruleId, { name: r.policy, generation: r.generation }]));
  }

  /** The endpoint behind host veth `ifindex`, if it is managed. */
  endpoint(ifindex: number): ProxyEndpoint | undefined {
    return this.endpoints.get(ifindex);
  }

  /** The identity the kernel gives `address` (longest ipcache prefix, else the family's world). */
  identityOf(address: string): number {
    return this.lookup(address);
  }

  /** The fleet policy a rule id stands for (undefined for 0 or an unknown id). */
  policy(ruleId: number | undefined): PolicyRef | undefined {
    return ruleId ? this.rules.get(ruleId) : undefined;
  }

  /** A connection a proxy accepted, through the kernel's record of the redirect: the managed endpoint
   *  behind the host veth whose policy redirected it (the client pod for egress, the server pod for
   *  ingress), where the client was going, and the identity of the peer (the compiled ipcache's answer):
   *  the destination's for egress, the client's for ingress — a proxy's upstream connection speaks with
   *  its client's own address, so this is its client too. Undefined when the kernel has no record or the
   *  veth is not a managed endpoint (the proxy refuses it). */
  redirected(records: RedirectRecords, client: { address: string; port: number }, proto: number): RedirectedConnection | undefined {
    const redirect = records.lookupProxyRedirect(client.address, client.port, proto);
    if (!redirect) return undefined;
    const endpoint = this.endpoint(redirect.ifindex);
    if (!endpoint) return undefined;
    const peerIdentity = this.identityOf(redirect.ingress ? client.address : redirect.originalAddress);
    return {
      endpoint,
      ifindex: redirect.ifindex,
      original: { address: redirect.originalAddress, port: redirect.originalPort },
      ingress: redirect.ingress,
      peerIdentity,
    };
  }

  /** A proxy's decision in the proxies' common form: `ruleId` and the policy only when a rule decided,
   *  `audit` only when set. */
  decision(v: { allowed: boolean; audit: boolean; ruleId: number }): { allowed: boolean; audit?: true; ruleId?: number; policy?: PolicyRef } {
    const policy = this.policy(v.ruleId);
    return {
      allowed: v.allowed,
      ...(v.audit ? { audit: true as const } : {}),
      ...(v.ruleId !== 0 ? { ruleId: v.ruleId } : {}),
      ...(policy ? { policy } : {}),
    };
  }
}

export interface RedirectedConnection {
  endpoint: ProxyEndpoint;
  ifindex: number;
  original: { address: string; port: number };
  /** redirected by the server pod's ingress (the endpoint is the server, the peer the client) */
  ingress: boolean;
  /** identity of the peer: the original destination for egress, the client for ingress */
  peerIdentity: number;
}
