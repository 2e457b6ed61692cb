/**
 * Host-side veth of a local pod, from the node's routing table: `ip -j route get <podIP>` → dev,
 * `ip -j link show dev <dev>` → ifindex (Azure CNI / Cilium-style per-pod /32 routes via the veth).
 * With `netnsPath` the commands run in that network namespace through nsenter (never `ip netns exec`).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { IfindexResolver } from './types.js';

const run = promisify(execFile);

export type CommandRunner = (cmd: string, args: string[]) => Promise<string>;

const defaultRunner: CommandRunner = async (cmd, args) => (await run(cmd, args, { encoding: 'utf8' })).stdout;

export function routeIfindexResolver(options: { netnsPath?: string; runner?: CommandRunner } = {}): IfindexResolver {
  const runner = options.runner ?? defaultRunner;
  const ip = (args: string[]) =>
    options.netnsPath ? runner('nsenter', [`--net=${options.netnsPath}`, '--', 'ip', ...args]) : runner('ip', args);
  return async (podIp) => {
    let dev: string | undefined;
    try {
      const routes = JSON.parse(await ip(['-j', 'route', 'get', podIp])) as { dev?: string; type?: string }[];
      dev = routes[0]?.dev;
      if (!dev || (routes[0]?.type !== undefined && routes[0]?.type !== 'unicast')) return undefined;
      const links = JSON.parse(await ip(['-j', 'link', 'show', 'dev', dev])) as { ifindex?: number }[];
      return links[0]?.ifindex;
    } catch {
      return undefined;
    }
  };
}
