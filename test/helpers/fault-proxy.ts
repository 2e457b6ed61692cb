/**
 * A tiny HTTP proxy in front of the local API that injects faults, for agent tests:
 *   - `down()`: every connection is destroyed without a response (an outage / connection reset)
 *   - `failNext(n, status, retryAfter?)`: the next n requests get `status` (problem+json) with an
 *     optional Retry-After header, without reaching the API
 *   - `up()`: pass everything through
 * Every request is recorded (method, path, status answered, time).
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface ProxiedRequest {
  method: string;
  path: string;
  status: number;
  at: number;
  headers: IncomingMessage['headers'];
}

export interface FaultProxy {
  baseUrl: string;
  requests: ProxiedRequest[];
  down(): void;
  up(): void;
  failNext(count: number, status: number, retryAfter?: string): void;
  close(): Promise<void>;
}

/** @param target the API base URL, e.g. http://127.0.0.1:PORT/api; the proxy keeps the path prefix */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const t = new URL(target);
  let isDown = false;
  const failures: { status: number; retryAfter?: string }[] = [];
  const requests: ProxiedRequest[] = [];
  const sockets = new Set<Socket>();

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const record = (status: number) =>
      requests.push({ method: req.method ?? '', path: req.url ?? '', status, at: Date.now(), headers: req.headers });
    if (isDown) {
      record(0);
      req.socket.destroy();
      return;
    }
    const fault = failures.shift();
    if (fault) {
      record(fault.status);
      req.resume();
      res.writeHead(fault.status, {
        'content-type': 'application/problem+json',
        ...(fault.retryAfter === undefined ? {} : { 'retry-after': fault.retryAfter }),
      });
      res.end(JSON.stringify({ type: 'about:blank', title: 'injected', status: fault.status, code: 'Injected' }));
      return;
    }
    const upstream = httpRequest(
      { host: t.hostname, port: t.port, method: req.method, path: req.url, headers: { ...req.headers, host: t.host } },
      (up) => {
        record(up.statusCode ?? 0);
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => {
      record(502);
      res.destroy();
    });
    req.pipe(upstream);
  };

  const server: Server = createServer(handle);
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}${t.pathname.replace(/\/$/, '')}`,
    requests,
    down: () => {
      isDown = true;
      for (const s of sockets) s.destroy();
    },
    up: () => {
      isDown = false;
    },
    failNext: (count, status, retryAfter) => {
      for (let i = 0; i < count; i++) failures.push(retryAfter === undefined ? { status } : { status, retryAfter });
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
