/**
 * Test harness for the HTTP proxy: a real upstream node:http server, the proxy on a real listening server, raw
 * socket helpers. Used by http-proxy.test.ts (not by production code).
 */
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import * as net from 'node:net';
import { compileHttpRules, type PortRuleHTTP } from '../../../core/policy/rules/http-match.js';
import { HttpProxy } from './http-proxy.js';
import type { HttpDecision, HttpDestination, HttpProxyOptions, HttpRecord } from './types.js';

export type Host = '127.0.0.1' | '::1';

export interface UpstreamRequest {
  method: string;
  url: string;
  rawHeaders: string[];
  rawTrailers: string[];
  bodyBytes: number;
  bodySha256: string;
}

export interface Upstream {
  server: http.Server;
  address: HttpDestination;
  requests: UpstreamRequest[];
  /** connections the upstream accepted */
  connections: number;
  close(): Promise<void>;
}

export async function listen(server: net.Server, host: Host): Promise<HttpDestination> {
  await new Promise<void>((resolve) => server.listen(0, host, () => resolve()));
  const address = server.address() as net.AddressInfo;
  return { address: host, port: address.port };
}

/** An upstream whose handler sees the request after its body was read (bodyBytes, sha256 recorded). */
export async function startUpstream(
  host: Host,
  handler: (req: http.IncomingMessage, res: http.ServerResponse, body: UpstreamRequest) => void = (_req, res) => res.end('ok'),
): Promise<Upstream> {
  const requests: UpstreamRequest[] = [];
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    const hash = createHash('sha256');
    let bodyBytes = 0;
    req.on('data', (chunk: Buffer) => {
      bodyBytes += chunk.length;
      hash.update(chunk);
    });
    req.on('end', () => {
      const seen = { method: req.method ?? '', url: req.url ?? '', rawHeaders: req.rawHeaders, rawTrailers: req.rawTrailers, bodyBytes, bodySha256: hash.digest('hex') };
      requests.push(seen);
      handler(req, res, seen);
    });
  });
  const upstream: Upstream = {
    server, requests, connections: 0, address: await listen(server, host),
    close: () => new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy(); // upgraded ones too (closeAllConnections does not see them)
      server.close(() => resolve());
    }),
  };
  server.on('connection', (socket: net.Socket) => {
    upstream.connections++;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return upstream;
}

export interface ProxyHarness {
  proxy: HttpProxy<string>;
  address: HttpDestination;
  records: HttpRecord<string>[];
  /** connections the proxy opened upstream */
  upstreamConnects: number;
}

/** Decides with the real matcher (core/policy/rules/http-match.ts), ruleId = rule index, policy 'web-l7' gen 4. */
export function decideWith(rules: PortRuleHTTP[]): HttpProxyOptions<string>['decide'] {
  const compiled = compileHttpRules(rules);
  return (_endpoint, _original, request): HttpDecision => {
    const result = compiled.match(request);
    return {
      allowed: result.allowed,
      ...(result.rule === undefined ? {} : { ruleId: result.rule }),
      policy: { name: 'web-l7', generation: 4 },
      ...(result.actions === undefined ? {} : { actions: result.actions }),
    };
  };
}

export async function startProxy(
  host: Host,
  original: HttpDestination,
  options: Partial<HttpProxyOptions<string>> = {},
): Promise<ProxyHarness> {
  const server = net.createServer();
  const address = await listen(server, host);
  const records: HttpRecord<string>[] = [];
  const harness: ProxyHarness = { proxy: undefined as unknown as HttpProxy<string>, address, records, upstreamConnects: 0 };
  harness.proxy = new HttpProxy<string>({
    server,
    resolveClient: () => ({ endpoint: 'pod-api', original }),
    decide: () => ({ allowed: true }),
    connect: (destination) => {
      harness.upstreamConnects++;
      return net.connect({ host: destination.address, port: destination.port });
    },
    onRecord: (record) => records.push(record),
    ...options,
  });
  return harness;
}

/** Sends `data` on a new connection and collects everything until the proxy closes it. */
export async function exchangeRaw(address: HttpDestination, data: string | Buffer): Promise<Buffer> {
  const socket = net.connect({ host: address.address, port: address.port });
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.write(data);
  await new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return Buffer.concat(chunks);
}

/** Reads from `socket` until `done(text so far)` holds. */
export function readUntil(socket: net.Socket, done: (text: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('latin1');
      if (done(text)) {
        socket.off('data', onData);
        resolve(text);
      }
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error(`closed after ${JSON.stringify(text)}`)));
  });
}

export interface ClientResponse {
  statusCode: number;
  statusMessage: string;
  rawHeaders: string[];
  rawTrailers: string[];
  body: Buffer;
  reusedSocket: boolean;
}

export function request(address: HttpDestination, options: http.RequestOptions, body?: Buffer | string): Promise<ClientResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: address.address, port: address.port, ...options }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({
        statusCode: res.statusCode ?? 0, statusMessage: res.statusMessage ?? '', rawHeaders: res.rawHeaders,
        rawTrailers: res.rawTrailers, body: Buffer.concat(chunks), reusedSocket: req.reusedSocket,
      }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export function header(raw: string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i]!.toLowerCase() === name.toLowerCase()) out.push(raw[i + 1]!);
  return out;
}
