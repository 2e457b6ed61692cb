import * as dgram from 'node:dgram';
import * as net from 'node:net';
import * as dnsPacket from 'dns-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { fqdnSelectorMatcher } from '../../../core/policy/rules/fqdn.js';
import { decodeDnsMessage } from './dns-message.js';
import { defaultUpstreamSockets, DnsProxy } from './dns-proxy.js';
import { dnsQuery, queryTcp, queryUdp } from './dns-test-clients.js';
import { MAX_PENDING_PER_CONNECTION } from './tcp-session.js';
import { startTestDnsServer, type TestDnsServer, type TestDnsServerOptions } from './test-dns-server.js';
import type { DnsAnswer, DnsProxyOptions, DnsRecord } from './types.js';

type Host = '127.0.0.1' | '::1';

interface Harness {
  proxy: DnsProxy<string>;
  server: TestDnsServer;
  host: Host;
  udpPort: number;
  tcpPort: number;
  records: DnsRecord<string>[];
  learned: { endpoint: string; answer: DnsAnswer }[];
  upstreamSockets: { udp: number; tcp: number };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const ZONE: dnsPacket.Answer[] = [
  { type: 'A', name: 'api.example.com', ttl: 300, data: '10.1.0.1' },
  { type: 'A', name: 'api.example.com', ttl: 300, data: '10.1.0.2' },
  { type: 'AAAA', name: 'api.example.com', ttl: 300, data: 'fd00::1' },
  { type: 'A', name: 'other.example.com', ttl: 300, data: '10.2.0.1' },
  { type: 'CNAME', name: 'www.example.com', ttl: 120, data: 'edge.Example.NET.' },
  { type: 'CNAME', name: 'edge.example.net', ttl: 600, data: 'origin.example.net' },
  { type: 'A', name: 'origin.example.net', ttl: 60, data: '10.3.0.1' },
  { type: 'A', name: 'origin.example.net', ttl: 30, data: '10.3.0.2' },
];

const allowExampleCom = fqdnSelectorMatcher({ matchPattern: '*.example.com' });

async function bindUdp(host: Host): Promise<dgram.Socket> {
  const socket = dgram.createSocket(host === '::1' ? 'udp6' : 'udp4');
  await new Promise<void>((resolve) => socket.bind(0, host, () => resolve()));
  return socket;
}

async function listenTcp(host: Host): Promise<net.Server> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, host, () => resolve()));
  return server;
}

async function startHarness(
  options: { host?: Host; server?: Omit<TestDnsServerOptions, 'host'>; proxy?: Partial<DnsProxyOptions<string>> } = {},
): Promise<Harness> {
  const host = options.host ?? '127.0.0.1';
  const server = await startTestDnsServer({ host, zone: ZONE, ...options.server });
  cleanups.push(() => server.close());
  const udp = await bindUdp(host);
  const tcp = await listenTcp(host);
  const records: DnsRecord<string>[] = [];
  const learned: Harness['learned'] = [];
  const upstreamSockets = { udp: 0, tcp: 0 };
  const proxy = new DnsProxy<string>({
    udp: [udp],
    tcp: [tcp],
    resolveClient: (client) => ({ endpoint: `pod-${client.transport}`, original: { address: server.address, port: server.port } }),
    allowQuery: (_endpoint, qname) => (allowExampleCom(qname)
      ? { allowed: true, ruleId: 7, policy: { name: 'allow-example', generation: 3 } }
      : { allowed: false, ruleId: 9, policy: { name: 'dns-only-example', generation: 2 } }),
    learn: async (endpoint, answer) => {
      learned.push({ endpoint, answer });
    },
    onRecord: (record) => records.push(record),
    upstream: {
      udp: (family) => {
        upstreamSockets.udp++;
        return defaultUpstreamSockets.udp(family);
      },
      tcp: (destination) => {
        upstreamSockets.tcp++;
        return defaultUpstreamSockets.tcp(destination);
      },
    },
    ...options.proxy,
  });
  cleanups.push(() => proxy.close());
  return {
    proxy, server, host, records, learned, upstreamSockets,
    udpPort: (udp.address()).port,
    tcpPort: (tcp.address() as net.AddressInfo).port,
  };
}

