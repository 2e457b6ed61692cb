/**
 * Typed handle on test/helpers/netns-http.ts (an HTTP server and client inside a network namespace).
 */
import { existsSync } from 'node:fs';

import { findRepoRoot } from '../../agent/src/kernel/native-binding.js';
import { NsChild } from './ns-child.js';

export type HttpResult = { status: number; body: string } | { error: string };

export class HttpPeer {
  private constructor(private readonly child: NsChild) {}

  static async start(nsPath: string): Promise<HttpPeer> {
    const root = findRepoRoot();
    const script = `${root}/test/helpers/netns-http.ts`;
    if (!existsSync(script)) throw new Error(`missing ${script}`);
    return new HttpPeer(await NsChild.start(nsPath, process.execPath, ['--import', 'tsx', script], 'http peer', root));
  }

  /** An HTTP server on [::]:port answering 200 `<method> <path>`. */
  async serve(port: number): Promise<void> {
    await this.child.request('serve', { port });
  }

  async served(): Promise<number> {
    return Number((await this.child.request('served', {})).requests);
  }

  /** The requests in turn over one keep-alive connection; `sockets` = connections used. */
  async requests(host: string, port: number, requests: { method: string; path: string; headers?: Record<string, string> }[]): Promise<{ results: HttpResult[]; sockets: number }> {
    return (await this.child.request('requests', { host, port, requests })) as unknown as { results: HttpResult[]; sockets: number };
  }

  stop(): void {
    this.child.stop();
  }
}
