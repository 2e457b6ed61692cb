/**
 * Typed handle on test/helpers/netns-dns.ts (a DNS server and client inside a network namespace).
 */
import { existsSync } from 'node:fs';
import type { Answer } from 'dns-packet';

import { findRepoRoot } from '../../agent/src/kernel/native-binding.js';
import { NsChild } from './ns-child.js';

export interface ResolveResult {
  rcode: string;
  ips: string[];
  ttl: number;
}

export interface ResolveConnectResult {
  resolved: number;
  connected: number;
  failures: { name: string; stage: string; reason: string }[];
}

export class DnsPeer {
  private constructor(private readonly child: NsChild) {}

  static async start(nsPath: string): Promise<DnsPeer> {
    const root = findRepoRoot();
    const script = `${root}/test/helpers/netns-dns.ts`;
    if (!existsSync(script)) throw new Error(`missing ${script}`);
    return new DnsPeer(await NsChild.start(nsPath, process.execPath, ['--import', 'tsx', script], 'dns peer', root));
  }

  /** A DNS server on [::]:port: `zone` records, and h<k>.<dynamic.suffix> → AAAA <dynamic.prefix><k hex>. */
  async serve(port: number, zone: Answer[], dynamic?: { suffix: string; prefix: string; ttl: number }): Promise<void> {
    await this.child.request('serve', { port, zone, ...(dynamic ? { dynamic } : {}) });
  }

  async served(): Promise<{ udp: number; tcp: number }> {
    return (await this.child.request('served', {})) as unknown as { udp: number; tcp: number };
  }

  async resolve(server: string, name: string, opts: { type?: 'A' | 'AAAA'; transport?: 'udp' | 'tcp'; port?: number; timeoutMs?: number } = {}): Promise<ResolveResult> {
    return (await this.child.request('resolve', { server, name, ...opts })) as unknown as ResolveResult;
  }

  async resolveConnect(server: string, names: string[], connectPort: number, opts: { type?: 'A' | 'AAAA'; port?: number; timeoutMs?: number } = {}): Promise<ResolveConnectResult> {
    return (await this.child.request('resolveConnect', { server, names, connectPort, ...opts })) as unknown as ResolveConnectResult;
  }

  /** A TCP connection held open (the far end must echo); rejects when refused or not answered within
   *  timeoutMs (a dropped SYN). */
  async hold(host: string, port: number, timeoutMs = 1000): Promise<number> {
    return Number((await this.child.request('hold', { host, port, timeoutMs })).conn);
  }

  async ping(conn: number, timeoutMs = 1000): Promise<boolean> {
    return (await this.child.request('ping', { conn, timeoutMs })).ok === true;
  }

  stop(): void {
    this.child.stop();
  }
}