/** The client's answer is the server's, byte for byte, except the id the proxy restored (it remaps ids upstream). */
function expectServersAnswer(answer: Buffer, sent: Buffer | undefined, clientId: number): void {
  expect(sent).toBeDefined();
  expect(answer.length).toBe(sent!.length);
  expect(answer.subarray(2).equals(sent!.subarray(2))).toBe(true);
  expect(answer.readUInt16BE(0)).toBe(clientId);
}

function addresses(packet: dnsPacket.Packet): string[] {
  return (packet.answers ?? []).flatMap((a) => (a.type === 'A' || a.type === 'AAAA' ? [a.data] : []));
}

function decoded(bytes: Buffer): dnsPacket.DecodedPacket & { rcode?: string } {
  const message = decodeDnsMessage(bytes);
  if (message === undefined) throw new Error('undecodable answer');
  return message;
}

describe('DnsProxy forwarding', () => {
  it('queries of endpoints with different upstream owners never share an upstream socket; the factory gets the owner', async () => {
    const owners: (string | undefined)[] = [];
    let n = 0;
    const h = await startHarness({
      proxy: {
        // queries alternate between two endpoints, `pod-even` (owner 2) and `pod-odd` (owner 3)
        resolveClient: () => ({ endpoint: n++ % 2 === 0 ? 'pod-even' : 'pod-odd', original: { address: '127.0.0.1', port: h.server.port } }),
        upstreamOwner: (endpoint) => (endpoint === 'pod-even' ? { identity: 2, address: '10.0.0.2' } : { identity: 3, address: '10.0.0.3' }),
        upstream: {
          udp: (family, owner) => {
            owners.push(owner && `${owner.identity}@${owner.address}`);
            return defaultUpstreamSockets.udp(family);
          },
          tcp: (destination) => defaultUpstreamSockets.tcp(destination),
        },
      },
    });
    for (let i = 0; i < 6; i++) await queryUdp('127.0.0.1', h.udpPort, dnsQuery(0x100 + i, 'api.example.com'));
    expect(h.server.queries).toHaveLength(6);
    expect([...owners].sort()).toEqual(['2@10.0.0.2', '3@10.0.0.3']); // one socket per owner, each made once
  });

  for (const host of ['127.0.0.1', '::1'] as const) {
    it(`forwards an allowed query over UDP on ${host} and returns the server's answer byte for byte`, async () => {
      const h = await startHarness({ host });
      const answer = await queryUdp(host, h.udpPort, dnsQuery(0x1234, 'api.example.com'));
      expect(h.server.queries).toEqual([expect.objectContaining({ transport: 'udp', name: 'api.example.com', type: 'A' })]);
      expect(h.server.sent).toHaveLength(1);
      expectServersAnswer(answer, h.server.sent[0], 0x1234);
      expect(h.upstreamSockets).toEqual({ udp: 1, tcp: 0 });
    });

    it(`forwards an allowed query over TCP on ${host} and returns the server's answer byte for byte`, async () => {
      const h = await startHarness({ host });
      const answers = await queryTcp(host, h.tcpPort, [dnsQuery(0x4321, 'api.example.com', 'AAAA')]);
      expect(h.server.queries).toEqual([expect.objectContaining({ transport: 'tcp', name: 'api.example.com', type: 'AAAA' })]);
      expect(answers).toHaveLength(1);
      expectServersAnswer(answers[0]!, h.server.sent[0], 0x4321);
      expect(h.learned[0]?.answer.ips).toEqual(['fd00::1']);
      expect(h.upstreamSockets).toEqual({ udp: 0, tcp: 1 });
    });
  }

  it('answers three pipelined TCP queries on one connection after the client half-closed, each with its own answer, through one upstream connection', async () => {
    const h = await startHarness();
    const answers = await queryTcp('127.0.0.1', h.tcpPort, [
      dnsQuery(1, 'api.example.com'),
      dnsQuery(2, 'www.example.com'),
      dnsQuery(3, 'other.example.com'),
    ]);
    const byId = new Map(answers.map((a) => [decoded(a).id, decoded(a)]));
    expect([...byId.keys()].sort()).toEqual([1, 2, 3]);
    expect(addresses(byId.get(1)!)).toEqual(['10.1.0.1', '10.1.0.2']);
    expect(byId.get(2)!.questions![0]!.name).toBe('www.example.com');
    expect(addresses(byId.get(3)!)).toEqual(['10.2.0.1']);
    expect(h.server.queries.map((q) => q.transport)).toEqual(['tcp', 'tcp', 'tcp']);
    expect(h.upstreamSockets.tcp).toBe(1);
  });

  it('answers every one of more pipelined TCP queries than it handles at once on a connection', async () => {
    const h = await startHarness();
    const count = MAX_PENDING_PER_CONNECTION + 44;
    const answers = await queryTcp('127.0.0.1', h.tcpPort, Array.from({ length: count }, (_, i) => dnsQuery(i, 'api.example.com')), 10_000);
    expect(answers.map((a) => decoded(a).id ?? -1).sort((x, y) => x - y)).toEqual(Array.from({ length: count }, (_, i) => i));
    expect(answers.every((a) => decoded(a).rcode === 'NOERROR')).toBe(true);
    expect(h.upstreamSockets.tcp).toBe(1);
  });

  it('asks resolveClient for every query: a client port whose record changed (the port re-used towards another resolver) is forwarded to the new destination', async () => {
    const other = await startTestDnsServer({ host: '127.0.0.1', zone: [{ type: 'A', name: 'api.example.com', ttl: 300, data: '10.9.9.9' }] });
    cleanups.push(() => other.close());
    let record = { address: '', port: 0 };
    const asked: number[] = [];
    const h = await startHarness({
      proxy: {
        resolveClient: (client) => {
          asked.push(client.port);
          return { endpoint: 'pod-udp', original: record };
        },
      },
    });
    record = { address: h.server.address, port: h.server.port };
    const client = await bindUdp('127.0.0.1');
    cleanups.push(() => new Promise<void>((resolve) => client.close(() => resolve())));
    const ask = (id: number): Promise<Buffer> => new Promise((resolve) => {
      client.once('message', (answer) => resolve(answer));
      client.send(dnsQuery(id, 'api.example.com'), h.udpPort, '127.0.0.1');
    });
    expect(addresses(decoded(await ask(1)))).toEqual(['10.1.0.1', '10.1.0.2']);
    record = { address: other.address, port: other.port }; // the kernel's record for the same address and port, rewritten
    const second = decoded(await ask(2));
    expect(addresses(second)).toEqual(['10.9.9.9']);
    expect(other.queries).toHaveLength(1);
    expect(h.server.queries).toHaveLength(1);
    expect(asked).toEqual([client.address().port, client.address().port]);
    expect(h.learned.map((l) => l.answer.ips)).toEqual([['10.1.0.1', '10.1.0.2'], ['10.9.9.9']]);
  });

  it('passes a truncated UDP answer through unchanged', async () => {
    const h = await startHarness({
      server: { respond: (question) => ({ type: 'response', flags: dnsPacket.TRUNCATED_RESPONSE, questions: [question], answers: [] }) },
    });
    const answer = await queryUdp('127.0.0.1', h.udpPort, dnsQuery(5, 'api.example.com'));
    expectServersAnswer(answer, h.server.sent[0], 5);
    expect(decoded(answer).flag_tc).toBe(true);
    expect(h.learned).toEqual([]);
  });

  it('forwards NXDOMAIN without learning', async () => {
    const h = await startHarness();
    const answer = decoded(await queryUdp('127.0.0.1', h.udpPort, dnsQuery(6, 'missing.example.com')));
    expect(answer.rcode).toBe('NXDOMAIN');
    expect(h.learned).toEqual([]);
    expect(h.records[0]).toMatchObject({ rcode: 'NXDOMAIN', verdict: 'forwarded', ips: [] });
  });
});

