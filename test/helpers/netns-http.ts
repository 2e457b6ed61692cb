/**
 * An HTTP server and client that run INSIDE a network namespace (spawned with nsenter by NsChild,
 * driven over stdio with JSON lines: {id, op, ...} → {id, ...}). node:http on both sides.
 *
 *   serve    {port}                     HTTP/1.1 on [::]:port (dual-stack): answers every request 200
 *                                       with body `<method> <path>` (the request target as received),
 *                                       followed by ` <bytes> <sha256>` of the request body when it had
 *                                       one; a target with `?respond=N` is answered with N bytes of a
 *                                       fixed pattern instead, written in 64 KiB chunks
 *   served   {}                         → {requests}: requests the server received
 *   requests {host, port, requests: [{method, path, headers?, bodyBytes?}]}
 *                                       sends them in turn over ONE keep-alive connection (bodyBytes:
 *                                       a body of that many pattern bytes, chunked, in 64 KiB writes) →
 *                                       {results: [{status, body} | {error}], sockets: connections used};
 *                                       a body over 4 KiB is given as `<N bytes sha256 HEX>`
 *   open     {host, port}               a held keep-alive client (one connection at a time) → {client}
 *   send     {client, method, path}     one request on it → {status, body, reused} | {error}; `reused`:
 *                                       it went on the connection an earlier request used
 * Only addresses the test gives it are contacted.
 */
import { createHash } from 'node:crypto';
import { Agent, createServer, request } from 'node:http';

import { serveNsRequests, type NsRequest } from './ns-child-serve.js';

type Req = NsRequest;
let served = 0;
const closers: Array<() => void> = [];

async function serve(port: number): Promise<void> {
  const server = createServer((req, res) => {
    served += 1;
    const hash = createHash('sha256');
    let bytes = 0;
    req.on('data', (d: Buffer) => {
      bytes += d.length;
      hash.update(d);
    });
    req.on('end', () => {
      res.setHeader('content-type', 'text/plain');
      const respond = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('respond') ?? 0);
      if (respond > 0) return void writePattern(respond, (chunk) => res.write(chunk), () => res.end(), (go) => res.once('drain', go));
      res.end(`${req.method} ${req.url}${bytes > 0 ? ` ${bytes} ${hash.digest('hex')}` : ''}`);
    });
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '::', () => resolve()));
  closers.push(() => server.close());
}

const CHUNK = 64 * 1024;
const PATTERN = Buffer.alloc(CHUNK, 'fleetnet-');

/** Writes `total` pattern bytes in 64 KiB chunks, waiting for 'drain' when write() says so. */
function writePattern(total: number, write: (chunk: Buffer) => boolean, done: () => void, waitDrain?: (go: () => void) => void): void {
  let left = total;
  const next = (): void => {
    while (left > 0) {
      const chunk = PATTERN.subarray(0, Math.min(CHUNK, left));
      left -= chunk.length;
      if (!write(chunk) && waitDrain && left > 0) return waitDrain(next);
    }
    done();
  };
  next();
}

/** What a client reports of a body: the text up to 4 KiB, else its size and SHA-256. */
function describeBody(chunks: Buffer[]): string {
  const all = Buffer.concat(chunks);
  return all.length <= 4096 ? all.toString('utf8') : `<${all.length} bytes sha256 ${createHash('sha256').update(all).digest('hex')}>`;
}

async function requests(host: string, port: number, list: { method: string; path: string; headers?: Record<string, string>; bodyBytes?: number }[]) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const sockets = new Set<unknown>();
  const results: Array<{ status: number; body: string } | { error: string }> = [];
  for (const r of list) {
    results.push(
      await new Promise((resolve) => {
        // chunked framing said explicitly: node:http does not chunk a GET's body by default
        const headers = { ...(r.headers ?? {}), ...(r.bodyBytes ? { 'transfer-encoding': 'chunked' } : {}) };
        const req = request({ host, port, method: r.method, path: r.path, headers, agent, timeout: 3000 }, (res) => {
          sockets.add(res.socket);
          const chunks: Buffer[] = [];
          res.on('data', (d: Buffer) => chunks.push(d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: describeBody(chunks) }));
        });
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.on('error', (e) => resolve({ error: e.message }));
        if (r.bodyBytes) writePattern(r.bodyBytes, (chunk) => req.write(chunk), () => req.end(), (go) => req.once('drain', go));
        else req.end();
      }),
    );
  }
  agent.destroy();
  return { results, sockets: sockets.size };
}

const held = new Map<number, { host: string; port: number; agent: Agent }>();

function open(host: string, port: number): { client: number } {
  const client = held.size + 1;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  held.set(client, { host, port, agent });
  closers.push(() => agent.destroy());
  return { client };
}

function send(client: number, method: string, path: string): Promise<object> {
  const h = held.get(client);
  if (!h) throw new Error(`no held client ${client}`);
  return new Promise((resolve) => {
    const req = request({ host: h.host, port: h.port, method, path, agent: h.agent, timeout: 3000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: describeBody(chunks), reused: req.reusedSocket }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ error: e.message }));
    req.end();
  });
}

async function handle(r: Req): Promise<object> {
  switch (r.op) {
    case 'serve':
      await serve(Number(r.port));
      return { ok: true };
    case 'served':
      return { requests: served };
    case 'requests':
      return requests(String(r.host), Number(r.port), r.requests as { method: string; path: string; headers?: Record<string, string>; bodyBytes?: number }[]);
    case 'open':
      return open(String(r.host), Number(r.port));
    case 'send':
      return send(Number(r.client), String(r.method), String(r.path));
    default:
      throw new Error(`unknown op ${r.op}`);
  }
}

serveNsRequests(handle, () => {
  for (const c of closers) c();
});
