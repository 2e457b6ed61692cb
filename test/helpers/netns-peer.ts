/**
 * A traffic peer that runs INSIDE a pod network namespace (spawned by netns.ts with nsenter) and is
 * driven over stdio with JSON lines: one request {id, op, ...} → one response {id, ...}.
 *
 *   listen   {proto: 'tcp'|'udp', port, echo?}  TCP: echo server. UDP: counts datagrams/bytes,
 *                                               echoes each back when echo (default true).
 *   tcp      {host, port, timeoutMs}            connect, send "ping", wait for the echo
 *                                               → {ok, reason?}
 * A request that fails answers {id, failure}.
 *   udp      {host, port, count, size, timeoutMs, expectReplies, sport?}
 *                                               send count datagrams of size bytes payload from one
 *                                               socket; → {sent, replies} (waits for replies
 *                                               only if expectReplies)
 *   received {port}                             UDP server counters → {datagrams, bytes}
 *   sendFrom {port, host, dport, count?, size?} send from the bound UDP server socket of `port`
 *                                               (so a peer can answer or start from a fixed port)
 *   unlisten {port}                             closes the TCP or UDP server on port
 *   open     {host, port, localPort?, timeoutMs} a held TCP connection → {ok, conn?, reason?}
 *   send     {conn, timeoutMs}                  writes "ping" on it, waits for the echo → {ok}
 *   push     {port}                             the TCP server on port writes "push" to every
 *                                               connection it accepted → {connections}
 *   bytes    {conn}                             bytes the held connection received so far
 *   close    {conn, how: 'fin'|'rst'}           ends it with FIN (end) or RST (resetAndDestroy)
 * Every address may be IPv4 or IPv6 (servers listen on both: a dual-stack `::` socket).
 * Only addresses the test gives it are contacted.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { serveNsRequests } from './ns-child-serve.js';

type Req = { id: number; op: string; [k: string]: unknown };

const udpCounters = new Map<number, { datagrams: number; bytes: number }>();
const udpSockets = new Map<number, UdpSocket>();

/** IPv4 peers of a dual-stack socket arrive as ::ffff:a.b.c.d; send to IPv4 hosts the same way. */
const dualStack = (host: string): string => (host.includes(':') ? host : `::ffff:${host}`);

async function sendFrom(port: number, host: string, dport: number, count: number, size: number): Promise<{ sent: number }> {
  const s = udpSockets.get(port);
  if (!s) throw new Error(`no UDP socket on ${port}`);
  const payload = Buffer.alloc(size, 0x62);
  for (let i = 0; i < count; i++) await new Promise<void>((res, rej) => s.send(payload, dport, dualStack(host), (e) => (e ? rej(e) : res())));
  return { sent: count };
}
const servers: { close(): void }[] = [];
const tcpServers = new Map<number, { server: Server; accepted: Socket[] }>();
const conns = new Map<number, { socket: Socket; received: number }>();
let nextConn = 1;


async function listen(proto: string, port: number, echo: boolean): Promise<void> {
  if (proto === 'tcp') {
    const accepted: Socket[] = [];
    const s = createServer((c) => {
      accepted.push(c);
      c.on('error', () => undefined);
      c.on('data', (d) => c.write(d));
    });
    servers.push(s);
    tcpServers.set(port, { server: s, accepted });
    await new Promise<void>((res, rej) => s.listen(port, '::', res).once('error', rej));
    return;
  }
  const counters = { datagrams: 0, bytes: 0 };
  udpCounters.set(port, counters);
  const s = createSocket({ type: 'udp6', ipv6Only: false });
  udpSockets.set(port, s);
  s.on('message', (m, rinfo) => {
    counters.datagrams += 1;
    counters.bytes += m.length;
    if (echo) s.send(m, rinfo.port, rinfo.address);
  });
  servers.push(s);
  await new Promise<void>((res, rej) => {
    s.once('error', rej);
    s.bind(port, '::', () => res());
  });
}

function tcp(host: string, port: number, timeoutMs: number): Promise<{ ok: boolean; reason?: string }> {
  return new Promise((resolve) => {
    const c = createConnection({ host, port });
    const done = (r: { ok: boolean; reason?: string }): void => {
      clearTimeout(t);
      c.destroy();
      resolve(r);
    };
    const t = setTimeout(() => done({ ok: false, reason: 'timeout' }), timeoutMs);
    c.on('connect', () => c.write('ping'));
    c.on('data', () => done({ ok: true }));
    c.on('error', (e) => done({ ok: false, reason: e.message }));
  });
}