describe('DnsProxy policy', () => {
  it('refuses a denied name with REFUSED, the same id and question, RD and RA, and never forwards it', async () => {
    const h = await startHarness();
    const answer = decoded(await queryUdp('127.0.0.1', h.udpPort, dnsQuery(0xbeef, 'exfil.attacker.org', 'AAAA')));
    expect(answer).toMatchObject({ id: 0xbeef, type: 'response', rcode: 'REFUSED', flag_rd: true, flag_ra: true });
    expect(answer.questions).toEqual([{ name: 'exfil.attacker.org', type: 'AAAA', class: 'IN' }]);
    expect(h.server.queries).toEqual([]);
    expect(h.records[0]).toMatchObject({ verdict: 'refused', rcode: 'REFUSED', ruleId: 9, policy: { name: 'dns-only-example', generation: 2 } });
  });

  it('refuses a denied name over TCP too', async () => {
    const h = await startHarness();
    const answers = await queryTcp('127.0.0.1', h.tcpPort, [dnsQuery(8, 'exfil.attacker.org')]);
    expect(decoded(answers[0]!).rcode).toBe('REFUSED');
    expect(h.server.queries).toEqual([]);
    expect(h.upstreamSockets.tcp).toBe(0);
  });

  it('refuses a query from a client it cannot attribute to an endpoint, without forwarding', async () => {
    const h = await startHarness({ proxy: { resolveClient: () => undefined } });
    const answer = decoded(await queryUdp('127.0.0.1', h.udpPort, dnsQuery(9, 'api.example.com')));
    expect(answer.rcode).toBe('REFUSED');
    expect(h.server.queries).toEqual([]);
    expect(h.records[0]).toMatchObject({ endpoint: undefined, verdict: 'refused', rcode: 'REFUSED', qname: 'api.example.com' });
    expect(h.records[0]!.original).toBeUndefined();
  });

  it('gives allowQuery the canonical name, the type, the original destination and the transport; records audit', async () => {
    const seen: unknown[] = [];
    const h = await startHarness({
      proxy: { allowQuery: (endpoint, qname, qtype, original, transport) => (seen.push({ endpoint, qname, qtype, original, transport }), { allowed: true, audit: true, ruleId: 0 }) },
    });
    await queryUdp('127.0.0.1', h.udpPort, dnsQuery(10, 'API.Example.COM.', 'AAAA'));
    await queryTcp('127.0.0.1', h.tcpPort, [dnsQuery(11, 'api.example.com')]);
    const original = { address: '127.0.0.1', port: h.server.port };
    expect(seen).toEqual([
      { endpoint: 'pod-udp', qname: 'api.example.com', qtype: 'AAAA', original, transport: 'udp' },
      { endpoint: 'pod-tcp', qname: 'api.example.com', qtype: 'A', original, transport: 'tcp' },
    ]);
    expect(h.records.map((r) => [r.verdict, r.audit])).toEqual([['forwarded', true], ['forwarded', true]]);
  });
});

