/**
 * An HTTP server and client that run INSIDE a network namespace (spawned with nsenter by NsChild,
 * driven over stdio with JSON lines: {id, op, ...} → {id, ...}). node:http on both sides.
 *
 *   serve    {port}                     HTTP/1.1 on [::]:port (dual-stack): answers every request 200
 *                                       with body `<method> <path>` (the request target as received)
 *   served   {}                         → {requests}: requests the server received
 *   requests {host, port, requests: [{method, path, headers?}]}
 *                                       sends them in turn over ONE keep-alive connection →
 *                                       {results: [{status, body} | {error}], sockets: connections used}
 * Only addresses the test gives it are contacted.
 */
import { Agent, createServer, request } from 'node:http';

import { serveNsRequests, type NsRequest } from './ns-child-serve.js';

type Req = NsRequest;
let served = 0;
const closers: Array<() => void> = [];

async function serve(port: number): Promise<void> {
  const server = createServer((req, res) => {
    served += 1;
    req.resume();
    req.on('end', () => {
      res.setHeader('content-type', 'text/plain');
      res.end(`${req.method} ${req.url}`);
    });
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '::', () => resolve()));
  closers.push(() => server.close());
}

async function requests(host: string, port: number, list: { method: string; path: string; headers?: Record<string, string> }[]) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const sockets = new Set<unknown>();
  const results: Array<{ status: number; body: string } | { error: string }> = [];
  for (const r of list) {
    results.push(
      await new Promise((resolve) => {
        const req = request({ host, port, method: r.method, path: r.path, headers: r.headers ?? {}, agent, timeout: 3000 }, (res) => {
          sockets.add(res.socket);
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.on('error', (e) => resolve({ error: e.message }));
        req.end();
      }),
    );
  }
  agent.destroy();
  return { results, sockets: sockets.size };
}

async function handle(r: Req): Promise<object> {
  switch (r.op) {
    case 'serve':
      await serve(Number(r.port));
      return { ok: true };
    case 'served':
      return { requests: served };
    case 'requests':
      return requests(String(r.host), Number(r.port), r.requests as { method: string; path: string; headers?: Record<string, string> }[]);
    default:
      throw new Error(`unknown op ${r.op}`);
  }
}

serveNsRequests(handle, () => {
  for (const c of closers) c();
});
