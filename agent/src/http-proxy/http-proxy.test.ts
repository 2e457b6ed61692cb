import { createHash, randomBytes } from 'node:crypto';
import * as http from 'node:http';
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ACCESS_DENIED_BODY, MAX_RECORD_PATH, UPSTREAM_CONNECT_ERROR_BODY, UPSTREAM_PROTOCOL_ERROR_BODY, UPSTREAM_RESET_BODY, UPSTREAM_TIMEOUT_BODY,
} from './http-proxy.js';
import {
  decideWith, exchangeRaw, header, listen, readUntil, request, startProxy, startUpstream, type Host, type ProxyHarness, type Upstream,
} from './http-proxy-test-harness.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(host: Host, options: Parameters<typeof startProxy>[2] = {}, handler?: Parameters<typeof startUpstream>[1]): Promise<{ upstream: Upstream; h: ProxyHarness }> {
  const upstream = await startUpstream(host, handler);
  cleanups.push(() => upstream.close());
  const h = await startProxy(host, upstream.address, options);
  cleanups.push(() => h.proxy.close());
  return { upstream, h };
}

function keepAliveAgent(): http.Agent {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  cleanups.push(async () => agent.destroy());
  return agent;
}

const PUBLIC_GET = decideWith([{ method: 'GET', path: '/public/.*' }]);