describe('DnsProxy learning', () => {
  it('gives learn the whole CNAME chain, the final addresses and the minimum TTL, ignoring unrelated records', async () => {
    const h = await startHarness({
      server: {
        respond: (question) => ({
          type: 'response',
          questions: [question],
          answers: [
            { type: 'A', name: 'unrelated.example.org', ttl: 1, data: '192.0.2.99' },
            ...ZONE.filter((r) => r.name !== 'api.example.com' && r.name !== 'other.example.com'),
          ],
        }),
      },
    });
    const answer = decoded(await queryUdp('127.0.0.1', h.udpPort, dnsQuery(11, 'WWW.example.com')));
    expect(answer.rcode).toBe('NOERROR');
    expect(h.learned).toEqual([{
      endpoint: 'pod-udp',
      answer: { qname: 'www.example.com', names: ['www.example.com', 'edge.example.net', 'origin.example.net'], ips: ['10.3.0.1', '10.3.0.2'], ttl: 30 },
    }]);
    // the record names the chain's CNAME targets (Hubble's l7.dns.cnames)
    expect(h.records[0]).toMatchObject({ verdict: 'forwarded', cnames: ['edge.example.net', 'origin.example.net'] });
  });

  it('releases the answer only after learn has resolved', async () => {
    let learnedAt: number | undefined;
    const h = await startHarness({
      proxy: {
        learn: () => new Promise<void>((resolve) => setTimeout(() => {
          learnedAt = Date.now();
          resolve();
        }, 200)),
      },
    });
    const udpAnswer = queryUdp('127.0.0.1', h.udpPort, dnsQuery(12, 'api.example.com')).then((a) => ({ a, learnedBeforeAnswer: learnedAt !== undefined }));
    const { a, learnedBeforeAnswer } = await udpAnswer;
    expect(learnedBeforeAnswer).toBe(true);
    expect(decoded(a).answers).toHaveLength(2);
    learnedAt = undefined;
    const tcpAnswer = await queryTcp('127.0.0.1', h.tcpPort, [dnsQuery(13, 'api.example.com')]).then((as) => ({ as, learnedBeforeAnswer: learnedAt !== undefined }));
    expect(tcpAnswer.learnedBeforeAnswer).toBe(true);
    expect(h.records.map((r) => r.learnMs! >= 150)).toEqual([true, true]);
  });

  it('answers SERVFAIL when learn rejects, and records it', async () => {
    const h = await startHarness({ proxy: { learn: () => Promise.reject(new Error('map full')) } });
    const answer = decoded(await queryUdp('127.0.0.1', h.udpPort, dnsQuery(14, 'api.example.com')));
    expect(answer).toMatchObject({ id: 14, rcode: 'SERVFAIL' });
    expect(answer.answers).toEqual([]);
    expect(h.records[0]).toMatchObject({ verdict: 'error', rcode: 'SERVFAIL', ips: [] });
    expect(h.proxy.stats().learnFailures).toBe(1);
  });
});

