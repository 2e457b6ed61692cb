import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import azureFunctions, { type HttpResponseInit } from '@azure/functions';
import { DEFAULT_MAX_BODY_BYTES } from '../http/read-body.js';
import { ApiError } from '../http/api-error.js';
import { renderProblem } from '../http/render-problem.js';
import type { Operation } from '../http/operation.js';
import { compileRoutes } from './match-route.js';

// The package is CommonJS; Node's ESM loader cannot see these two class exports by name.
const { HttpRequest, InvocationContext } = azureFunctions;

export interface LocalHostOptions {
  operations: readonly Operation[];
  port?: number;
  host?: string;
  /** Route prefix; defaults to host.json's extensions.http.routePrefix. */
  routePrefix?: string;
  /**
   * How long the host waits for the next bytes of a request body, in milliseconds (default
   * DEFAULT_BODY_READ_TIMEOUT_MS, 10 s). A body shorter than its Content-Length is answered 400
   * IncompleteBody once this passes without data, and the connection is closed.
   */
  bodyReadTimeoutMs?: number;
}

/** See LocalHostOptions.bodyReadTimeoutMs: idle time, so a slow but steady 64 MiB upload is not cut. */
export const DEFAULT_BODY_READ_TIMEOUT_MS = 10_000;

export interface LocalHost {
  /** Base URL including the route prefix, e.g. http://127.0.0.1:7071/api */
  baseUrl: string;
  server: http.Server;
  close(): Promise<void>;
}

/**
 * Serves the Functions route table over node:http, the way the Functions host would: each request
 * becomes a real @azure/functions HttpRequest with route params, and the handler's HttpResponseInit is
 * written back. Bodies are read up to the API's size limit plus one byte, so oversized requests reach
 * the handler's 413 check without being buffered whole.
 */
export async function startLocalHost(options: LocalHostOptions): Promise<LocalHost> {
  const prefix = `/${options.routePrefix ?? readRoutePrefix()}`;
  const lookup = compileRoutes(options.operations);
  const server = http.createServer((req, res) => {
    void serve(req, res).catch((error: unknown) => {
      writeResponse(res, renderProblem(error, req.url ?? '/'));
    });
  });
  server.keepAliveTimeout = 65_000;

  async function serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const target = req.url ?? '/';
    const queryAt = target.indexOf('?');
    const pathname = queryAt === -1 ? target : target.slice(0, queryAt);
    const path = pathname.startsWith(`${prefix}/`) ? pathname.slice(prefix.length) : undefined;
    const found = path === undefined ? ({ kind: 'not-found' } as const) : lookup(req.method ?? 'GET', path);
    if (found.kind !== 'match') {
      req.resume();
      const error =
        found.kind === 'not-found'
          ? new ApiError(404, 'NotFound', `No operation is served at ${pathname}.`)
          : new ApiError(405, 'MethodNotAllowed', `Method ${req.method} is not allowed here.`, [], {}, { Allow: found.allowed.join(', ') });
      writeResponse(res, renderProblem(error, pathname));
      return;
    }
    const { operation, params } = found.match;
    const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
    let bytes: Uint8Array | undefined;
    try {
      const limit = (operation.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES) + 1;
      bytes = hasBody ? await readAtMost(req, limit, options.bodyReadTimeoutMs ?? DEFAULT_BODY_READ_TIMEOUT_MS) : undefined;
    } catch (error) {
      // The rest of the body may still arrive (or never): this connection cannot carry another request.
      res.once('finish', () => req.socket.destroy());
      writeResponse(res, renderProblem(error, pathname), { Connection: 'close' });
      return;
    }
    const request = new HttpRequest({
      method: req.method ?? 'GET',
      url: `http://${req.headers.host ?? 'localhost'}${target}`,
      headers: flattenHeaders(req.headers),
      params,
      body: bytes && bytes.byteLength > 0 ? { bytes } : undefined,
    });
    const context = new InvocationContext({ invocationId: randomUUID(), functionName: operation.operationId });
    writeResponse(res, await operation.handler(request, context));
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    baseUrl: `http://${options.host ?? '127.0.0.1'}:${address.port}${prefix}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** host.json's route prefix; host.json is found above this module (works from sources and from dist/). */
function readRoutePrefix(): string {
  const hostJson = JSON.parse(readFileSync(findHostJson(dirname(fileURLToPath(import.meta.url))), 'utf8')) as {
    extensions?: { http?: { routePrefix?: string } };
  };
  return hostJson.extensions?.http?.routePrefix ?? 'api';
}

function findHostJson(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    const candidate = join(dir, 'host.json');
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) throw new Error(`host.json not found above ${start}`);
  }
}

/**
 * Reads the body, keeping at most `limit` bytes (the rest is drained and discarded). Rejects with a 400
 * IncompleteBody when no bytes arrive for `idleMs` before the body's end, or when the client goes away
 * first. This is the local host's job only: in Azure, the Functions host (and its front end) reads the
 * body and times out a request whose body never completes before the function is invoked.
 */
function readAtMost(req: http.IncomingMessage, limit: number, idleMs: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const fail = (message: string) => {
      clearTimeout(timer);
      reject(new ApiError(400, 'IncompleteBody', message, [{ pointer: '', message: 'the body ended before Content-Length bytes arrived', rule: 'contentLength' }]));
    };
    const idle = () => fail(`The request body stopped arriving (no bytes for ${idleMs} ms before its end); it is shorter than its Content-Length.`);
    const timer = setTimeout(idle, idleMs);
    req.on('data', (chunk: Buffer) => {
      timer.refresh();
      if (size >= limit) return;
      const take = chunk.subarray(0, limit - size);
      chunks.push(take);
      size += take.byteLength;
    });
    req.on('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
    req.on('close', () => {
      if (!req.complete) fail('The connection closed before the request body was complete.');
    });
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

function flattenHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

function writeResponse(res: http.ServerResponse, init: HttpResponseInit, extraHeaders: Record<string, string> = {}): void {
  const headers = { ...toHeaderRecord(init.headers), ...extraHeaders };
  let body: string | Uint8Array | undefined;
  if (init.jsonBody !== undefined) {
    body = JSON.stringify(init.jsonBody);
    if (!Object.keys(headers).some((name) => name.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
  } else if (typeof init.body === 'string' || init.body instanceof Uint8Array) {
    body = init.body;
  } else if (init.body !== undefined && init.body !== null) {
    throw new Error('the local host writes string, byte and JSON bodies only');
  }
  res.writeHead(init.status ?? 200, headers);
  res.end(body);
}

/** Plain header objects (what fleetnet's handlers return) pass as they are; Headers and pairs are copied. */
function toHeaderRecord(headers: HttpResponseInit['headers']): Record<string, string> {
  if (!headers) return {};
  if (headers instanceof Headers || Array.isArray(headers)) {
    const record: Record<string, string> = {};
    new Headers(headers as ConstructorParameters<typeof Headers>[0]).forEach((value, name) => (record[name] = value));
    return record;
  }
  return { ...(headers as Record<string, string>) };
}
