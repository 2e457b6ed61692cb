/**
 * The node agent's transparent HTTP/1.x proxy for ports with HTTP rules (issue 12; Cilium's Envoy
 * `cilium.l7policy` semantics). It serves the server it is given with node:http (llhttp): every request of an
 * attributed connection is decided by the caller; denied ones get Envoy/Cilium's 403 `Access denied\r\n` on a
 * connection that stays usable (a denied request's body is read and dropped up to maxDrainBytes; a longer one
 * gets the 403 at once with `Connection: close`, as Envoy's HTTP/1 local replies do), allowed ones are
 * forwarded to the destination the pod addressed, streamed both ways. docs/http-proxy.md describes the whole.
 *
 * Contracts:
 * - The constructor starts serving at once. The proxy owns the injected server, the client connections it
 *   accepts and the upstream connections it opens through `connect` (default node:net).
 * - `resolveClient` runs once per connection before anything is read; undefined closes it.
 * - HTTP/2 cleartext is never forwarded: the prior-knowledge preface closes the connection, `Upgrade: h2c`
 *   gets 403 and the connection closes; both are counted (`h2cRefused`) and recorded (reason).
 * - `close()` stops serving, destroys every connection (client, upstream, tunnel) and resolves once the server
 *   and all of them are closed; calling it again returns the same promise.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import { performance } from 'node:perf_hooks';
import type {
  HeaderAction, HttpDecision, HttpDestination, HttpErrorReason, HttpProtocol, HttpProxyOptions, HttpProxyStats,
  HttpRecord, HttpRequestInfo,
} from './types.js';

/** Cilium's `cilium.l7policy` default `denied_403_body` ("Access denied", CRLF appended), sent by Envoy's local reply
 *  with `content-type: text/plain` and `content-length`. */
export const ACCESS_DENIED_BODY = 'Access denied\r\n';
/** default bytes of a refused request's body read (and dropped) before the answer closes the connection instead */
export const DEFAULT_MAX_DRAIN_BYTES = 64 * 1024 * 1024;

/** The request declares a body (chunked, or a content-length above 0). */
const hasBody = (req: http.IncomingMessage): boolean => req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
/** Envoy's local reply bodies for upstream failures (router: connection failure / reset before headers → 503,
 *  route timeout → 504, an upstream protocol error → 502). */
export const UPSTREAM_CONNECT_ERROR_BODY = 'upstream connect error or disconnect/reset before headers. reset reason: connection failure';
export const UPSTREAM_RESET_BODY = 'upstream connect error or disconnect/reset before headers. reset reason: connection termination';
export const UPSTREAM_PROTOCOL_ERROR_BODY = 'upstream connect error or disconnect/reset before headers. reset reason: protocol error';
export const UPSTREAM_TIMEOUT_BODY = 'upstream request timeout';
export const OVERLOADED_BODY = 'overloaded';

export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
export const DEFAULT_RESPONSE_TIMEOUT_MS = 15_000;
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
export const DEFAULT_MAX_HEADER_SIZE = 16 * 1024;
export const DEFAULT_MAX_IN_FLIGHT = 4096;
export const DEFAULT_MAX_UPSTREAM_PER_CLIENT = 4;
/** characters of a request target (and Host) kept in a record */
export const MAX_RECORD_PATH = 1024;

/** request headers that describe the client's hop only (RFC 9110 7.6.1; Envoy strips the same) */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'upgrade', 'te', 'http2-settings']);
const RESPONSE_HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection']);

export const defaultConnect = (original: HttpDestination): net.Socket => net.connect({ host: original.address, port: original.port });

interface Connection<Endpoint> {
  endpoint: Endpoint;
  original: HttpDestination;
  agent: http.Agent;
}

class UpstreamTimeoutError extends Error {
  constructor(readonly phase: 'connect' | 'response') {
    super(`upstream ${phase} timeout`);
  }
}

interface Exchange {
  time: number;
  start: number;
  method: string;
  path: string;
  host: string | undefined;
  protocol: HttpProtocol;
  decision?: HttpDecision;
}