describe('DnsProxy failures', () => {
  it('answers SERVFAIL when the upstream stays silent past the timeout (UDP and TCP)', async () => {
    const h = await startHarness({ server: { silent: true }, proxy: { upstreamTimeoutMs: 100 } });
    const answer = decoded(await queryUdp('127.0.0.1', h.udpPort, dnsQuery(15, 'api.example.com')));
    expect(answer).toMatchObject({ id: 15, rcode: 'SERVFAIL' });
    const tcpAnswers = await queryTcp('127.0.0.1', h.tcpPort, [dnsQuery(16, 'api.example.com')]);
    expect(decoded(tcpAnswers[0]!)).toMatchObject({ id: 16, rcode: 'SERVFAIL' });
    expect(h.server.queries).toHaveLength(2);
    expect(h.proxy.stats().upstreamTimeouts).toBe(2);
    expect(h.learned).toEqual([]);
  });

  it('answers SERVFAIL, and counts an upstream error, when the original destination is not an IP literal (the send fails)', async () => {
    const h = await startHarness({ proxy: { resolveClient: () => ({ endpoint: 'pod-udp', original: { address: 'resolver.invalid', port: 53 } }) } });
    const answer = decoded(await queryUdp('127.0.0.1', h.udpPort, dnsQuery(21, 'api.example.com')));
    expect(answer.rcode).toBe('SERVFAIL');
    expect(h.server.queries).toHaveLength(0);
    expect(h.proxy.stats().upstreamErrors).toBe(1);
  });

  it('answers SERVFAIL when the upstream answers a different question', async () => {
    const h = await startHarness({ server: { respond: () => ({ type: 'response', questions: [{ type: 'A', name: 'evil.example.com' }], answers: [{ type: 'A', name: 'evil.example.com', data: '6.6.6.6' }] }) } });
    const answer = decoded(await queryUdp('127.0.0.1', h.udpPort, dnsQuery(17, 'api.example.com')));
    expect(answer.rcode).toBe('SERVFAIL');
    expect(h.learned).toEqual([]);
    expect(h.proxy.stats().mismatchedAnswers).toBe(1);
  });

  it('answers SERVFAIL, without forwarding, when a policy callback throws (fail closed)', async () => {
    const h = await startHarness({ proxy: { allowQuery: () => { throw new Error('selector cache gone'); } } });
    const answer = decoded(await queryUdp('127.0.0.1', h.udpPort, dnsQuery(30, 'api.example.com')));
    expect(answer).toMatchObject({ id: 30, rcode: 'SERVFAIL' });
    expect(h.server.queries).toEqual([]);
    expect(h.records[0]).toMatchObject({ endpoint: 'pod-udp', verdict: 'error', rcode: 'SERVFAIL' });
  });

  it('answers SERVFAIL beyond maxInFlight and counts it', async () => {
    let release = (): void => undefined;
    let learnCalls = 0;
    const h = await startHarness({
      proxy: { maxInFlight: 1, learn: () => (learnCalls++ > 0 ? Promise.resolve() : new Promise<void>((resolve) => { release = resolve; })) },
    });
    const first = queryUdp('127.0.0.1', h.udpPort, dnsQuery(31, 'api.example.com'));
    await expect.poll(() => learnCalls).toBe(1);
    const second = decoded(await queryUdp('127.0.0.1', h.udpPort, dnsQuery(32, 'other.example.com')));
    expect(second).toMatchObject({ id: 32, rcode: 'SERVFAIL' });
    expect(h.proxy.stats().overloaded).toBe(1);
    release();
    expect(decoded(await first).rcode).toBe('NOERROR');
    expect(h.server.queries.map((q) => q.name)).toEqual(['api.example.com']);
  });

  it('answers SERVFAIL to pending TCP queries when the upstream closes the connection', async () => {
    const h = await startHarness({ server: { silent: true }, proxy: { upstreamTimeoutMs: 5000 } });
    const upstreamClosed = new Promise<void>((resolve) => {
      void expect.poll(() => h.server.queries.length).toBe(2).then(async () => {
        await h.server.close();
        resolve();
      });
    });
    const answers = await queryTcp('127.0.0.1', h.tcpPort, [dnsQuery(33, 'api.example.com'), dnsQuery(34, 'other.example.com')]);
    await upstreamClosed;
    expect(answers.map((a) => decoded(a)).map((a) => [a.id, a.rcode]).sort()).toEqual([[33, 'SERVFAIL'], [34, 'SERVFAIL']]);
    expect(h.proxy.stats().upstreamErrors).toBe(2);
  });

  it('answers SERVFAIL at once when the upstream refuses the TCP connection', async () => {
    const h = await startHarness();
    await h.server.close(); // nothing listens on the original destination any more
    const answers = await queryTcp('127.0.0.1', h.tcpPort, [dnsQuery(36, 'api.example.com')]);
    expect(decoded(answers[0]!)).toMatchObject({ id: 36, rcode: 'SERVFAIL' });
    expect(h.proxy.stats()).toMatchObject({ upstreamErrors: 1, upstreamTimeouts: 0 });
  });

  it('passes an upstream error answer that omits the question section', async () => {
    const h = await startHarness({ server: { respond: () => ({ type: 'response', flags: 5, questions: [], answers: [] }) } });
    const answer = decoded(await queryUdp('127.0.0.1', h.udpPort, dnsQuery(35, 'api.example.com')));
    expect(answer).toMatchObject({ id: 35, rcode: 'REFUSED' });
    expect(h.records[0]).toMatchObject({ verdict: 'forwarded', rcode: 'REFUSED' });
  });

  it('drops a malformed datagram without crashing and answers the next query', async () => {
    const h = await startHarness();
    const garbage = Buffer.from([0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0xff]);
    await expect(queryUdp('127.0.0.1', h.udpPort, garbage, 300)).rejects.toThrow(/no UDP answer/);
    const answer = decoded(await queryUdp('127.0.0.1', h.udpPort, dnsQuery(18, 'api.example.com')));
    expect(answer.rcode).toBe('NOERROR');
    expect(h.proxy.stats()).toMatchObject({ malformed: 1, forwarded: 1 });
    expect(h.records).toHaveLength(1);
  });

  it('drops a malformed TCP message and still answers the next one on the connection', async () => {
    const h = await startHarness();
    const answers = await queryTcp('127.0.0.1', h.tcpPort, [Buffer.from([1, 2, 3]), dnsQuery(19, 'api.example.com')]);
    expect(answers.map((a) => decoded(a).id)).toEqual([19]);
    expect(h.proxy.stats().malformed).toBe(1);
  });

  it('answers FORMERR to a query without a question', async () => {
    const h = await startHarness();
    const answer = decoded(await queryUdp('127.0.0.1', h.udpPort, dnsPacket.encode({ type: 'query', id: 20, questions: [] })));
    expect(answer).toMatchObject({ id: 20, rcode: 'FORMERR' });
    expect(h.server.queries).toEqual([]);
  });

  it('survives a client that closes its TCP connection before its answer', async () => {
    let releaseLearn = (): void => undefined;
    let learnCalls = 0;
    const h = await startHarness({
      proxy: { learn: () => (learnCalls++ > 0 ? Promise.resolve() : new Promise<void>((resolve) => { releaseLearn = resolve; })) },
    });
    const socket = net.connect({ host: '127.0.0.1', port: h.tcpPort });
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(dnsPacket.streamEncode({ type: 'query', id: 21, questions: [{ type: 'A', name: 'api.example.com' }] }));
    await expect.poll(() => h.server.queries.length).toBe(1);
    await expect.poll(() => (h.proxy.stats().inFlight)).toBe(1);
    socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50));
    releaseLearn();
    await expect.poll(() => h.proxy.stats().inFlight).toBe(0);
    expect(h.proxy.stats().forwarded).toBe(1);
    const answer = decoded(await queryUdp('127.0.0.1', h.udpPort, dnsQuery(22, 'other.example.com')));
    expect(answer.id).toBe(22);
  });
});