describe('HttpProxy forwarding', () => {
  for (const host of ['127.0.0.1', '::1'] as const) {
    it(`forwards an allowed GET on ${host}: the server's status, reason, headers (names, order, repeats) and body`, async () => {
      const { upstream, h } = await setup(host, { decide: PUBLIC_GET }, (_req, res) => {
        res.sendDate = false;
        res.writeHead(203, 'Quite Fine', ['X-Custom', 'a', 'x-custom', 'b', 'Content-Type', 'application/json', 'Content-Length', '11']);
        res.end('{"ok":true}');
      });
      const res = await request(h.address, { method: 'GET', path: '/public/x?q=1&r=%20', headers: { 'X-Trace': 'T1', Host: 'web.svc:80' }, agent: keepAliveAgent() });
      expect(res.statusCode).toBe(203);
      expect(res.statusMessage).toBe('Quite Fine');
      expect(res.rawHeaders.slice(0, 8)).toEqual(['X-Custom', 'a', 'x-custom', 'b', 'Content-Type', 'application/json', 'Content-Length', '11']);
      expect(header(res.rawHeaders, 'date')).toEqual([]); // the proxy adds nothing the server did not send
      expect(res.body.toString()).toBe('{"ok":true}');
      expect(upstream.requests).toHaveLength(1);
      expect(upstream.requests[0]!.url).toBe('/public/x?q=1&r=%20');
      expect(header(upstream.requests[0]!.rawHeaders, 'X-Trace')).toEqual(['T1']);
      expect(header(upstream.requests[0]!.rawHeaders, 'host')).toEqual(['web.svc:80']);
      expect(h.records).toHaveLength(1);
      expect(h.records[0]).toMatchObject({
        endpoint: 'pod-api', original: upstream.address, method: 'GET', path: '/public/x?q=1&r=%20', host: 'web.svc:80', code: 203,
        protocol: 'HTTP/1.1', verdict: 'forwarded', ruleId: 0, policy: { name: 'web-l7', generation: 4 },
      });
      expect(h.records[0]!.latencyMs).toBeGreaterThanOrEqual(0);
      expect(h.records[0]!.time).toBeGreaterThan(0);
    });
  }

  it('denies with 403 "Access denied\\r\\n" (text/plain, content-length 15) and the same connection serves the next request', async () => {
    const { upstream, h } = await setup('127.0.0.1', { decide: PUBLIC_GET });
    const agent = keepAliveAgent();
    const denied = await request(h.address, { method: 'POST', path: '/public/x', agent }, 'payload');
    expect(denied.statusCode).toBe(403);
    expect(denied.body.toString()).toBe(ACCESS_DENIED_BODY);
    expect(ACCESS_DENIED_BODY).toBe('Access denied\r\n');
    expect(header(denied.rawHeaders, 'content-type')).toEqual(['text/plain']);
    expect(header(denied.rawHeaders, 'content-length')).toEqual(['15']);
    const private_ = await request(h.address, { method: 'GET', path: '/private', agent });
    expect(private_.statusCode).toBe(403);
    expect(private_.reusedSocket).toBe(true);
    const allowed = await request(h.address, { method: 'GET', path: '/public/y', agent });
    expect(allowed.statusCode).toBe(200);
    expect(allowed.body.toString()).toBe('ok');
    expect(allowed.reusedSocket).toBe(true);
    expect(upstream.requests.map((r) => r.url)).toEqual(['/public/y']);
    expect(h.records.map((r) => [r.method, r.path, r.code, r.verdict])).toEqual([
      ['POST', '/public/x', 403, 'denied'], ['GET', '/private', 403, 'denied'], ['GET', '/public/y', 200, 'forwarded'],
    ]);
    expect(h.proxy.stats()).toMatchObject({ requests: 3, denied: 2, forwarded: 1, connections: 1, inFlight: 0 });
  });

  it('a denied request\'s body still arriving: read and dropped, then 403 on the same connection; beyond maxDrainBytes, 403 at once with Connection: close', async () => {
    const { upstream, h } = await setup('127.0.0.1', { decide: PUBLIC_GET, maxDrainBytes: 1024 });
    const agent = keepAliveAgent();
    const small = await request(h.address, { method: 'POST', path: '/public/x', agent, headers: { 'transfer-encoding': 'chunked' } }, 'x'.repeat(1000));
    expect(small.statusCode).toBe(403);
    expect(header(small.rawHeaders, 'connection')).not.toContain('close');
    const next = await request(h.address, { method: 'GET', path: '/public/y', agent });
    expect(next.reusedSocket).toBe(true);
    // 2 KiB of a chunked body that never ends: the answer comes without waiting for the rest, and closes
    const socket = net.connect({ host: h.address.address, port: h.address.port });
    socket.write(`POST /public/z HTTP/1.1\r\nHost: web\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n${'y'.repeat(2048)}\r\n`);
    const answer = await readUntil(socket, (t) => t.includes(ACCESS_DENIED_BODY));
    expect(answer).toMatch(/^HTTP\/1\.1 403 /);
    expect(answer.toLowerCase()).toContain('connection: close');
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    expect(upstream.requests.map((r) => r.url)).toEqual(['/public/y']);
  });

  it('answers pipelined requests in order on one connection, denied ones in between', async () => {
    const { upstream, h } = await setup('127.0.0.1', { decide: PUBLIC_GET }, (req, res) => res.end(`body of ${req.url}`));
    const text = (await exchangeRaw(h.address,
      'GET /public/1 HTTP/1.1\r\nHost: web\r\n\r\n'
      + 'GET /private HTTP/1.1\r\nHost: web\r\n\r\n'
      + 'GET /public/2 HTTP/1.1\r\nHost: web\r\nConnection: close\r\n\r\n')).toString('latin1');
    const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1]);
    expect(statuses).toEqual(['200', '403', '200']);
    expect(text.indexOf('body of /public/1')).toBeLessThan(text.indexOf('Access denied'));
    expect(text.indexOf('Access denied')).toBeLessThan(text.indexOf('body of /public/2'));
    expect(upstream.requests.map((r) => r.url).sort()).toEqual(['/public/1', '/public/2']);
  });

  it('reuses its upstream connection across the requests of one client connection', async () => {
    const { upstream, h } = await setup('127.0.0.1');
    const agent = keepAliveAgent();
    for (let i = 0; i < 5; i++) expect((await request(h.address, { path: `/r${i}`, agent })).statusCode).toBe(200);
    expect(upstream.connections).toBe(1);
    expect(h.upstreamConnects).toBe(1);
  });

  it('applies header actions (ADD, DELETE, REPLACE) and only reports LOG', async () => {
    const decide = decideWith([{
      path: '/.*',
      headerMatches: [
        { name: 'X-Added', value: 'yes', mismatch: 'ADD' },
        { name: 'X-Secret', value: 'expected', mismatch: 'DELETE' },
        { name: 'X-Mode', value: 'safe', mismatch: 'REPLACE' },
        { name: 'X-Audit', value: 'on', mismatch: 'LOG' },
      ],
    }]);
    const { upstream, h } = await setup('127.0.0.1', { decide });
    const res = await request(h.address, { path: '/a', headers: { 'X-Secret': 'wrong', 'X-Mode': 'unsafe', 'X-Audit': 'off', 'X-Other': '1' } });
    expect(res.statusCode).toBe(200);
    const seen = upstream.requests[0]!.rawHeaders;
    expect(header(seen, 'x-added')).toEqual(['yes']);
    expect(header(seen, 'x-secret')).toEqual([]);
    expect(header(seen, 'x-mode')).toEqual(['safe']);
    expect(header(seen, 'x-audit')).toEqual(['off']);
    expect(header(seen, 'x-other')).toEqual(['1']);
    expect(h.records[0]!.logged).toEqual([expect.objectContaining({ mismatch: 'LOG', name: 'x-audit', found: 'off' })]);
    expect(h.proxy.stats().headerActions).toBe(3);
  });

  it('passes response trailers through', async () => {
    const { h } = await setup('127.0.0.1', {}, (_req, res) => {
      res.writeHead(200, { 'Transfer-Encoding': 'chunked', Trailer: 'X-Checksum' });
      res.write('part');
      res.addTrailers({ 'X-Checksum': 'abc123' });
      res.end();
    });
    const res = await request(h.address, { path: '/t' });
    expect(res.body.toString()).toBe('part');
    expect(res.rawTrailers).toEqual(['X-Checksum', 'abc123']);
  });
});