function emptyStats(): HttpProxyStats {
  return {
    connections: 0, unknownClients: 0, h2cRefused: 0, requests: 0, forwarded: 0, denied: 0, errors: 0, upgrades: 0,
    upgradesDenied: 0, upstreamConnectErrors: 0, upstreamResets: 0, upstreamTimeouts: 0, upstreamProtocolErrors: 0,
    overloaded: 0, decideErrors: 0, clientAborts: 0, clientErrors: 0, headerActions: 0, recordErrors: 0,
    serverErrors: 0, inFlight: 0, openConnections: 0,
  };
}

function pairs(raw: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i]!, raw[i + 1]!]);
  return out;
}

function flatten(headers: [string, string][]): string[] {
  const out: string[] = [];
  for (const [name, value] of headers) out.push(name, value);
  return out;
}

function bounded(text: string): string {
  return text.length > MAX_RECORD_PATH ? text.slice(0, MAX_RECORD_PATH) : text;
}

function hasToken(value: string | undefined, token: string): boolean {
  return value !== undefined && value.toLowerCase().split(',').some((t) => t.trim() === token);
}

/** Applies http-match's header actions in order (ADD appends a value, DELETE removes every value, REPLACE sets one). */
export function applyHeaderActions(headers: [string, string][], actions: readonly HeaderAction[]): [string, string][] {
  let out = headers;
  for (const action of actions) {
    const name = action.name.toLowerCase();
    if (action.mismatch === 'ADD') out = [...out, [action.name, action.value]];
    else if (action.mismatch === 'DELETE') out = out.filter(([n]) => n.toLowerCase() !== name);
    else if (action.mismatch === 'REPLACE') out = [...out.filter(([n]) => n.toLowerCase() !== name), [action.name, action.value]];
  }
  return out;
}

/** The request headers forwarded upstream: hop-by-hop ones and those the client's Connection header names removed. */
function forwardedRequestHeaders(headers: [string, string][], keepUpgrade: boolean): [string, string][] {
  const named = new Set<string>();
  for (const [name, value] of headers) {
    if (name.toLowerCase() === 'connection') for (const token of value.split(',')) named.add(token.trim().toLowerCase());
  }
  const out = headers.filter(([name]) => {
    const lower = name.toLowerCase();
    if (keepUpgrade && (lower === 'connection' || lower === 'upgrade')) return true;
    return !HOP_BY_HOP.has(lower) && !(named.has(lower) && lower !== 'transfer-encoding');
  });
  if (keepUpgrade) return out.map(([name, value]) => (name.toLowerCase() === 'connection' ? [name, 'Upgrade'] : [name, value]));
  return out;
}

function forwardedResponseHeaders(raw: string[], http10: boolean): [string, string][] {
  return pairs(raw).filter(([name]) => {
    const lower = name.toLowerCase();
    return !RESPONSE_HOP_BY_HOP.has(lower) && !(http10 && lower === 'transfer-encoding');
  });
}

/** A response head for a socket node:http no longer manages (after 'upgrade'). */
function serializeHead(code: number, message: string | undefined, headers: [string, string][]): string {
  let head = `HTTP/1.1 ${code} ${message ?? http.STATUS_CODES[code] ?? ''}\r\n`;
  for (const [name, value] of headers) head += `${name}: ${value}\r\n`;
  return `${head}\r\n`;
}

function localHead(code: number, body: string): string {
  return serializeHead(code, undefined, [
    ['content-length', String(Buffer.byteLength(body))], ['content-type', 'text/plain'], ['date', new Date().toUTCString()],
    ['connection', 'close'],
  ]) + body;
}

