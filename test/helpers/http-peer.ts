/**
 * Typed handle on test/helpers/netns-http.ts (an HTTP server and client inside a network namespace).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';

import { findRepoRoot } from '../../agent/src/kernel/native-binding.js';
import { NsChild } from './ns-child.js';

export type HttpResult = { status: number; body: string } | { error: string };

/** The bytes netns-http.ts writes for a pattern body of `size` bytes: its size and SHA-256 (hex). */
export function patternBody(size: number): { bytes: number; sha256: string } {
  const chunk = Buffer.alloc(64 * 1024, 'fleetnet-');
  const hash = createHash('sha256');
  for (let left = size; left > 0; left -= chunk.length) hash.update(chunk.subarray(0, Math.min(chunk.length, left)));
  return { bytes: size, sha256: hash.digest('hex') };
}

export class HttpPeer {
  private constructor(private readonly child: NsChild) {}

  static async start(nsPath: string): Promise<HttpPeer> {
    const root = findRepoRoot();
    const script = `${root}/test/helpers/netns-http.ts`;
    if (!existsSync(script)) throw new Error(`missing ${script}`);
    return new HttpPeer(await NsChild.start(nsPath, process.execPath, ['--import', 'tsx', script], 'http peer', root));
  }

  /** An HTTP server on [::]:port answering 200 `<method> <path>` (plus ` <bytes> <sha256>` of a request
   *  body); `?respond=N` in the target: N pattern bytes instead (netns-http.ts). */
  async serve(port: number): Promise<void> {
    await this.child.request('serve', { port });
  }

  async served(): Promise<number> {
    return Number((await this.child.request('served', {})).requests);
  }

  /** The requests in turn over one keep-alive connection; `sockets` = connections used. `bodyBytes`:
   *  a chunked request body of that many pattern bytes; bodies over 4 KiB come back as
   *  `<N bytes sha256 HEX>` (patternBody gives the expected value). */
  async requests(
    host: string,
    port: number,
    requests: { method: string; path: string; headers?: Record<string, string>; bodyBytes?: number }[],
  ): Promise<{ results: HttpResult[]; sockets: number }> {
    return (await this.child.request('requests', { host, port, requests })) as unknown as { results: HttpResult[]; sockets: number };
  }

  /** A held keep-alive client for host:port (one connection at a time, reused between send() calls). */
  async open(host: string, port: number): Promise<number> {
    return Number((await this.child.request('open', { host, port })).client);
  }

  /** One request on a held client; `reused`: on the connection an earlier request of it used. */
  async send(client: number, method: string, path: string): Promise<HttpResult & { reused?: boolean }> {
    return (await this.child.request('send', { client, method, path })) as unknown as HttpResult & { reused?: boolean };
  }

  stop(): void {
    this.child.stop();
  }
}