describe('HttpProxy streaming', () => {
  const MIB = 1 << 20;

  it('streams a 5 MiB chunked POST: the server receives bytes before the client has sent the rest', async () => {
    let received = 0;
    const waiters: { bytes: number; resolve: () => void }[] = [];
    const upstream = await startUpstream('127.0.0.1');
    cleanups.push(() => upstream.close());
    // count what the upstream has received so far (before the body's end), per data event
    upstream.server.prependListener('request', (req: http.IncomingMessage) => {
      req.on('data', (chunk: Buffer) => {
        received += chunk.length;
        for (const w of waiters.splice(0)) if (received >= w.bytes) w.resolve(); else waiters.push(w);
      });
    });
    const h = await startProxy('127.0.0.1', upstream.address);
    cleanups.push(() => h.proxy.close());
    const body = randomBytes(5 * MIB);
    const req = http.request({ host: h.address.address, port: h.address.port, method: 'POST', path: '/upload', headers: { 'Transfer-Encoding': 'chunked' } });
    const response = new Promise<http.IncomingMessage>((resolve) => req.once('response', resolve));
    req.write(body.subarray(0, MIB));
    // if the proxy held the body until its end, this never resolves and the test times out
    await new Promise<void>((resolve) => waiters.push({ bytes: MIB, resolve }));
    expect(received).toBeLessThan(body.length);
    req.end(body.subarray(MIB));
    const res = await response;
    res.resume();
    expect(res.statusCode).toBe(200);
    await new Promise((resolve) => res.once('end', resolve));
    expect(upstream.requests[0]!.bodyBytes).toBe(body.length);
    expect(upstream.requests[0]!.bodySha256).toBe(createHash('sha256').update(body).digest('hex'));
    expect(header(upstream.requests[0]!.rawHeaders, 'transfer-encoding')).toEqual(['chunked']);
  });

  it('streams a content-length request body and a 5 MiB response body that the client reads before the server has finished', async () => {
    const body = randomBytes(5 * MIB);
    let releaseRest: () => void = () => undefined;
    const rest = new Promise<void>((resolve) => {
      releaseRest = resolve;
    });
    const { upstream, h } = await setup('127.0.0.1', {}, (_req, res) => {
      res.writeHead(200, { 'Content-Length': String(body.length) });
      res.write(body.subarray(0, MIB));
      void rest.then(() => res.end(body.subarray(MIB))); // the rest only once the client has seen the first MiB
    });
    const posted = Buffer.from('x'.repeat(100_000));
    const got = await new Promise<Buffer>((resolve, reject) => {
      const req = http.request({ host: h.address.address, port: h.address.port, method: 'PUT', path: '/d', headers: { 'Content-Length': String(posted.length) } }, (res) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        res.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          bytes += chunk.length;
          if (bytes >= MIB) releaseRest();
        });
        res.on('end', () => resolve(Buffer.concat(chunks)));
      });
      req.on('error', reject);
      req.end(posted);
    });
    expect(got.equals(body)).toBe(true);
    expect(upstream.requests[0]!.bodyBytes).toBe(posted.length);
    expect(header(upstream.requests[0]!.rawHeaders, 'content-length')).toEqual([String(posted.length)]);
  });
});