function udp(host: string, port: number, count: number, size: number, timeoutMs: number, expectReplies: boolean, sport: number): Promise<{ sent: number; replies: number }> {
  return new Promise((resolve) => {
    const s: UdpSocket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    s.on('error', () => undefined); // ICMP errors on a connected socket: counted as no reply
    let replies = 0;
    let sent = 0;
    const finish = (): void => {
      clearTimeout(t);
      s.close();
      resolve({ sent, replies });
    };
    const t = setTimeout(finish, timeoutMs);
    s.on('message', () => {
      replies += 1;
      if (replies === count) finish();
    });
    const payload = Buffer.alloc(size, 0x61);
    const start = (): void => s.connect(port, host, () => {
      const sendNext = (): void => {
        if (sent === count) {
          if (!expectReplies) finish();
          return;
        }
        s.send(payload, () => {
          sent += 1;
          sendNext();
        });
      };
      sendNext();
    });
    if (sport) s.bind({ port: sport, exclusive: true }, start);
    else start();
  });
}

function open(host: string, port: number, localPort: number | undefined, timeoutMs: number): Promise<{ ok: boolean; conn?: number; reason?: string }> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port, ...(localPort ? { localPort } : {}) });
    const t = setTimeout(() => {
      socket.destroy();
      resolve({ ok: false, reason: 'timeout' });
    }, timeoutMs);
    socket.on('error', (e) => {
      clearTimeout(t);
      resolve({ ok: false, reason: e.message });
    });
    socket.on('connect', () => {
      clearTimeout(t);
      const conn = nextConn++;
      const entry = { socket, received: 0 };
      socket.on('data', (d) => (entry.received += d.length));
      conns.set(conn, entry);
      resolve({ ok: true, conn });
    });
  });
}

function heldConn(id: number): { socket: Socket; received: number } {
  const c = conns.get(id);
  if (!c) throw new Error(`no connection ${id}`);
  return c;
}

function send(id: number, timeoutMs: number): Promise<{ ok: boolean }> {
  const c = heldConn(id);
  const before = c.received;
  return new Promise((resolve) => {
    const started = Date.now();
    c.socket.write('ping');
    const poll = setInterval(() => {
      if (c.received >= before + 4 || Date.now() - started > timeoutMs) {
        clearInterval(poll);
        resolve({ ok: c.received >= before + 4 });
      }
    }, 10);
  });
}

function close(id: number, how: string): Promise<{ ok: boolean }> {
  const c = heldConn(id);
  conns.delete(id);
  if (how === 'rst') {
    c.socket.resetAndDestroy();
    return Promise.resolve({ ok: true });
  }
  return new Promise((resolve) => {
    c.socket.once('close', () => resolve({ ok: true }));
    c.socket.end();
    setTimeout(() => {
      c.socket.destroy();
      resolve({ ok: true });
    }, 2000);
  });
}

async function handle(r: Req): Promise<object> {
  switch (r.op) {
    case 'listen':
      await listen(String(r.proto), Number(r.port), r.echo !== false);
      return { ok: true };
    case 'tcp':
      return tcp(String(r.host), Number(r.port), Number(r.timeoutMs ?? 1000));
    case 'udp':
      return udp(String(r.host), Number(r.port), Number(r.count ?? 1), Number(r.size ?? 16), Number(r.timeoutMs ?? 1000), r.expectReplies === true, Number(r.sport ?? 0));
    case 'unlisten': {
      const port = Number(r.port);
      const t = tcpServers.get(port);
      if (t) {
        for (const c of t.accepted) c.destroy();
        await new Promise<void>((res) => t.server.close(() => res()));
        tcpServers.delete(port);
      }
      const u = udpSockets.get(port);
      if (u) {
        u.close();
        udpSockets.delete(port);
      }
      return { ok: true };
    }
    case 'open':
      return open(String(r.host), Number(r.port), r.localPort === undefined ? undefined : Number(r.localPort), Number(r.timeoutMs ?? 1000));
    case 'send':
      return send(Number(r.conn), Number(r.timeoutMs ?? 1000));
    case 'push': {
      const t = tcpServers.get(Number(r.port));
      for (const c of t?.accepted ?? []) c.write('push');
      return { connections: t?.accepted.length ?? 0 };
    }
    case 'bytes':
      return { received: heldConn(Number(r.conn)).received };
    case 'close':
      return close(Number(r.conn), String(r.how ?? 'fin'));
    case 'sendFrom':
      return sendFrom(Number(r.port), String(r.host), Number(r.dport), Number(r.count ?? 1), Number(r.size ?? 16));
    case 'received':
      return udpCounters.get(Number(r.port)) ?? { datagrams: 0, bytes: 0 };
    default:
      throw new Error(`unknown op ${r.op}`);
  }
}

serveNsRequests(handle, () => {
  for (const s of servers) s.close();
});
