/**
 * A DNS server and a DNS client that run INSIDE a network namespace (spawned with nsenter by
 * NsChild, driven over stdio with JSON lines: {id, op, ...} → {id, ...}). Messages are built and
 * parsed with dns-packet.
 *
 *   serve   {port, zone, dynamic?}   UDP and TCP on [::]:port (dual-stack). Answers from `zone`
 *                                    (dns-packet Answer records; a CNAME chain is followed), and for
 *                                    names h<k>.<dynamic.suffix>: AAAA <dynamic.prefix><k as hex>
 *                                    (TTL dynamic.ttl) — a fresh address per name. NXDOMAIN otherwise.
 *   served  {}                       → {udp, tcp}: queries received so far
 *   resolve {server, port, name, type, transport}  one query → {rcode, ips, ttl} or {failure}
 *   resolveConnect {server, port, names, type, connectPort, timeoutMs}
 *                                    for each name in turn: resolve over UDP, then AT ONCE open a TCP
 *                                    connection to the first address of the answer and close it →
 *                                    {resolved, connected, failures: [{name, stage, reason}] (first 20)}
 *   hold    {host, port, timeoutMs}  a TCP connection kept open → {conn}, or {failure} (refused,
 *                                    or no answer within timeoutMs: a dropped SYN)
 *   ping    {conn}                   writes "ping", waits for the echo → {ok}
 * Only addresses the test gives it are contacted.
 */
import { createSocket } from 'node:dgram';
import { createConnection, createServer, type Socket } from 'node:net';
import * as dnsPacket from 'dns-packet';

import { serveNsRequests, type NsRequest } from './ns-child-serve.js';

type Req = NsRequest;
interface Dynamic {
  suffix: string;
  prefix: string;
  ttl: number;
}

const counts = { udp: 0, tcp: 0 };
const closers: Array<() => void> = [];
const held = new Map<number, Socket>();
let nextConn = 1;

const canonical = (n: string) => n.toLowerCase().replace(/\.$/, '');

function answer(query: dnsPacket.Packet, zone: dnsPacket.Answer[], dynamic: Dynamic | undefined): Buffer {
  const q = query.questions?.[0];
  const answers: dnsPacket.Answer[] = [];
  let rcode = 0;
  if (q) {
    let name = canonical(q.name);
    for (let hops = 0; hops < 8; hops++) {
      const c = zone.find((r) => r.type === 'CNAME' && canonical(r.name) === name);
      if (!c || c.type !== 'CNAME') break;
      answers.push(c);
      name = canonical(c.data);
    }
    const m = dynamic ? new RegExp(`^h(\\d+)\\.${dynamic.suffix.replace(/\./g, '\\.')}$`).exec(name) : null;
    if (m && dynamic && q.type === 'AAAA') answers.push({ type: 'AAAA', name, ttl: dynamic.ttl, data: `${dynamic.prefix}${Number(m[1]).toString(16)}` });
    else answers.push(...zone.filter((r) => r.type === q.type && canonical(r.name) === name));
    if (!m && !zone.some((r) => canonical(r.name) === name)) rcode = 3;
  }
  return dnsPacket.encode({
    type: 'response',
    id: query.id ?? 0,
    flags: dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_AVAILABLE | ((query.flags ?? 0) & dnsPacket.RECURSION_DESIRED) | rcode,
    questions: query.questions ?? [],
    answers,
  });
}

async function serve(port: number, zone: dnsPacket.Answer[], dynamic: Dynamic | undefined): Promise<void> {
  const udp = createSocket({ type: 'udp6', ipv6Only: false });
  udp.on('message', (m, r) => {
    counts.udp += 1;
    try {
      udp.send(answer(dnsPacket.decode(m), zone, dynamic), r.port, r.address);
    } catch {
      /* malformed: no answer */
    }
  });
  await new Promise<void>((res, rej) => udp.once('error', rej).bind(port, '::', () => res()));
  const tcp = createServer((c) => {
    c.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    c.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const len = buf.readUInt16BE(0);
        const msg = buf.subarray(2, 2 + len);
        buf = buf.subarray(2 + len);
        counts.tcp += 1;
        c.write(dnsPacket.streamEncode(dnsPacket.decode(answer(dnsPacket.decode(msg), zone, dynamic))));
      }
    });
  });
  await new Promise<void>((res, rej) => tcp.once('error', rej).listen(port, '::', () => res()));
  closers.push(() => udp.close(), () => tcp.close());
}

function query(name: string, type: dnsPacket.RecordType): dnsPacket.Packet {
  return { type: 'query', id: Math.floor(Math.random() * 65536), flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name }] };
}

function summarize(p: dnsPacket.Packet): { rcode: string; ips: string[]; ttl: number } {
  const addrs = (p.answers ?? []).filter((a): a is dnsPacket.StringAnswer => a.type === 'A' || a.type === 'AAAA');
  return { rcode: (p as { rcode?: string }).rcode ?? 'NOERROR', ips: addrs.map((a) => a.data), ttl: Math.min(...addrs.map((a) => a.ttl ?? 0), 2 ** 31) };
}