export class HttpProxy<Endpoint> {
  private readonly options: HttpProxyOptions<Endpoint>;
  private readonly counters = emptyStats();
  private readonly http: http.Server;
  private readonly connections = new WeakMap<net.Socket, Connection<Endpoint>>();
  private readonly sockets = new Set<net.Socket>();
  private readonly connect: (original: HttpDestination, endpoint: Endpoint) => net.Socket;
  private readonly connectTimeoutMs: number;
  private readonly responseTimeoutMs: number;
  private readonly maxInFlight: number;
  private readonly maxUpstreamPerClient: number;
  private readonly maxHeaderSize: number;
  private readonly maxDrainBytes: number;
  private closing: Promise<void> | undefined;

  constructor(options: HttpProxyOptions<Endpoint>) {
    this.options = options;
    this.connect = options.connect ?? defaultConnect;
    this.connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.responseTimeoutMs = options.responseTimeoutMs ?? DEFAULT_RESPONSE_TIMEOUT_MS;
    this.maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
    this.maxUpstreamPerClient = options.maxUpstreamPerClient ?? DEFAULT_MAX_UPSTREAM_PER_CLIENT;
    this.maxHeaderSize = options.maxHeaderSize ?? DEFAULT_MAX_HEADER_SIZE;
    this.maxDrainBytes = options.maxDrainBytes ?? DEFAULT_MAX_DRAIN_BYTES;
    const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.http = http.createServer({
      maxHeaderSize: this.maxHeaderSize,
      keepAliveTimeout: idleTimeoutMs,
      requestTimeout: 0,
      noDelay: true,
    }, (req, res) => this.onRequest(req, res));
    this.http.timeout = idleTimeoutMs; // no bytes either way for this long → the client connection is closed
    this.http.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => this.onUpgrade(req, socket, head));
    this.http.on('connect', (req: http.IncomingMessage, socket: net.Socket) => this.onConnectMethod(req, socket));
    this.http.on('clientError', (error: NodeJS.ErrnoException, socket: net.Socket) => this.onClientError(error, socket));
    options.server.on('connection', (socket: net.Socket) => this.accept(socket));
    options.server.on('error', () => {
      this.counters.serverErrors++; // e.g. EMFILE on accept: must not crash the agent
    });
  }

  stats(): HttpProxyStats {
    return { ...this.counters };
  }

  close(): Promise<void> {
    this.closing ??= this.closeAll();
    return this.closing;
  }

  private track(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  private accept(socket: net.Socket): void {
    if (this.closing !== undefined) {
      socket.destroy();
      return;
    }
    this.counters.connections++;
    const time = Date.now();
    const client = { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 };
    let resolved: ReturnType<HttpProxyOptions<Endpoint>['resolveClient']>;
    try {
      resolved = this.options.resolveClient(client);
    } catch {
      resolved = undefined;
    }
    if (resolved === undefined) {
      this.counters.unknownClients++;
      socket.destroy();
      this.emit({ time, endpoint: undefined, method: '', path: '', code: 0, protocol: 'HTTP/1.1', verdict: 'error', reason: 'unknown-client', latencyMs: 0 });
      return;
    }
    const { original } = resolved;
    const agent = new http.Agent({ keepAlive: true, maxSockets: this.maxUpstreamPerClient });
    Object.assign(agent, { createConnection: () => this.openUpstream(original, resolved.endpoint) });
    this.connections.set(socket, { endpoint: resolved.endpoint, original, agent });
    this.counters.openConnections++;
    this.track(socket);
    socket.once('close', () => {
      this.counters.openConnections--;
      agent.destroy();
    });
    this.http.emit('connection', socket);
  }

  /** An upstream connection, destroyed with UpstreamTimeoutError('connect') when not connected in time. */
  private openUpstream(original: HttpDestination, endpoint: Endpoint): net.Socket {
    const socket = this.connect(original, endpoint);
    this.track(socket);
    socket.setNoDelay(true);
    if (socket.connecting) {
      const timer = setTimeout(() => socket.destroy(new UpstreamTimeoutError('connect')), this.connectTimeoutMs);
      const clear = (): void => clearTimeout(timer);
      socket.once('connect', clear);
      socket.once('close', clear);
    }
    return socket;
  }

  private emit(record: HttpRecord<Endpoint>): void {
    if (this.options.onRecord === undefined) return;
    try {
      this.options.onRecord(record);
    } catch {
      this.counters.recordErrors++;
    }
  }

  /** Counts a request in and returns its exchange, its one-shot `finish` (counts it out and records it;
   *  later calls do nothing) and whether it has finished. */
  private start(connection: Connection<Endpoint>, req: http.IncomingMessage): {
    exchange: Exchange;
    finish: (code: number, verdict: HttpRecord<Endpoint>['verdict'], extra?: Partial<HttpRecord<Endpoint>>) => void;
    done: () => boolean;
  } {
    this.counters.requests++;
    this.counters.inFlight++;
    const exchange = this.begin(req);
    let finished = false;
    return {
      exchange,
      finish: (code, verdict, extra) => {
        if (finished) return;
        finished = true;
        this.counters.inFlight--;
        this.finish(connection, exchange, code, verdict, extra);
      },
      done: () => finished,
    };
  }

  private begin(req: http.IncomingMessage): Exchange {
    return {
      time: Date.now(),
      start: performance.now(),
      method: req.method ?? '',
      path: bounded(req.url ?? ''),
      host: req.headers.host === undefined ? undefined : bounded(req.headers.host),
      protocol: req.httpVersion === '1.0' ? 'HTTP/1.0' : 'HTTP/1.1',
    };
  }

  private finish(connection: Connection<Endpoint>, exchange: Exchange, code: number, verdict: HttpRecord<Endpoint>['verdict'], extra: Partial<HttpRecord<Endpoint>> = {}): void {
    const d = exchange.decision;
    if (verdict === 'forwarded') this.counters.forwarded++;
    else if (verdict === 'denied') this.counters.denied++;
    else this.counters.errors++;
    const logged = d?.actions?.filter((a) => a.mismatch === 'LOG');
    this.emit({
      time: exchange.time,
      endpoint: connection.endpoint,
      original: connection.original,
      method: exchange.method,
      path: exchange.path,
      ...(exchange.host === undefined ? {} : { host: exchange.host }),
      code,
      protocol: exchange.protocol,
      verdict,
      ...(d?.audit ? { audit: true } : {}),
      ...(d?.ruleId === undefined ? {} : { ruleId: d.ruleId }),
      ...(d?.policy === undefined ? {} : { policy: d.policy }),
      ...(logged !== undefined && logged.length > 0 ? { logged } : {}),
      ...extra,
      latencyMs: performance.now() - exchange.start,
    });
  }

  /** What every request and upgrade passes before it is forwarded: the in-flight bound, then the
   *  policy decision (kept on the exchange). Answers through `reply` and returns undefined when the
   *  request goes no further (503 overloaded, 403 decide-failed, 403 denied — `onDenied` first);
   *  else the allowing decision. */
  private admit(
    connection: Connection<Endpoint>,
    req: http.IncomingMessage,
    headers: [string, string][],
    exchange: Exchange,
    reply: (code: number, body: string, verdict: HttpRecord<Endpoint>['verdict'], reason?: HttpErrorReason) => void,
    onDenied?: () => void,
  ): HttpDecision | undefined {
    if (this.counters.inFlight > this.maxInFlight) {
      this.counters.overloaded++;
      reply(503, OVERLOADED_BODY, 'error', 'overloaded');
      return undefined;
    }
    const decision = this.decide(connection, req, headers);
    if (decision === undefined) {
      reply(403, ACCESS_DENIED_BODY, 'error', 'decide-failed');
      return undefined;
    }
    exchange.decision = decision;
    if (!decision.allowed) {
      onDenied?.();
      reply(403, ACCESS_DENIED_BODY, 'denied');
      return undefined;
    }
    return decision;
  }

  /** decide, fail closed: a throw is a denial with reason decide-failed */
  private decide(connection: Connection<Endpoint>, req: http.IncomingMessage, headers: [string, string][]): HttpDecision | undefined {
    const request: HttpRequestInfo = { method: req.method ?? '', path: req.url ?? '', headers };
    if (req.headers.host !== undefined) request.host = req.headers.host;
    try {
      return this.options.decide(connection.endpoint, connection.original, request);
    } catch {
      this.counters.decideErrors++;
      return undefined;
    }
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const connection = this.connections.get(req.socket);
    if (connection === undefined) {
      req.socket.destroy();
      return;
    }
    const { exchange, finish, done } = this.start(connection, req);
    const localReply = (code: number, body: string, verdict: HttpRecord<Endpoint>['verdict'], reason?: HttpErrorReason): void => {
      if (res.headersSent) {
        res.destroy(); // mid-response failure: the client sees the connection close (as Envoy resets the stream)
        finish(res.statusCode, 'error', reason === undefined ? {} : { reason });
        return;
      }
      const send = (close: boolean): void => {
        if (res.headersSent || res.destroyed) return;
        res.writeHead(code, { 'content-length': Buffer.byteLength(body), 'content-type': 'text/plain', ...(close ? { connection: 'close' } : {}) });
        res.end(body);
        res.once('finish', () => finish(code, verdict, reason === undefined ? {} : { reason }));
      };
      // A request body still arriving is read and dropped (up to maxDrainBytes), then answered on a connection
      // that stays usable — answering first and closing would reset a client still writing before it reads
      // the answer. A longer body is answered at once with Connection: close (as Envoy's HTTP/1 local
      // replies), so no denied body of any size is read.
      if (!hasBody(req) || req.complete) return send(false);
      let drained = 0;
      const onData = (chunk: Buffer): void => {
        drained += chunk.length;
        if (drained <= this.maxDrainBytes) return;
        req.off('data', onData);
        send(true);
      };
      req.on('data', onData);
      req.once('end', () => send(false));
    };
    res.once('close', () => {
      if (done()) return;
      this.counters.clientAborts++;
      finish(res.headersSent ? res.statusCode : 0, 'error', { reason: 'client-aborted' });
    });

    const headers = pairs(req.rawHeaders);
    const decision = this.admit(connection, req, headers, exchange, localReply);
    if (!decision) return;
    const actions = decision.actions ?? [];
    this.counters.headerActions += actions.filter((a) => a.mismatch !== 'LOG').length;
    const outgoing = forwardedRequestHeaders(applyHeaderActions(headers, actions), false);
    const upstream = http.request({
      agent: connection.agent,
      host: connection.original.address,
      port: connection.original.port,
      method: req.method,
      path: req.url,
      headers: flatten(outgoing),
      setHost: false,
      maxHeaderSize: this.maxHeaderSize,
    });
    let responseTimer: NodeJS.Timeout | undefined;
    const clearResponseTimer = (): void => {
      if (responseTimer !== undefined) clearTimeout(responseTimer);
    };
    upstream.once('finish', () => {
      responseTimer = setTimeout(() => upstream.destroy(new UpstreamTimeoutError('response')), this.responseTimeoutMs);
    });
    upstream.once('close', clearResponseTimer);
    upstream.on('error', (error: NodeJS.ErrnoException) => {
      clearResponseTimer();
      if (done()) return;
      const socket = upstream.socket;
      const neverConnected = socket === null || socket === undefined || socket.bytesRead === 0 && !upstream.reusedSocket && (socket as net.Socket & { connecting: boolean }).connecting;
      if (error instanceof UpstreamTimeoutError) {
        this.counters.upstreamTimeouts++;
        if (error.phase === 'connect') {
          this.counters.upstreamConnectErrors++;
          localReply(503, UPSTREAM_CONNECT_ERROR_BODY, 'error', 'upstream-connect');
        } else {
          localReply(504, UPSTREAM_TIMEOUT_BODY, 'error', 'upstream-timeout');
        }
      } else if (typeof error.code === 'string' && error.code.startsWith('HPE_')) {
        this.counters.upstreamProtocolErrors++;
        localReply(502, UPSTREAM_PROTOCOL_ERROR_BODY, 'error', 'upstream-protocol');
      } else if (neverConnected || error.code === 'ECONNREFUSED' || error.code === 'EHOSTUNREACH' || error.code === 'ENETUNREACH') {
        this.counters.upstreamConnectErrors++;
        localReply(503, UPSTREAM_CONNECT_ERROR_BODY, 'error', 'upstream-connect');
      } else {
        this.counters.upstreamResets++;
        localReply(503, UPSTREAM_RESET_BODY, 'error', 'upstream-reset');
      }
    });
    upstream.once('response', (upstreamRes: http.IncomingMessage) => {
      clearResponseTimer();
      if (done()) {
        upstreamRes.resume();
        return;
      }
      res.sendDate = false; // the server's own Date passes through
      res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.statusMessage, flatten(forwardedResponseHeaders(upstreamRes.rawHeaders, exchange.protocol === 'HTTP/1.0')));
      upstreamRes.pipe(res, { end: false });
      upstreamRes.once('end', () => {
        if (upstreamRes.rawTrailers.length > 0) res.addTrailers(pairs(upstreamRes.rawTrailers));
        res.end();
        res.once('finish', () => finish(res.statusCode, 'forwarded'));
      });
      const onUpstreamBroken = (): void => {
        if (done() || upstreamRes.complete) return;
        this.counters.upstreamResets++;
        res.destroy(); // mid-response: the client sees the connection close (Envoy resets the stream)
        finish(res.statusCode, 'error', { reason: 'upstream-reset' });
      };
      upstreamRes.once('aborted', onUpstreamBroken);
      upstreamRes.on('error', onUpstreamBroken);
    });
    res.once('close', () => {
      if (!upstream.destroyed && !res.writableFinished) upstream.destroy();
    });
    req.on('error', () => upstream.destroy()); // the client went away mid-body: 'close' records it
    req.pipe(upstream);
  }

  private onUpgrade(req: http.IncomingMessage, socket: net.Socket, head: Buffer): void {
    const connection = this.connections.get(socket);
    if (connection === undefined) {
      socket.destroy();
      return;
    }
    socket.setTimeout(0);
    const { exchange, finish, done } = this.start(connection, req);
    const refuse = (code: number, body: string, verdict: HttpRecord<Endpoint>['verdict'], reason?: HttpErrorReason): void => {
      socket.end(localHead(code, body));
      finish(code, verdict, reason === undefined ? {} : { reason });
    };
    socket.on('error', () => socket.destroy());
    if (hasToken(req.headers.upgrade, 'h2c')) {
      this.counters.h2cRefused++;
      refuse(403, ACCESS_DENIED_BODY, 'denied', 'h2c-upgrade');
      return;
    }
    const headers = pairs(req.rawHeaders);
    const decision = this.admit(connection, req, headers, exchange, refuse, () => this.counters.upgradesDenied++);
    if (!decision) return;
    const actions = decision.actions ?? [];
    this.counters.headerActions += actions.filter((a) => a.mismatch !== 'LOG').length;
    const upstream = http.request({
      createConnection: () => this.openUpstream(connection.original, connection.endpoint),
      host: connection.original.address,
      port: connection.original.port,
      method: req.method,
      path: req.url,
      headers: flatten(forwardedRequestHeaders(applyHeaderActions(headers, actions), true)),
      setHost: false,
      maxHeaderSize: this.maxHeaderSize,
    });
    const timer = setTimeout(() => upstream.destroy(new UpstreamTimeoutError('response')), this.responseTimeoutMs);
    upstream.once('close', () => clearTimeout(timer));
    socket.once('close', () => upstream.destroy());
    upstream.on('error', (error: NodeJS.ErrnoException) => {
      if (done()) return;
      if (error instanceof UpstreamTimeoutError) {
        this.counters.upstreamTimeouts++;
        refuse(504, UPSTREAM_TIMEOUT_BODY, 'error', 'upstream-timeout');
      } else if (error.code === 'ECONNREFUSED' || error.code === 'EHOSTUNREACH' || error.code === 'ENETUNREACH') {
        this.counters.upstreamConnectErrors++;
        refuse(503, UPSTREAM_CONNECT_ERROR_BODY, 'error', 'upstream-connect');
      } else {
        this.counters.upstreamResets++;
        refuse(503, UPSTREAM_RESET_BODY, 'error', 'upstream-reset');
      }
    });
    upstream.once('upgrade', (upstreamRes: http.IncomingMessage, upstreamSocket: net.Socket, upstreamHead: Buffer) => {
      clearTimeout(timer);
      this.counters.upgrades++;
      socket.write(serializeHead(upstreamRes.statusCode ?? 101, upstreamRes.statusMessage, pairs(upstreamRes.rawHeaders)));
      if (upstreamHead.length > 0) socket.write(upstreamHead);
      if (head.length > 0) upstreamSocket.write(head);
      upstreamSocket.on('error', () => socket.destroy());
      socket.on('error', () => upstreamSocket.destroy());
      upstreamSocket.once('close', () => socket.destroy());
      socket.once('close', () => upstreamSocket.destroy());
      socket.pipe(upstreamSocket);
      upstreamSocket.pipe(socket);
      finish(upstreamRes.statusCode ?? 101, 'forwarded', { upgraded: true });
    });
    upstream.once('response', (upstreamRes: http.IncomingMessage) => {
      // the server declined the upgrade: pass its answer on, close-delimited, then close
      clearTimeout(timer);
      const kept = pairs(upstreamRes.rawHeaders).filter(([n]) => !['connection', 'keep-alive', 'transfer-encoding'].includes(n.toLowerCase()));
      socket.write(serializeHead(upstreamRes.statusCode ?? 502, upstreamRes.statusMessage, [...kept, ['connection', 'close']]));
      upstreamRes.pipe(socket);
      upstreamRes.once('end', () => finish(upstreamRes.statusCode ?? 502, 'forwarded'));
    });
    upstream.end();
  }

  /** CONNECT is not proxied (a tunnel to an arbitrary authority): 403, closed. */
  private onConnectMethod(req: http.IncomingMessage, socket: net.Socket): void {
    const connection = this.connections.get(socket);
    if (connection === undefined) {
      socket.destroy();
      return;
    }
    this.counters.requests++;
    const exchange = this.begin(req);
    socket.on('error', () => socket.destroy());
    socket.end(localHead(403, ACCESS_DENIED_BODY));
    this.finish(connection, exchange, 403, 'denied');
  }

  private onClientError(error: NodeJS.ErrnoException, socket: net.Socket): void {
    const connection = this.connections.get(socket);
    if (error.code === 'HPE_PAUSED_H2_UPGRADE') {
      // the HTTP/2 prior-knowledge preface ("PRI * HTTP/2.0"): unsupported, never forwarded
      this.counters.h2cRefused++;
      socket.destroy();
      if (connection !== undefined) {
        this.counters.errors++;
        this.emit({
          time: Date.now(), endpoint: connection.endpoint, original: connection.original, method: 'PRI', path: '*', code: 0,
          protocol: 'HTTP/2.0', verdict: 'error', reason: 'h2c-prior-knowledge', latencyMs: 0,
        });
      }
      return;
    }
    this.counters.clientErrors++;
    if (socket.writable && error.code !== 'ECONNRESET') {
      const code = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
      socket.end(serializeHead(code, undefined, [['content-length', '0'], ['connection', 'close']]));
    }
    socket.destroy();
  }

  private async closeAll(): Promise<void> {
    const server = this.options.server;
    const serverClosed = new Promise<void>((resolve) => {
      if (!server.listening) {
        resolve();
        return;
      }
      server.close(() => resolve());
    });
    const socketsClosed = [...this.sockets].map((socket) => new Promise<void>((resolve) => {
      if (socket.closed) {
        resolve();
        return;
      }
      socket.once('close', () => resolve());
      socket.destroy();
    }));
    await Promise.all([serverClosed, ...socketsClosed]);
  }
}