describe('HttpProxy upgrades and HTTP/2 cleartext', () => {
  async function echoUpgradeUpstream(): Promise<Upstream & { upgrades: number }> {
    const upstream = Object.assign(await startUpstream('127.0.0.1'), { upgrades: 0 });
    cleanups.push(() => upstream.close());
    upstream.server.on('upgrade', (_req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
      upstream.upgrades++;
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
      if (head.length > 0) socket.write(Buffer.concat([Buffer.from('echo:'), head]));
      socket.on('data', (chunk: Buffer) => socket.write(Buffer.concat([Buffer.from('echo:'), chunk])));
    });
    return upstream;
  }

  const UPGRADE = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: web\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`;

  it('tunnels an allowed Upgrade both ways', async () => {
    const upstream = await echoUpgradeUpstream();
    const h = await startProxy('127.0.0.1', upstream.address, { decide: PUBLIC_GET });
    cleanups.push(() => h.proxy.close());
    const socket = net.connect({ host: h.address.address, port: h.address.port });
    cleanups.push(async () => void socket.destroy());
    socket.write(`${UPGRADE('/public/ws')}first`);
    const head = await readUntil(socket, (t) => t.includes('echo:first'));
    expect(head.startsWith('HTTP/1.1 101 Switching Protocols\r\n')).toBe(true);
    expect(head).toContain('Upgrade: websocket');
    socket.write('second');
    await readUntil(socket, (t) => t.includes('echo:second'));
    expect(upstream.upgrades).toBe(1);
    expect(h.records[0]).toMatchObject({ method: 'GET', path: '/public/ws', code: 101, verdict: 'forwarded', upgraded: true });
    expect(h.proxy.stats().upgrades).toBe(1);
  });

  it('refuses a denied Upgrade with 403 and never reaches the server', async () => {
    const upstream = await echoUpgradeUpstream();
    const h = await startProxy('127.0.0.1', upstream.address, { decide: PUBLIC_GET });
    cleanups.push(() => h.proxy.close());
    const text = (await exchangeRaw(h.address, `${UPGRADE('/private/ws')}data`)).toString('latin1');
    expect(text.startsWith('HTTP/1.1 403 Forbidden\r\n')).toBe(true);
    expect(text.endsWith(`\r\n\r\n${ACCESS_DENIED_BODY}`)).toBe(true);
    expect(upstream.upgrades).toBe(0);
    expect(upstream.connections).toBe(0);
    expect(h.records[0]).toMatchObject({ path: '/private/ws', code: 403, verdict: 'denied' });
    expect(h.proxy.stats().upgradesDenied).toBe(1);
  });

  it('closes a connection that opens with the HTTP/2 prior-knowledge preface and records it as unsupported', async () => {
    const { upstream, h } = await setup('127.0.0.1');
    const answer = await exchangeRaw(h.address, 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00');
    expect(answer.length).toBe(0);
    expect(upstream.connections).toBe(0);
    expect(h.proxy.stats().h2cRefused).toBe(1);
    expect(h.records).toEqual([expect.objectContaining({ method: 'PRI', protocol: 'HTTP/2.0', verdict: 'error', reason: 'h2c-prior-knowledge', code: 0 })]);
  });

  it('answers an h2c upgrade with 403 even when policy allows the request, and never reaches the server', async () => {
    const { upstream, h } = await setup('127.0.0.1');
    const text = (await exchangeRaw(h.address, 'GET / HTTP/1.1\r\nHost: web\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n')).toString('latin1');
    expect(text.startsWith('HTTP/1.1 403 Forbidden\r\n')).toBe(true);
    expect(upstream.connections).toBe(0);
    expect(h.proxy.stats().h2cRefused).toBe(1);
    expect(h.records[0]).toMatchObject({ code: 403, verdict: 'denied', reason: 'h2c-upgrade' });
  });

  it('strips Upgrade: h2c from a request without Connection: upgrade (the server never sees it)', async () => {
    const { upstream, h } = await setup('127.0.0.1');
    const res = await request(h.address, { path: '/', headers: { Upgrade: 'h2c', 'HTTP2-Settings': 'AAMAAABkAAQAAP__' } });
    expect(res.statusCode).toBe(200);
    expect(header(upstream.requests[0]!.rawHeaders, 'upgrade')).toEqual([]);
    expect(header(upstream.requests[0]!.rawHeaders, 'http2-settings')).toEqual([]);
  });
});

describe('HttpProxy failures', () => {
  it('closes a connection resolveClient does not know, before reading, and records it', async () => {
    const { upstream, h } = await setup('127.0.0.1', { resolveClient: () => undefined });
    const answer = await exchangeRaw(h.address, 'GET / HTTP/1.1\r\nHost: web\r\n\r\n');
    expect(answer.length).toBe(0);
    expect(upstream.connections).toBe(0);
    expect(h.proxy.stats()).toMatchObject({ unknownClients: 1, requests: 0 });
    expect(h.records).toEqual([expect.objectContaining({ endpoint: undefined, verdict: 'error', reason: 'unknown-client', code: 0 })]);
  });

  it('answers 503 (Envoy connection failure) when the upstream refuses, and the client connection stays usable', async () => {
    const closed = net.createServer();
    const dead = await listen(closed, '127.0.0.1');
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const h = await startProxy('127.0.0.1', dead);
    cleanups.push(() => h.proxy.close());
    const agent = keepAliveAgent();
    const first = await request(h.address, { path: '/', agent });
    expect(first.statusCode).toBe(503);
    expect(first.body.toString()).toBe(UPSTREAM_CONNECT_ERROR_BODY);
    const second = await request(h.address, { path: '/', agent });
    expect(second.statusCode).toBe(503);
    expect(second.reusedSocket).toBe(true);
    expect(h.records[0]).toMatchObject({ code: 503, verdict: 'error', reason: 'upstream-connect' });
    expect(h.proxy.stats().upstreamConnectErrors).toBe(2);
  });

  it('answers 503 when the upstream closes before its response headers', async () => {
    const { h } = await setup('127.0.0.1', {}, (req) => req.socket.destroy());
    const res = await request(h.address, { path: '/' });
    expect(res.statusCode).toBe(503);
    expect(res.body.toString()).toBe(UPSTREAM_RESET_BODY);
    expect(h.records[0]).toMatchObject({ code: 503, reason: 'upstream-reset' });
  });

  it('answers 504 when the upstream does not answer within responseTimeoutMs', async () => {
    const { h } = await setup('127.0.0.1', { responseTimeoutMs: 100 }, () => undefined);
    const res = await request(h.address, { path: '/slow' });
    expect(res.statusCode).toBe(504);
    expect(res.body.toString()).toBe(UPSTREAM_TIMEOUT_BODY);
    expect(h.proxy.stats().upstreamTimeouts).toBe(1);
  });

  it('answers 502 when the upstream does not speak HTTP', async () => {
    const garbage = net.createServer((socket) => socket.once('data', () => socket.end('SSH-2.0-OpenSSH\r\n\r\n')));
    const address = await listen(garbage, '127.0.0.1');
    cleanups.push(() => new Promise<void>((resolve) => garbage.close(() => resolve())));
    const h = await startProxy('127.0.0.1', address);
    cleanups.push(() => h.proxy.close());
    const res = await request(h.address, { path: '/' });
    expect(res.statusCode).toBe(502);
    expect(res.body.toString()).toBe(UPSTREAM_PROTOCOL_ERROR_BODY);
    expect(h.records[0]).toMatchObject({ code: 502, reason: 'upstream-protocol' });
  });

  it('closes the client connection when the upstream dies mid-response', async () => {
    const { h } = await setup('127.0.0.1', {}, (req, res) => {
      res.writeHead(200, { 'Content-Length': '1000' });
      res.write('partial', () => req.socket.destroy());
    });
    await expect(request(h.address, { path: '/' })).rejects.toThrow();
    await expect.poll(() => h.records.length).toBe(1);
    expect(h.records[0]).toMatchObject({ code: 200, verdict: 'error', reason: 'upstream-reset' });
  });

  it('denies (403) when decide throws', async () => {
    const { upstream, h } = await setup('127.0.0.1', { decide: () => { throw new Error('boom'); } });
    const res = await request(h.address, { path: '/' });
    expect(res.statusCode).toBe(403);
    expect(upstream.connections).toBe(0);
    expect(h.records[0]).toMatchObject({ verdict: 'error', reason: 'decide-failed' });
  });

  it('answers 431 to headers beyond maxHeaderSize and closes', async () => {
    const { upstream, h } = await setup('127.0.0.1', { maxHeaderSize: 1024 });
    const text = (await exchangeRaw(h.address, `GET / HTTP/1.1\r\nHost: web\r\nX-Big: ${'a'.repeat(2048)}\r\n\r\n`)).toString('latin1');
    expect(text.startsWith('HTTP/1.1 431 ')).toBe(true);
    expect(upstream.connections).toBe(0);
    expect(h.proxy.stats().clientErrors).toBe(1);
  });

  it('answers 503 beyond maxInFlight', async () => {
    const { h } = await setup('127.0.0.1', { maxInFlight: 1 }, () => undefined);
    const hanging = http.request({ host: h.address.address, port: h.address.port, path: '/hang' });
    hanging.on('error', () => undefined);
    hanging.end();
    await expect.poll(() => h.proxy.stats().inFlight).toBe(1);
    const res = await request(h.address, { path: '/second' });
    expect(res.statusCode).toBe(503);
    expect(h.proxy.stats().overloaded).toBe(1);
    hanging.destroy();
  });

  it('close() closes client, upstream and tunnel connections and resolves', async () => {
    const { h } = await setup('127.0.0.1', {}, () => undefined);
    const socket = net.connect({ host: h.address.address, port: h.address.port });
    socket.on('error', () => undefined);
    socket.write('GET /hang HTTP/1.1\r\nHost: web\r\n\r\n');
    await expect.poll(() => h.proxy.stats().inFlight).toBe(1);
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    await h.proxy.close();
    await closed;
    expect(h.proxy.stats().openConnections).toBe(0);
    await expect(h.proxy.close()).resolves.toBeUndefined();
  });

  it('records a client that goes away before the response (client-aborted) and closes its upstream request', async () => {
    let upstreamClosed = false;
    const { h } = await setup('127.0.0.1', {}, (req) => req.socket.once('close', () => {
      upstreamClosed = true;
    }));
    const socket = net.connect({ host: h.address.address, port: h.address.port });
    socket.write('GET /gone HTTP/1.1\r\nHost: web\r\n\r\n');
    await expect.poll(() => h.proxy.stats().inFlight).toBe(1);
    socket.destroy();
    await expect.poll(() => h.records.length).toBe(1);
    expect(h.records[0]).toMatchObject({ path: '/gone', code: 0, verdict: 'error', reason: 'client-aborted' });
    await expect.poll(() => upstreamClosed).toBe(true);
    expect(h.proxy.stats()).toMatchObject({ clientAborts: 1, inFlight: 0 });
  });

  it('bounds the path in records (MAX_RECORD_PATH) but forwards the whole request target', async () => {
    const { upstream, h } = await setup('127.0.0.1');
    const path = `/${'p'.repeat(3000)}`;
    expect((await request(h.address, { path })).statusCode).toBe(200);
    expect(upstream.requests[0]!.url).toBe(path);
    expect(h.records[0]!.path).toBe(path.slice(0, MAX_RECORD_PATH));
  });

  it('records an HTTP/1.0 request with its protocol', async () => {
    const { h } = await setup('127.0.0.1', {}, (_req, res) => res.end('old'));
    const text = (await exchangeRaw(h.address, 'GET /legacy HTTP/1.0\r\nHost: web\r\n\r\n')).toString('latin1');
    expect(text.startsWith('HTTP/1.1 200 OK\r\n')).toBe(true);
    expect(text.endsWith('\r\n\r\nold')).toBe(true);
    expect(h.records[0]).toMatchObject({ method: 'GET', path: '/legacy', protocol: 'HTTP/1.0', code: 200, verdict: 'forwarded' });
    expect(h.records[0]!.host).toBe('web');
  });
});