function resolveUdp(server: string, port: number, name: string, type: dnsPacket.RecordType, timeoutMs: number): Promise<dnsPacket.Packet> {
  return new Promise((resolve, reject) => {
    const s = createSocket(server.includes(':') ? 'udp6' : 'udp4');
    const q = query(name, type);
    const t = setTimeout(() => {
      s.close();
      reject(new Error('timeout'));
    }, timeoutMs);
    s.on('error', (e) => {
      clearTimeout(t);
      s.close();
      reject(e);
    });
    s.on('message', (m) => {
      const p = dnsPacket.decode(m);
      if (p.id !== q.id) return;
      clearTimeout(t);
      s.close();
      resolve(p);
    });
    s.connect(port, server, () => s.send(dnsPacket.encode(q)));
  });
}

function resolveTcp(server: string, port: number, name: string, type: dnsPacket.RecordType, timeoutMs: number): Promise<dnsPacket.Packet> {
  return new Promise((resolve, reject) => {
    const c = createConnection({ host: server, port });
    let buf = Buffer.alloc(0);
    const t = setTimeout(() => {
      c.destroy();
      reject(new Error('timeout'));
    }, timeoutMs);
    c.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
    c.on('connect', () => c.write(dnsPacket.streamEncode(query(name, type))));
    c.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        clearTimeout(t);
        c.destroy();
        resolve(dnsPacket.streamDecode(buf));
      }
    });
  });
}

function connectOnce(host: string, port: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = createConnection({ host, port });
    const t = setTimeout(() => {
      c.destroy();
      reject(new Error('timeout'));
    }, timeoutMs);
    c.on('connect', () => {
      clearTimeout(t);
      c.destroy();
      resolve();
    });
    c.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

async function resolveConnect(server: string, port: number, names: string[], type: dnsPacket.RecordType, connectPort: number, timeoutMs: number) {
  let resolved = 0;
  let connected = 0;
  const failures: { name: string; stage: string; reason: string }[] = [];
  const fail = (name: string, stage: string, reason: string) => {
    if (failures.length < 20) failures.push({ name, stage, reason });
  };
  for (const name of names) {
    let ip: string | undefined;
    try {
      const r = summarize(await resolveUdp(server, port, name, type, timeoutMs));
      ip = r.ips[0];
      if (r.rcode !== 'NOERROR' || !ip) {
        fail(name, 'resolve', r.rcode);
        continue;
      }
      resolved += 1;
    } catch (e) {
      fail(name, 'resolve', (e as Error).message);
      continue;
    }
    try {
      await connectOnce(ip, connectPort, timeoutMs);
      connected += 1;
    } catch (e) {
      fail(name, 'connect', `${ip}: ${(e as Error).message}`);
    }
  }
  return { resolved, connected, failures };
}

async function handle(r: Req): Promise<object> {
  switch (r.op) {
    case 'serve':
      await serve(Number(r.port), (r.zone ?? []) as dnsPacket.Answer[], r.dynamic as Dynamic | undefined);
      return { ok: true };
    case 'served':
      return { ...counts };
    case 'resolve': {
      const transport = String(r.transport ?? 'udp');
      const f = transport === 'tcp' ? resolveTcp : resolveUdp;
      return summarize(await f(String(r.server), Number(r.port ?? 53), String(r.name), (r.type ?? 'A') as dnsPacket.RecordType, Number(r.timeoutMs ?? 2000)));
    }
    case 'resolveConnect':
      return resolveConnect(String(r.server), Number(r.port ?? 53), r.names as string[], (r.type ?? 'A') as dnsPacket.RecordType, Number(r.connectPort), Number(r.timeoutMs ?? 2000));
    case 'hold': {
      const c = createConnection({ host: String(r.host), port: Number(r.port) });
      await new Promise<void>((res, rej) => {
        const t = setTimeout(() => {
          c.destroy();
          rej(new Error('timeout'));
        }, Number(r.timeoutMs ?? 1000));
        c.once('connect', () => {
          clearTimeout(t);
          res();
        }).once('error', (e) => {
          clearTimeout(t);
          rej(e);
        });
      });
      c.on('error', () => undefined);
      const conn = nextConn++;
      held.set(conn, c);
      return { conn };
    }
    case 'ping': {
      const c = held.get(Number(r.conn));
      if (!c) throw new Error(`no connection ${String(r.conn)}`);
      c.write('ping');
      const ok = await new Promise<boolean>((res) => {
        const t = setTimeout(() => res(false), Number(r.timeoutMs ?? 1000));
        c.once('data', () => {
          clearTimeout(t);
          res(true);
        });
      });
      return { ok };
    }
    default:
      throw new Error(`unknown op ${r.op}`);
  }
}

serveNsRequests(handle, () => {
  for (const c of closers) c();
  for (const c of held.values()) c.destroy();
});
