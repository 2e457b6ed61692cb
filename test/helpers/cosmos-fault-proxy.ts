/**
 * An HTTPS proxy between @azure/cosmos and the embedded Cosmos server that injects store faults, for
 * tests of what the API makes of them (test/http/store-faults.test.ts). Plug it in with
 * `openCosmos({ embeddedVia: (endpoint) => startCosmosFaultProxy(endpoint).then(...) })` (api-harness.ts
 * does this for `startTestApi(env, {}, { cosmosFaults: true })`).
 *
 * `inject(fault, { count, match })` answers the next `count` requests that `match` (all by default)
 * with the fault instead of forwarding them:
 *   - `throttle`: 429 with `x-ms-retry-after-ms` (what Cosmos sends when a partition is out of RU/s)
 *   - `unavailable`: 503 (optionally with `x-ms-retry-after-ms`)
 *   - `hang`: no answer at all until the client gives up (its request timeout) or the proxy closes
 *   - `delay`: forwards after `ms` (the store answers late; the write may land after the client gave up)
 *   - `reset`: the connection is destroyed without an answer
 * Rules are consulted in the order injected; a request uses up one of the first rule that matches.
 * Every request is recorded (method, path, what the proxy did, status).
 *
 * The TLS certificate is the embedded server's own self-signed one (shipped with
 * @vercel/cosmosdb-server), which the SDK's agent for the embedded server already accepts.
 */
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo, Socket } from 'node:net';
import { dirname, join } from 'node:path';

export type CosmosFault =
  | { kind: 'throttle'; retryAfterMs: number }
  | { kind: 'unavailable'; retryAfterMs?: number }
  | { kind: 'hang' }
  | { kind: 'delay'; ms: number }
  | { kind: 'reset' };

export interface CosmosRequestInfo {
  method: string;
  /** Path as sent by the SDK, e.g. `/dbs/fleetnet/colls/flows/docs` (no query string). */
  path: string;
  headers: IncomingHttpHeaders;
  /** The request body (a document, a query, a bulk operation list). */
  body: Buffer;
}

/** Method and/or path pattern, or any predicate. */
export type CosmosRequestMatcher = { method?: string; path?: RegExp } | ((request: CosmosRequestInfo) => boolean);

export interface RecordedCosmosRequest extends CosmosRequestInfo {
  /** `forwarded` or the fault's kind. */
  outcome: 'forwarded' | CosmosFault['kind'];
  /** Status answered (0: none — hang, reset, or the upstream failed). */
  status: number;
  at: number;
}

export interface FaultRule {
  fault: CosmosFault;
  /** Requests still to be answered with the fault. */
  remaining: number;
  /** Requests answered with it so far. */
  hits: number;
}

export interface CosmosFaultProxy {
  /** https://127.0.0.1:PORT — give it to the SDK instead of the embedded server's endpoint. */
  endpoint: string;
  requests: RecordedCosmosRequest[];
  /** Answers the next `count` (default: every) matching request with `fault`. */
  inject(fault: CosmosFault, options?: { count?: number; match?: CosmosRequestMatcher }): FaultRule;
  /** Removes every rule and releases hung requests (their clients have given up or get a reset). */
  clear(): void;
  close(): Promise<void>;
}

const require = createRequire(import.meta.url);
const emulatorDir = dirname(require.resolve('@vercel/cosmosdb-server/package.json'));

/** Common test matchers. */
export const cosmosMatch = {
  /** Any request to documents of one container (reads, writes, queries, bulk). */
  docsOf: (container: string): CosmosRequestMatcher => ({ path: new RegExp(`/colls/${container}/docs(/|$)`) }),
  /** Document creates (POST …/docs that is neither a query nor a bulk/batch request). */
  creates: (container: string): CosmosRequestMatcher => (r) =>
    r.method === 'POST' && new RegExp(`/colls/${container}/docs$`).test(r.path) && !isQuery(r) && !isBatch(r),
  /** Bulk (non-atomic batch) requests to a container's documents. */
  bulk: (container: string): CosmosRequestMatcher => (r) => r.method === 'POST' && new RegExp(`/colls/${container}/docs$`).test(r.path) && isBatch(r),
  /** Queries (and query-plan requests) over a container's documents. */
  queries: (container: string): CosmosRequestMatcher => (r) => r.method === 'POST' && new RegExp(`/colls/${container}/docs$`).test(r.path) && isQuery(r),
};

