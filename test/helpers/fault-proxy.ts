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
import type { FlowSummaryBatch } from '../../openapi/types.js';

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
  /** Flow batches answered by the proxy's own sink (see `flowSink`), by batchId, first delivery kept. */
  flowBatches: Map<string, FlowSummaryBatch>;
  /** every POST …/flows body the sink received, retries included */
  flowDeliveries: FlowSummaryBatch[];
  close(): Promise<void>;
}

export interface FaultProxyOptions {
  /** answer POST …/nodes/{node}/flows here (200 FlowIngestResult, dedup by batchId) instead of the API —
   *  a stand-in until the API's ingest handler exists */
  flowSink?: boolean;
}

/** @param target the API base URL, e.g. http://127.0.0.1:PORT/api; the proxy keeps the path prefix */
export async function startFaultProxy(target: string, options: FaultProxyOptions = {}): Promise<FaultProxy> {
  const flowBatches = new Map<string, FlowSummaryBatch>();
  const flowDeliveries: FlowSummaryBatch[] = [];
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
    if (options.flowSink && req.method === 'POST' && /\/nodes\/[^/]+\/flows$/.test(req.url ?? '')) {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const batch = JSON.parse(Buffer.concat(chunks).toString('utf8')) as FlowSummaryBatch;
        flowDeliveries.push(batch);
        const duplicate = flowBatches.has(batch.batchId);
        if (!duplicate) flowBatches.set(batch.batchId, batch);
        record(200);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ batchId: batch.batchId, accepted: duplicate ? 0 : batch.summaries.length, duplicates: duplicate ? batch.summaries.length : 0 }));
      });
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
    flowBatches,
    flowDeliveries,
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
