/**
 * The proxies' upstream sockets, registered with the kernel for the client they carry
 * (fn_proxy_upstreams, fleetnet.h "proxy upstreams").
 *
 * A proxy sends to the original destination from the node's own address; a pod's ingress hook would see
 * the node (identity host — allowed by `allow-localhost=always`). Registered, the socket's local port
 * speaks for the client: the destination's ingress policy decides its traffic as that client.
 *
 * Contract of registerUpstream(registry, upstream, identity, decided): registers `upstream` (bound, not
 * yet used) for `identity` now and returns its release, to call when the socket closes: it unregisters
 * once (later calls do nothing); a failure to unregister is logged, never thrown (the entry goes at the
 * next agent start, when the map is cleared).
 *
 * Contract of connectAsClient(sockets, registry, destination, client, log): a TCP connection to
 * `destination` speaking with `client.address` (transparent, a port of its own), registered for
 * `client.identity` (with `client.decided`) from the moment it is bound until it closes.
 */
import { isIP, type Socket } from 'node:net';

import type { ProxyUpstream } from './kernel/codecs.js';
import { IpProto } from './kernel/identities.js';
import type { ProxySockets } from './proxy-sockets.js';
import type { Logger } from './sync/sync-loop.js';

export interface UpstreamRegistry {
  registerProxyUpstream(upstream: ProxyUpstream, identity: number, decided: boolean): void;
  unregisterProxyUpstream(upstream: ProxyUpstream): void;
}

export function registerUpstream(registry: UpstreamRegistry, upstream: ProxyUpstream, identity: number, decided: boolean, log?: Logger): () => void {
  registry.registerProxyUpstream(upstream, identity, decided);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    try {
      registry.unregisterProxyUpstream(upstream);
    } catch (e) {
      log?.('warn', 'could not unregister a proxy upstream socket', { ...upstream, error: (e as Error).message });
    }
  };
}

export function connectAsClient(
  sockets: ProxySockets,
  registry: UpstreamRegistry,
  destination: { address: string; port: number },
  client: { address: string; identity: number; decided: boolean },
  log?: Logger,
): Socket {
  const ipVersion = isIP(client.address) === 6 ? 6 : 4;
  let release = (): void => undefined;
  const socket = sockets.tcpConnect(destination.address, destination.port, {
    address: client.address,
    transparent: true,
    onBound: (port) => (release = registerUpstream(registry, { address: client.address, ipVersion, proto: IpProto.tcp, port }, client.identity, client.decided, log)),
  });
  socket.once('close', () => release());
  return socket;
}