describe('DnsProxy records and lifecycle', () => {
  it('emits one record per query with Hubble-named fields', async () => {
    const h = await startHarness();
    const before = Date.now();
    await queryUdp('127.0.0.1', h.udpPort, dnsQuery(23, 'www.example.com'));
    await queryTcp('127.0.0.1', h.tcpPort, [dnsQuery(24, 'blocked.test', 'AAAA')]);
    expect(h.records).toHaveLength(2);
    const [forwarded, refused] = h.records;
    expect(forwarded).toMatchObject({
      endpoint: 'pod-udp', original: { address: '127.0.0.1', port: h.server.port }, transport: 'udp', qname: 'www.example.com', qtypes: ['A'], rcode: 'NOERROR',
      ips: ['10.3.0.1', '10.3.0.2'], ttl: 30, verdict: 'forwarded', ruleId: 7, policy: { name: 'allow-example', generation: 3 },
    });
    expect(forwarded!.time).toBeGreaterThanOrEqual(before);
    expect(forwarded!.latencyMs).toBeGreaterThanOrEqual(forwarded!.learnMs!);
    expect(forwarded!.learnMs).toBeGreaterThanOrEqual(0);
    expect(refused).toMatchObject({
      endpoint: 'pod-tcp', transport: 'tcp', qname: 'blocked.test', qtypes: ['AAAA'], rcode: 'REFUSED', ips: [], ttl: 0, verdict: 'refused', ruleId: 9,
    });
    expect(refused!.learnMs).toBeUndefined();
  });

  it('close() stops serving and releases its listening ports and upstream sockets', async () => {
    const h = await startHarness();
    await queryUdp('127.0.0.1', h.udpPort, dnsQuery(25, 'api.example.com'));
    await queryTcp('127.0.0.1', h.tcpPort, [dnsQuery(26, 'api.example.com')]);
    await h.proxy.close();
    await h.proxy.close();
    const udp = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(h.udpPort, '127.0.0.1', () => resolve());
    });
    const tcp = net.createServer();
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(h.tcpPort, '127.0.0.1', () => resolve());
    });
    await new Promise<void>((resolve) => udp.close(() => resolve()));
    await new Promise<void>((resolve) => tcp.close(() => resolve()));
  });

  it('close() drops a query that is in flight without answering it', async () => {
    const h = await startHarness({ server: { silent: true } });
    const pending = queryUdp('127.0.0.1', h.udpPort, dnsQuery(27, 'api.example.com'), 500);
    await expect.poll(() => h.server.queries.length).toBe(1);
    await h.proxy.close();
    await expect(pending).rejects.toThrow(/no UDP answer/);
  });
});