const isQuery = (r: CosmosRequestInfo) => String(r.headers['x-ms-documentdb-isquery'] ?? r.headers['x-ms-cosmos-is-query-plan-request'] ?? '').toLowerCase() === 'true';
const isBatch = (r: CosmosRequestInfo) => String(r.headers['x-ms-cosmos-is-batch-request'] ?? '').toLowerCase() === 'true';

function matches(matcher: CosmosRequestMatcher | undefined, request: CosmosRequestInfo): boolean {
  if (!matcher) return true;
  if (typeof matcher === 'function') return matcher(request);
  return (matcher.method === undefined || matcher.method === request.method) && (matcher.path === undefined || matcher.path.test(request.path));
}

/** @param target the embedded server's endpoint, e.g. https://127.0.0.1:PORT */
export async function startCosmosFaultProxy(target: string): Promise<CosmosFaultProxy> {
  const upstreamUrl = new URL(target);
  const upstreamAgent = new https.Agent({ rejectUnauthorized: false, keepAlive: true, maxSockets: 64 });
  const rules: Array<FaultRule & { match: CosmosRequestMatcher | undefined }> = [];
  const requests: RecordedCosmosRequest[] = [];
  const sockets = new Set<Socket>();
  const hung = new Set<ServerResponse>();

  const forward = (req: IncomingMessage, res: ServerResponse, body: Buffer, record: (status: number) => void) => {
    if (res.destroyed) return record(0);
    const upstream = https.request(
      { host: upstreamUrl.hostname, port: upstreamUrl.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstreamUrl.host }, agent: upstreamAgent },
      (answer) => {
        record(answer.statusCode ?? 0);
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => {
      record(0);
      res.destroy();
    });
    upstream.end(body);
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const info: CosmosRequestInfo = { method: req.method ?? '', path: (req.url ?? '').split('?')[0]!, headers: req.headers, body };
      const rule = rules.find((r) => r.remaining > 0 && matches(r.match, info));
      const outcome: RecordedCosmosRequest['outcome'] = rule ? rule.fault.kind : 'forwarded';
      const entry: RecordedCosmosRequest = { ...info, outcome, status: 0, at: Date.now() };
      requests.push(entry);
      const record = (status: number) => void (entry.status = status);
      if (!rule) return forward(req, res, body, record);
      rule.remaining--;
      rule.hits++;
      const fault = rule.fault;
      switch (fault.kind) {
        case 'throttle':
          record(429);
          return answerError(res, 429, 'TooManyRequests', 'Request rate is large (injected).', { 'x-ms-retry-after-ms': String(fault.retryAfterMs), 'x-ms-substatus': '3200' });
        case 'unavailable':
          record(503);
          return answerError(res, 503, 'ServiceUnavailable', 'Service is currently unavailable (injected).', fault.retryAfterMs === undefined ? {} : { 'x-ms-retry-after-ms': String(fault.retryAfterMs) });
        case 'reset':
          return void req.socket.destroy();
        case 'hang':
          hung.add(res);
          res.on('close', () => hung.delete(res));
          return;
        case 'delay': {
          const timer = setTimeout(() => forward(req, res, body, record), fault.ms);
          res.on('close', () => clearTimeout(timer));
          return;
        }
      }
    });
  };

  const tls = { cert: readFileSync(join(emulatorDir, 'cert.pem')), key: readFileSync(join(emulatorDir, 'key.pem')) };
  const server = https.createServer(tls, handle);
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const releaseHung = () => {
    for (const res of hung) res.destroy();
    hung.clear();
  };
  return {
    endpoint: `https://127.0.0.1:${port}`,
    requests,
    inject: (fault, options = {}) => {
      const rule = { fault, remaining: options.count ?? Number.POSITIVE_INFINITY, hits: 0, match: options.match };
      rules.push(rule);
      return rule;
    },
    clear: () => {
      rules.length = 0;
      releaseHung();
    },
    close: async () => {
      releaseHung();
      for (const socket of sockets) socket.destroy();
      upstreamAgent.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** An error as Cosmos DB sends it: JSON body with code and message (the SDK reads `message`). */
function answerError(res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string>): void {
  const body = JSON.stringify({ code, message });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-ms-activity-id': 'fault-proxy', ...headers });
  res.end(body);
}
