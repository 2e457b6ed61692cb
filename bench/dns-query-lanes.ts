/**
 * The DNS benches' load: `lanes` UDP sockets, each with one query in flight (closed loop), asking
 * host-<i>.bench.test (i = id mod `names`) for A and AAAA in turn, until `durationMs` has passed or
 * `maxQueries` were issued. An answer counts when its id is the query's; none within `timeoutMs` is
 * lost. Used in-process by bench/dns.ts and, inside a pod's namespace, by bench/dns-load-client.ts.
 */
import * as dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import * as dnsPacket from 'dns-packet';

export interface DnsLanesOptions {
  server: string;
  port: number;
  lanes: number;
  names: number;
  durationMs?: number;
  maxQueries?: number;
  /** local address the lanes bind to (default: any) */
  bindAddress?: string;
  timeoutMs?: number;
}

export interface DnsLanesResult {
  /** sorted */
  latenciesMs: number[];
  lost: number;
  seconds: number;
  /** CPU time (user + system) this process spent over the lanes, ms */
  cpuMs: number;
}

/** The name the benches' servers answer for index i. */
export function benchName(i: number): string {
  return `host-${i}.bench.test`;
}

export async function runDnsLanes(o: DnsLanesOptions): Promise<DnsLanesResult> {
  const latenciesMs: number[] = [];
  const timeoutMs = o.timeoutMs ?? 1000;
  let lost = 0;
  let issued = 0;
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  const deadline = o.durationMs === undefined ? Number.POSITIVE_INFINITY : started + o.durationMs;
  const more = (): boolean => performance.now() < deadline && (o.maxQueries === undefined || issued < o.maxQueries);
  const lane = async (index: number): Promise<void> => {
    const socket = dgram.createSocket(o.server.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((resolve) => socket.bind(0, o.bindAddress, () => resolve()));
    let id = index;
    try {
      while (more()) {
        issued++;
        id = (id + 1) & 0xffff;
        const query = dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: id % 2 === 0 ? 'A' : 'AAAA', name: benchName(id % o.names) }] });
        const sent = performance.now();
        const answered = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => {
            socket.off('message', onMessage);
            resolve(false);
          }, timeoutMs);
          const onMessage = (answer: Buffer): void => {
            if (answer.readUInt16BE(0) !== id) return; // a late answer to an earlier, timed-out query
            clearTimeout(timer);
            socket.off('message', onMessage);
            resolve(true);
          };
          socket.on('message', onMessage);
          socket.send(query, o.port, o.server);
        });
        if (answered) latenciesMs.push(performance.now() - sent);
        else lost++;
      }
    } finally {
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    }
  };
  await Promise.all(Array.from({ length: o.lanes }, (_, i) => lane(i)));
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStarted);
  return { latenciesMs: latenciesMs.sort((a, b) => a - b), lost, seconds, cpuMs: (cpu.user + cpu.system) / 1000 };
}
