/**
 * A small authoritative DNS server for tests and the benchmark, built on dns-packet: UDP and TCP on the
 * same port of one address. It answers from a zone of records (every record whose owner name starts the
 * question's CNAME chain is returned, plus the address records of the chain's end: a resolver's answer
 * shape), NXDOMAIN for names without records.
 *
 * Contracts: `queries` lists every query received (transport, canonical name, type, id) in arrival order;
 * `sent` holds the exact bytes of every answer sent (TCP without the length prefix). With `silent` the
 * server reads queries and never answers. `close()` closes open connections and both sockets, resolving
 * when they are closed; later calls return the same promise.
 */
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import * as dnsPacket from 'dns-packet';
import type { Answer, Question } from 'dns-packet';
import { canonicalDnsName, decodeDnsMessage } from './dns-message.js';
import { DnsFrameReader, frameDnsMessage } from './dns-tcp-framing.js';
import type { DnsTransport } from './types.js';

export interface TestDnsServerOptions {
  host: '127.0.0.1' | '::1';
  /** records by owner name; names are matched canonically */
  zone?: Answer[];
  /** answer instead of the zone (e.g. a truncated answer or unrelated records) */
  respond?: (question: Question) => dnsPacket.Packet | undefined;
  silent?: boolean;
  /** false: keep `queries` and `sent` empty (a benchmark's millions of queries); default true */
  log?: boolean;
}

export interface TestDnsServer {
  address: string;
  port: number;
  queries: { transport: DnsTransport; name: string; type: string; id: number }[];
  sent: Buffer[];
  close(): Promise<void>;
}

function answerFromZone(zone: readonly Answer[], question: Question): dnsPacket.Packet {
  const answers: Answer[] = [];
  let current = canonicalDnsName(question.name);
  for (let hops = 0; hops <= zone.length; hops++) {
    const cname = zone.find((r) => r.type === 'CNAME' && canonicalDnsName(r.name) === current);
    if (cname === undefined || cname.type !== 'CNAME') break;
    answers.push(cname);
    current = canonicalDnsName(cname.data);
  }
  answers.push(...zone.filter((r) => r.type === question.type && canonicalDnsName(r.name) === current));
  const known = zone.some((r) => canonicalDnsName(r.name) === current);
  return { type: 'response', flags: dnsPacket.AUTHORITATIVE_ANSWER | (known ? 0 : 3), questions: [question], answers };
}

export async function startTestDnsServer(options: TestDnsServerOptions): Promise<TestDnsServer> {
  const queries: TestDnsServer['queries'] = [];
  const sent: Buffer[] = [];
  const log = options.log ?? true;
  const answer = (bytes: Buffer, transport: DnsTransport): Buffer | undefined => {
    const query = decodeDnsMessage(bytes);
    const question = query?.questions?.[0];
    if (query === undefined || question === undefined) return undefined;
    if (log) queries.push({ transport, name: canonicalDnsName(question.name), type: question.type, id: query.id ?? 0 });
    if (options.silent) return undefined;
    const packet = options.respond?.(question) ?? answerFromZone(options.zone ?? [], question);
    const flags = (packet.flags ?? 0) | ((query.flags ?? 0) & dnsPacket.RECURSION_DESIRED) | dnsPacket.RECURSION_AVAILABLE;
    const reply = dnsPacket.encode({ ...packet, id: query.id ?? 0, flags });
    if (log) sent.push(reply);
    return reply;
  };

  const connections = new Set<net.Socket>();
  const tcp = net.createServer({ allowHalfOpen: true }, (socket) => {
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
    socket.on('error', () => undefined);
    const reader = new DnsFrameReader();
    socket.on('data', (chunk: Buffer) => {
      for (const query of reader.push(chunk)) {
        const reply = answer(query, 'tcp');
        if (reply !== undefined && socket.writable) socket.write(frameDnsMessage(reply));
      }
    });
    socket.on('end', () => socket.end());
  });
  const udp = dgram.createSocket(options.host === '::1' ? 'udp6' : 'udp4');
  udp.on('message', (message, remote) => {
    const reply = answer(message, 'udp');
    if (reply !== undefined) udp.send(reply, remote.port, remote.address);
  });

  // UDP and TCP on one port: take a free TCP port, then try to bind UDP to it (retry on a clash)
  for (let attempt = 0; ; attempt++) {
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(0, options.host, () => {
        tcp.off('error', reject);
        resolve();
      });
    });
    const port = (tcp.address() as net.AddressInfo).port;
    const bound = await new Promise<boolean>((resolve) => {
      const onError = (): void => resolve(false);
      udp.once('error', onError);
      udp.bind(port, options.host, () => {
        udp.off('error', onError);
        resolve(true);
      });
    });
    if (bound) break;
    await new Promise<void>((resolve) => tcp.close(() => resolve()));
    if (attempt >= 20) throw new Error('no port free for both UDP and TCP');
  }
  const port = (tcp.address() as net.AddressInfo).port;
  let closed: Promise<void> | undefined;
  const close = async (): Promise<void> => {
    for (const socket of connections) socket.destroy();
    await Promise.all([
      new Promise<void>((resolve) => tcp.close(() => resolve())),
      new Promise<void>((resolve) => udp.close(() => resolve())),
    ]);
  };
  return {
    address: options.host,
    port,
    queries,
    sent,
    close: () => (closed ??= close()),
  };
}
